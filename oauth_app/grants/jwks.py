"""JWKS documents (RFC 7517 §5): the public keys of a private_key_jwt client or of a trusted identity provider.

A JWKS URI is fetched by django-oauth-toolkit's SSRF-guarded fetcher, the one it uses for Client ID Metadata
Documents: https only, the host resolved once and every address required to be public, the connection pinned to
that address, no redirects, bounded time and size. The one exception is `http` on a loopback host, accepted
while this AS's own issuer is loopback (development and tests), as oauthlib's insecure-transport switch is
(project/settings.py); nothing else is ever fetched over plain http or from a private address.

Documents are cached in Django's cache (Redis when REDIS_URL is set, so every worker shares them) for the
document's Cache-Control max-age, at most OAUTH_JWKS_CACHE_SECONDS. A signature no cached key verifies makes one
early re-fetch, at most once a minute per URI, so a rotated key is picked up without letting anyone force a fetch
per request. A URI that failed is not fetched again for a few seconds (a failure backoff, as DOT does for CIMD).
"""

import hashlib
import ipaddress
import json
import logging
import socket
import time
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.cache import cache
from jwcrypto import jwk
from jwcrypto.common import JWException
from oauth2_provider.cimd import CIMDError, SafeMetadataFetcher
from oauth2_provider.settings import oauth2_settings

from ..checks import LOOPBACK

log = logging.getLogger(__name__)

CACHE_PREFIX = "oauth_app:jwks:"
REFETCH_AFTER_SECONDS = 60  # the earliest a cached JWKS is fetched again because no key of it verified
FAILURE_BACKOFF_SECONDS = 10
MIN_RSA_BITS = 2048  # RFC 7518 §3.3
MAX_KEYS = 20

# kty (and curve) each allowed algorithm needs (RFC 7518 §3, RFC 8037 §3.1).
KEY_TYPES = {"RS256": ("RSA", None), "PS256": ("RSA", None), "ES256": ("EC", {"P-256"}), "EdDSA": ("OKP", {"Ed25519"})}


class JWKSProblem(ValueError):
    """A JWKS or JWKS URI this AS will not use; the message says why, for an operator."""


class JWKSUnavailable(Exception):
    """The keys could not be obtained now (fetch failed, or the document is unusable)."""


def issuer_is_loopback() -> bool:
    return urlsplit(settings.OAUTH_ISSUER).hostname in LOOPBACK


