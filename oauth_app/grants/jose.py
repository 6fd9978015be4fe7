"""The checks every JWT this AS accepts from outside passes, on jwcrypto (django-oauth-toolkit's JOSE library).

Both kinds (private_key_jwt client assertions, RFC 7523 §2.2, and ID-JAGs, RFC 7523 §2.1) are signed JWTs in
compact serialization (RFC 7519 §7.2): never the JSON serialization, whose unprotected headers nobody signed, and
never JWE. The header's `alg` must be on the allow-list before anything else is looked at (RFC 8725 §2.1, §3.1),
no `crit` extension is understood (RFC 7515 §4.1.11 says reject), and the signature must verify with a key of the
issuer's own JWKS that fits the algorithm: keys named in the token (`jwk`, `jku`, `x5u`) are never used.
"""

import json
import math
import re
import time
from dataclasses import dataclass

from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from . import SIGNING_ALGORITHMS
from .jwks import KEY_TYPES, JWKSUnavailable, keys_for

MAX_LENGTH = 8192
COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class Rejected(Exception):
    """The JWT is not accepted; the message says why, in words fit for the client and the audit log."""


@dataclass
class Token:
    header: dict
    claims: dict  # unverified until verify() returns
    _jws: jws.JWS


def parse(raw) -> Token:
    """Header and claims of a compact JWS whose `alg` is allowed. Nothing is trusted yet."""
    if not isinstance(raw, str) or not raw:
        raise Rejected("no JWT was sent")
    if len(raw) > MAX_LENGTH:
        raise Rejected(f"the JWT is longer than {MAX_LENGTH} characters")
    if raw.count(".") == 4:
        raise Rejected("encrypted (JWE) assertions are not accepted")
    if not COMPACT.fullmatch(raw):
        raise Rejected("not a JWT in compact serialization")
    token = jws.JWS()
    try:
        token.deserialize(raw)
        header = json.loads(token.objects.get("protected") or "null")
        claims = json.loads(token.objects["payload"])
    except (JWException, ValueError, UnicodeDecodeError, KeyError) as exc:
        raise Rejected(f"the JWT cannot be decoded ({type(exc).__name__})") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise Rejected("the JWT's header and claims must be JSON objects")
    alg = header.get("alg")
    if alg not in SIGNING_ALGORITHMS:
        raise Rejected(f"the signing algorithm {alg!r} is not accepted (only {', '.join(SIGNING_ALGORITHMS)})")
    if "crit" in header or "b64" in header:
        raise Rejected("JWS header extensions (crit, b64) are not accepted")
    return Token(header=header, claims=claims, _jws=token)


def unverified_claims(raw) -> dict:
    """The claims of a compact JWS, whatever its algorithm, verifying nothing: for labelling audit events only."""
    if not isinstance(raw, str) or len(raw) > MAX_LENGTH or not COMPACT.fullmatch(raw):
        return {}
    token = jws.JWS()
    try:
        token.deserialize(raw)
        claims = json.loads(token.objects["payload"])
    except (JWException, ValueError, UnicodeDecodeError, KeyError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _fits(key: jwk.JWK, alg: str, kid) -> bool:
    kty, curves = KEY_TYPES[alg]
    if key.get("kty") != kty or (curves and key.get("crv") not in curves):
        return False
    if key.get("alg") not in (None, alg):
        return False
    return kid is None or key.get("kid") == kid


def _verifies(token: Token, keys: list[jwk.JWK]) -> bool:
    alg, kid = token.header["alg"], token.header.get("kid")
    token._jws.allowed_algs = [alg]
    for key in keys:
        if not _fits(key, alg, kid):
            continue
        try:
            token._jws.verify(key, alg=alg)
            return True
        except (JWException, ValueError, TypeError):
            continue
    return False


def verify(token: Token, source, *, what: str) -> None:
    """Verify the signature with a key of `source`'s JWKS (a MachineClient or TrustedIdentityProvider).

    When no cached key verifies, the JWKS is fetched again (rate-limited in jwks.py), since the signer may have
    rotated its keys. Raises Rejected.
    """
    try:
        if _verifies(token, keys_for(source)) or _verifies(token, keys_for(source, refresh=True)):
            return
    except JWKSUnavailable as exc:
        raise Rejected(f"{what}'s keys are unavailable: {exc}") from exc
    kid = token.header.get("kid")
    named = f"key {kid!r}" if kid is not None else "key"
    raise Rejected(f"no {named} of {what}'s JWKS verifies the signature")


def single_audience(aud, accepted: set[str]) -> bool:
    """`aud` names exactly one audience, and it is one of `accepted`, with or without a trailing slash.

    One audience only: draft-ietf-oauth-rfc7523bis §4 closes the attack in which a JWT made for several
    audiences is replayed by one of them at another.
    """
    values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if len(values) != 1 or not isinstance(values[0], str):
        return False
    return values[0].rstrip("/") in {value.rstrip("/") for value in accepted}


def _number(claims: dict, name: str):
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None  # Python's JSON reads NaN and Infinity, which compare as neither past nor future
    return value


def check_times(claims: dict, *, leeway: int, max_lifetime: int, require_iat: bool) -> float:
    """RFC 7519 §4.1.4-6 with `leeway` seconds of clock skew; returns `exp`.

    `exp` is required, and at most `max_lifetime` ahead: a replay store has to remember every `jti` until its
    `exp`, so an assertion that claims to live for ever is refused rather than remembered for ever.
    """
    now = time.time()
    exp = _number(claims, "exp")
    if exp is None:
        raise Rejected("exp is missing")
    if exp <= now - leeway:
        raise Rejected("the JWT has expired")
    if exp > now + max_lifetime + leeway:
        raise Rejected(f"exp is more than {max_lifetime} seconds ahead")
    nbf = _number(claims, "nbf")
    if "nbf" in claims and (nbf is None or nbf > now + leeway):
        raise Rejected("the JWT is not valid yet (nbf)")
    iat = _number(claims, "iat")
    if iat is None and (require_iat or "iat" in claims):
        raise Rejected("iat is missing")
    if iat is not None and iat > now + leeway:
        raise Rejected("iat is in the future")
    return exp


def string_claim(claims: dict, name: str, *, max_length: int = 255) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise Rejected(f"{name} is missing (or not a string of at most {max_length} characters)")
    return value
