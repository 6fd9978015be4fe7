"""A fast hasher for client secrets, which are machine-generated and high-entropy.

A slow KDF (PBKDF2 with 1,000,000 iterations, Django's default) protects guessable human passwords. A client
secret is 128 random characters from DOT's generator: no dictionary exists for it, so a salted SHA-256 is as
strong at rest, and the introspection and token endpoints stop spending ~0.3 s of CPU per authenticated call.
Listed last in PASSWORD_HASHERS and named only by OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"], so user passwords
never use it.
"""

import hashlib

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare


class ClientSecretHasher(BasePasswordHasher):
    algorithm = "client_secret_sha256"

    def encode(self, password, salt):
        self._check_encode_args(password, salt)
        digest = hashlib.sha256(f"{salt}${password}".encode()).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded):
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password, encoded):
        salt = self.decode(encoded)["salt"]
        return constant_time_compare(encoded, self.encode(password, salt))

    def safe_summary(self, encoded):
        decoded = self.decode(encoded)
        return {
            "algorithm": decoded["algorithm"],
            "salt": mask_hash(decoded["salt"]),
            "hash": mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded):
        return False

    def harden_runtime(self, password, encoded):
        pass  # nothing to even out: every verification costs one SHA-256
