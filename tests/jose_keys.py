"""Signing keys for tests: a client's or an identity provider's, its public JWKS, JWTs signed with PyJWT (the MCP
SDK's JOSE library; the AS verifies with jwcrypto), and a loopback HTTP server that publishes JWKS documents."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ID_JAG_TYP = "oauth-id-jag+jwt"


class Signer:
    """A private key and what others see of it: its JWK (with `kid`) and PEM, as a client or an IdP holds it."""

    def __init__(self, alg: str = "RS256", kid: str | None = None):
        self.alg, self.kid = alg, kid or uuid.uuid4().hex[:8]
        if alg in {"RS256", "PS256"}:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg == "ES256":
            self.key = ec.generate_private_key(ec.SECP256R1())
        else:
            self.key = ed25519.Ed25519PrivateKey.generate()

    @property
    def pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def jwk(self) -> dict:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        return {**json.loads(algorithm.to_jwk(self.key.public_key())), "kid": self.kid, "use": "sig"}

    def jwks(self, *others: "Signer") -> dict:
        return {"keys": [self.jwk, *(other.jwk for other in others)]}

    def sign(self, claims: dict, *, typ: str | None = None, kid: str | None = "default", **header) -> str:
        headers = {**({"typ": typ} if typ else {}), **({"kid": self.kid if kid == "default" else kid} if kid else {})}
        return jwt.encode(claims, self.pem, algorithm=self.alg, headers={**headers, **header})


def id_jag_claims(*, issuer: str, audience: str, client_id: str, subject: str, lifetime: int = 300, **extra) -> dict:
    now = int(time.time())
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "client_id": client_id,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + lifetime,
        **extra,
    }


def client_assertion_claims(*, client_id: str, audience: str, lifetime: int = 120, **extra) -> dict:
    now = int(time.time())
    return {"iss": client_id, "sub": client_id, "aud": audience, "jti": uuid.uuid4().hex, "iat": now,
            "exp": now + lifetime, **extra}  # fmt: skip


class JWKSServer:
    """Serves `documents` ({path: JSON object}) on a free loopback port, in a thread; counts the fetches."""

    def __init__(self):
        self.documents: dict[str, dict] = {}
        self.fetches: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                document = server.documents.get(self.path)
                server.fetches[self.path] = server.fetches.get(self.path, 0) + 1
                body = json.dumps(document).encode()
                self.send_response(200 if document is not None else 404)
                self.send_header("Content-Type", "application/jwk-set+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def publish(self, path: str, document: dict) -> str:
        self.documents[path] = document
        return self.origin + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
