"""Token checks for the RS: RFC 7662 introspection against the Django AS, audience and expiry, cached briefly."""

import base64
import hashlib
import hmac
import logging
import time
from urllib.parse import quote_plus, urlsplit

import httpx
from mcp.server.auth.provider import AccessToken

from .cache import RedisCache, SharedCache, TTLCache
from .observability import request_id_header
from .settings import RSSettings

log = logging.getLogger(__name__)


class IntrospectionUnavailable(Exception):
    """The AS could not give an answer (down, slow, erroring). The request must fail, never pass."""


def resource_key(uri: str) -> tuple[str, str, str]:
    """A resource URI as compared by RFC 8707 audience checks: case-insensitive scheme and host, default port
    and a trailing slash ignored (the MCP spec's canonical server URI)."""
    parts = urlsplit(uri)
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = parts.port if parts.port not in (None, default_port) else None
    host = f"{(parts.hostname or '').lower()}:{port}" if port else (parts.hostname or "").lower()
    return parts.scheme.lower(), host, parts.path.rstrip("/")


def client_basic_authorization(client_id: str, client_secret: str) -> str:
    """client_secret_basic: RFC 6749 §2.3.1 form-urlencodes both parts before Basic (RFC 7617) encoding."""
    credentials = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(credentials).decode("ascii")


def shared_cache_for(settings: RSSettings) -> SharedCache | None:
    """The Redis cache when REDIS_URL is set and caching is on; else None (in-process cache only)."""
    if not settings.redis_url or settings.cache_seconds <= 0:
        return None
    # One namespace per (AS, resource): an answer accepted for one MCP server never serves another.
    scope = hashlib.sha256(f"{settings.issuer} {settings.server_url}".encode()).hexdigest()[:16]
    signing_key = hmac.new(settings.client_secret.encode(), b"mcp_rs shared introspection cache", "sha256").digest()
    namespace = f"{settings.cache_key_prefix}:mcp-rs:introspection:{scope}"
    return RedisCache.from_url(settings.redis_url, namespace=namespace, signing_key=signing_key)


class IntrospectionTokenVerifier:
    """The SDK's TokenVerifier protocol, backed by the AS's introspection endpoint.

    One pooled AsyncClient serves every call (building one per call costs ~56 ms), with the URL and the
    Authorization header computed once. Only positive answers are cached, keyed by the token's SHA-256, for
    `cache_seconds` and never beyond the token's `exp`: a revoked token stops working within that window. The
    in-process `cache` is asked first; then the `shared` one (Redis), whose entries keep the deadline they were
    given at introspection, so going through it never lengthens that window.
    """

    def __init__(
        self,
        settings: RSSettings,
        *,
        http: httpx.AsyncClient,
        cache: TTLCache | None = None,
        shared: SharedCache | None = None,
        clock=time.time,
    ):
        self.settings = settings
        self.http = http
        self.cache = cache if cache is not None else TTLCache()
        self.shared = shared if settings.cache_seconds > 0 else None
        self.clock = clock
        self._resource = resource_key(settings.server_url)
        self._introspection_url = settings.introspection_url
        self._authorization = client_basic_authorization(settings.client_id, settings.client_secret)

    async def verify_token(self, token: str) -> AccessToken | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self.cache.get(key)
        if cached is not None:
            return cached if cached.expires_at > self.clock() else None
        if self.shared is not None:
            entry = await self.shared.get(key)
            access = self._from_shared(token, *entry) if entry is not None else None
            if access is not None:
                ttl = min(entry[1], self.settings.cache_seconds, access.expires_at - self.clock())
                self.cache.set(key, access, ttl)
                return access
        claims = await self._introspect(token)
        access = self._accept(token, claims)
        if access is not None and self.settings.cache_seconds > 0:
            ttl = min(self.settings.cache_seconds, access.expires_at - self.clock())
            self.cache.set(key, access, ttl)
            if self.shared is not None:
                await self.shared.set(key, _shareable(access), ttl)
        return access

    async def _introspect(self, token: str) -> dict:
        try:
            response = await self.http.post(
                self._introspection_url,
                data={"token": token, "token_type_hint": "access_token"},
                headers={"authorization": self._authorization, **request_id_header()},
                timeout=self.settings.introspection_timeout,
            )
        except httpx.HTTPError as exc:
            log.warning("introspection failed: %s", type(exc).__name__)
            raise IntrospectionUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            # 401 here means the RS's own credentials are wrong: nothing can be verified, so nothing passes.
            log.error("introspection answered HTTP %s", response.status_code)
            raise IntrospectionUnavailable(f"HTTP {response.status_code}")
        try:
            claims = response.json()
        except ValueError as exc:
            raise IntrospectionUnavailable("introspection answer is not JSON") from exc
        if not isinstance(claims, dict):
            raise IntrospectionUnavailable("introspection answer is not a JSON object")
        return claims

    def _accept(self, token: str, claims: dict) -> AccessToken | None:
        """Fail closed: active, issued by our AS, for this resource, with a future `exp`, or nothing."""
        if claims.get("active") is not True:
            return None
        if claims.get("iss") != self.settings.issuer:
            return None
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
        if not any(isinstance(aud, str) and resource_key(aud) == self._resource for aud in audiences):
            return None  # RFC 8707: a token for another server (or for none) is not ours to accept
        expires_at = claims.get("exp")
        if not isinstance(expires_at, int) or expires_at <= self.clock():
            return None
        scope = claims.get("scope")
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id") or ""),
            scopes=scope.split() if isinstance(scope, str) else [],
            expires_at=expires_at,
            resource=self.settings.server_url,
            subject=str(claims["sub"]) if claims.get("sub") is not None else None,
            claims={key: claims[key] for key in ("iss", "sub", "username", "aud", "iat") if key in claims},
        )

    def _from_shared(self, token: str, value: dict, seconds_left: float) -> AccessToken | None:
        """An entry another worker accepted; anything malformed or expired is a miss (the caller introspects)."""
        expires_at, scopes = value.get("expires_at"), value.get("scopes")
        if not isinstance(expires_at, int) or expires_at <= self.clock() or seconds_left <= 0:
            return None
        if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
            return None
        client_id, subject, claims = value.get("client_id"), value.get("subject"), value.get("claims")
        if not isinstance(client_id, str) or not isinstance(subject, str | None) or not isinstance(claims, dict):
            return None
        return AccessToken(
            token=token,
            client_id=client_id,
            scopes=scopes,
            expires_at=expires_at,
            resource=self.settings.server_url,
            subject=subject,
            claims=claims,
        )


def _shareable(access: AccessToken) -> dict:
    """What a shared cache keeps of an accepted token: everything but the token itself."""
    return {
        "client_id": access.client_id,
        "scopes": access.scopes,
        "expires_at": access.expires_at,
        "subject": access.subject,
        "claims": access.claims or {},
    }