def jwks_uri_problem(uri: str) -> None:
    """Raise JWKSProblem unless `uri` may be fetched: https, or http on loopback while the issuer is loopback."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - an out-of-range port raises ValueError on access
    except ValueError as exc:
        raise JWKSProblem(f"{uri!r} is not a URL") from exc
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise JWKSProblem("a JWKS URI needs a host, and no user info or fragment")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        if issuer_is_loopback():
            return
        raise JWKSProblem("an http JWKS URI is accepted only while OAUTH_ISSUER is loopback (development); use https")
    raise JWKSProblem("a JWKS URI must be https (http only on a loopback host, in development)")


def issuer_problem(issuer: str) -> None:
    """Raise JWKSProblem unless `issuer` may name a trusted identity provider: an https URL without query or
    fragment (http on loopback while this AS's issuer is loopback, for development)."""
    try:
        jwks_uri_problem(issuer)
    except JWKSProblem as exc:
        raise JWKSProblem(
            "an identity provider's issuer is an https URL (http only on loopback, in development)"
        ) from exc
    if urlsplit(issuer).query:
        raise JWKSProblem("an identity provider's issuer has no query")


def _usable(key: jwk.JWK) -> bool:
    if key.get("use", "sig") != "sig" or key.get("alg", None) not in (None, *KEY_TYPES):
        return False
    if key.get("kty") == "RSA":
        return key.get_op_key("verify").key_size >= MIN_RSA_BITS
    return any(key.get("kty") == kty and key.get("crv") in curves for kty, curves in KEY_TYPES.values() if curves)


def public_signing_keys(document) -> list[jwk.JWK]:
    """The keys of `document` this AS verifies signatures with: asymmetric, for signing, RSA of 2048 bits or more.

    Raises JWKSProblem for something that is not a JWKS, holds private or symmetric key material (a JWKS is
    public; an `oct` key would turn verification into HMAC with a published secret), or has no usable key.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JWKSProblem('a JWKS is a JSON object with a "keys" array (RFC 7517 §5)')
    if len(document["keys"]) > MAX_KEYS:
        raise JWKSProblem(f"a JWKS of more than {MAX_KEYS} keys is refused")
    keys = []
    for entry in document["keys"]:
        if not isinstance(entry, dict):
            raise JWKSProblem("every JWKS entry must be a JSON object")
        if entry.get("kty") == "oct":
            raise JWKSProblem("symmetric (oct) keys are never accepted: only RS256, PS256, ES256 and EdDSA signatures")
        try:
            key = jwk.JWK(**entry)
        except (JWException, ValueError, TypeError) as exc:
            raise JWKSProblem(f"a key of the JWKS is not valid: {type(exc).__name__}") from exc
        if key.has_private:
            raise JWKSProblem("the JWKS holds private key material: publish the public keys only")
        if _usable(key):
            keys.append(key)
    if not keys:
        raise JWKSProblem(
            "the JWKS has no usable signing key (RSA of at least 2048 bits, EC P-256 or Ed25519, `use` sig)"
        )
    return keys


def jwks_problem(document) -> None:
    public_signing_keys(document)


def load_jwks_file(path: str) -> dict:
    """The JWKS in the file at `path` (`--jwks-file`), checked; raises JWKSProblem with the reason."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as exc:
        raise JWKSProblem(f"cannot read a JWKS from {path}: {exc}") from exc
    public_signing_keys(document)
    return document


class JWKSFetcher(SafeMetadataFetcher):
    """DOT's SSRF-guarded CIMD fetcher for JWKS URIs, plus `http` to loopback while the issuer is loopback."""

    def fetch(self, client_id):  # DOT's name for the URL it fetches
        jwks_uri_problem(client_id)
        if urlsplit(client_id).scheme == "http":
            return self._fetch_loopback(client_id)
        return super().fetch(client_id)

    def _fetch_loopback(self, uri: str):
        parts = urlsplit(uri)
        port = parts.port or 80
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)}
        except socket.gaierror as exc:
            raise CIMDError(f"could not resolve {parts.hostname}") from exc
        if not addresses or not all(ipaddress.ip_address(address).is_loopback for address in addresses):
            raise CIMDError("an http JWKS URI must resolve to loopback addresses only")
        timeout = oauth2_settings.CIMD_FETCH_TIMEOUT_SECONDS
        pool = urllib3.HTTPConnectionPool(
            host=sorted(addresses)[0], port=port, timeout=urllib3.Timeout(total=timeout), retries=False, maxsize=1
        )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": parts.netloc, "Accept": "application/json, application/*+json"}
        try:
            response = pool.urlopen("GET", path, headers=headers, redirect=False, preload_content=False)
            try:
                return self._read_document(response)
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            raise CIMDError(f"could not fetch {uri}: {type(exc).__name__}") from exc
        finally:
            pool.close()


def _cache_key(uri: str) -> str:
    return CACHE_PREFIX + hashlib.sha256(uri.encode()).hexdigest()


def keys_for(source, *, refresh: bool = False) -> list[jwk.JWK]:
    """The public signing keys of a MachineClient or TrustedIdentityProvider (`jwks`, else `jwks_uri`).

    `refresh`: the cached keys did not verify a signature; fetch again if the cached copy is old enough.
    Raises JWKSUnavailable.
    """
    if source.jwks:
        try:
            return public_signing_keys(source.jwks)
        except JWKSProblem as exc:
            raise JWKSUnavailable(str(exc)) from exc
    if not source.jwks_uri:
        raise JWKSUnavailable("no JWKS is configured")
    key = _cache_key(source.jwks_uri)
    entry = cache.get(key)
    if entry is not None and not (refresh and time.time() - entry["fetched"] >= REFETCH_AFTER_SECONDS):
        return public_signing_keys(entry["jwks"])
    if entry is None and cache.get(key + ":failed"):
        raise JWKSUnavailable("the JWKS could not be fetched a moment ago; not retried yet")
    try:
        document, max_age = JWKSFetcher().fetch(source.jwks_uri)
        keys = public_signing_keys(document)
    except (CIMDError, JWKSProblem) as exc:
        log.warning("JWKS fetch failed", extra={"fields": {"jwks_uri": source.jwks_uri, "reason": str(exc)}})
        if entry is not None:  # a failed early re-fetch keeps the keys we have
            return public_signing_keys(entry["jwks"])
        cache.set(key + ":failed", True, FAILURE_BACKOFF_SECONDS)
        raise JWKSUnavailable("the JWKS could not be fetched") from exc
    cache.set(key, {"jwks": document, "fetched": time.time()}, min(max_age, settings.MCP_AUTH["JWKS_CACHE_SECONDS"]))
    return keys


def forget(uri: str) -> None:
    """Drop a cached JWKS (staff changed where the keys are)."""
    cache.delete_many([_cache_key(uri), _cache_key(uri) + ":failed"])
