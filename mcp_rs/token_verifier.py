"""Token checks for the RS: RFC 7662 introspection against the Django AS, audience and expiry, cached briefly."""

import hashlib
import logging
import time
from urllib.parse import urlsplit

import httpx
from mcp.server.auth.provider import AccessToken

from .cache import TTLCache
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


class IntrospectionTokenVerifier:
    """The SDK's TokenVerifier protocol, backed by the AS's introspection endpoint.

    One pooled AsyncClient serves every call (building one per call costs ~56 ms). Only positive answers are
    cached, keyed by the token's SHA-256, for `cache_seconds` and never beyond the token's `exp`: a revoked
    token stops working within that window.
    """

    def __init__(
        self, settings: RSSettings, *, http: httpx.AsyncClient, cache: TTLCache | None = None, clock=time.time
    ):
        self.settings = settings
        self.http = http
        self.cache = cache if cache is not None else TTLCache()
        self.clock = clock
        self._resource = resource_key(settings.server_url)

    async def verify_token(self, token: str) -> AccessToken | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self.cache.get(key)
        if cached is not None:
            return cached if cached.expires_at > self.clock() else None
        claims = await self._introspect(token)
        access = self._accept(token, claims)
        if access is not None and self.settings.cache_seconds > 0:
            self.cache.set(key, access, min(self.settings.cache_seconds, access.expires_at - self.clock()))
        return access

    async def _introspect(self, token: str) -> dict:
        try:
            response = await self.http.post(
                self.settings.introspection_url,
                data={"token": token, "token_type_hint": "access_token"},
                auth=(self.settings.client_id, self.settings.client_secret),
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
