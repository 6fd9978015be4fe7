"""The bearer-token guard in front of the MCP endpoint (RFC 6750 §3, RFC 9728 §5.1, MCP authorization)."""

import json
import logging
from urllib.parse import parse_qsl

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.authentication import AuthCredentials
from starlette.types import ASGIApp, Receive, Scope, Send

from .settings import RSSettings
from .token_verifier import IntrospectionTokenVerifier, IntrospectionUnavailable

log = logging.getLogger(__name__)


class BearerGuard:
    """Lets a request reach the MCP endpoint only with a valid, audience-bound token carrying the scopes.

    Unlike the SDK's RequireAuthMiddleware it follows RFC 6750 §3.1 to the letter: a request that sent no token
    gets a challenge without `error` (and with `scope`, which MCP clients use to choose what to request); a bad
    token gets `invalid_token`; too few scopes get 403 `insufficient_scope`. When the AS cannot answer, the
    request fails with 503 instead of waiting or passing.
    """

    def __init__(self, app: ASGIApp, *, settings: RSSettings, verifier: IntrospectionTokenVerifier):
        self.app = AuthContextMiddleware(app)  # exposes the token to tools via get_access_token()
        self.passthrough = app
        self.settings = settings
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.settings.mcp_path.rstrip("/"):
            await self.passthrough(scope, receive, send)
            return
        if any(key == "access_token" for key, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"))):
            # MCP authorization: tokens MUST NOT be in the query string (they end up in logs and Referer).
            await self._reject(
                send, 400, "invalid_request", "access tokens are accepted in the Authorization header only"
            )
            return
        token = self._bearer_token(scope)
        if token is None:
            await self._reject(send, 401, None, None)
            return
        try:
            access = await self.verifier.verify_token(token)
        except IntrospectionUnavailable:
            await self._unavailable(send)
            return
        if access is None:
            await self._reject(
                send, 401, "invalid_token", "the access token is invalid, expired, or not for this server"
            )
            return
        if not set(self.settings.scopes) <= set(access.scopes):
            await self._reject(send, 403, "insufficient_scope", "the access token lacks a required scope")
            return
        scope["user"] = AuthenticatedUser(access)
        scope["auth"] = AuthCredentials(access.scopes)
        await self.app(scope, receive, send)

    @staticmethod
    def _bearer_token(scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                return token.strip() or None if scheme.lower() == "bearer" else None
        return None

    def challenge(self, error: str | None, description: str | None) -> str:
        params = []
        if error:
            params += [f'error="{error}"', f'error_description="{description}"']
        params += [
            f'resource_metadata="{self.settings.resource_metadata_url}"',
            f'scope="{" ".join(self.settings.scopes)}"',
        ]
        return "Bearer " + ", ".join(params)

    async def _reject(self, send: Send, status: int, error: str | None, description: str | None) -> None:
        body = {"error": error or "unauthorized", "error_description": description or "authorization required"}
        headers = [(b"www-authenticate", self.challenge(error, description).encode())]
        await _send_json(send, status, body, headers)

    async def _unavailable(self, send: Send) -> None:
        body = {"error": "temporarily_unavailable", "error_description": "the authorization server did not answer"}
        await _send_json(send, 503, body, [(b"retry-after", b"5")])


async def _send_json(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
