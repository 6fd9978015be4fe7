"""The bearer-token guard in front of the MCP endpoint (RFC 6750 §3, RFC 9728 §5.1, MCP authorization)."""

import json
import logging
from urllib.parse import parse_qsl

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.authentication import AuthCredentials
from starlette.types import ASGIApp, Receive, Scope, Send

from .scopes import ScopePolicy
from .settings import RSSettings
from .token_verifier import IntrospectionTokenVerifier, IntrospectionUnavailable

log = logging.getLogger(__name__)


class BearerGuard:
    """Lets a request reach the MCP endpoint only with a valid, audience-bound token carrying the scopes.

    Unlike the SDK's RequireAuthMiddleware it follows RFC 6750 §3.1 to the letter: a request that sent no token
    gets a challenge without `error` (and with `scope`, which MCP clients use to choose what to request); a bad
    token gets `invalid_token`; too few scopes get 403 `insufficient_scope`. When the AS cannot answer, the
    request fails with 503 instead of waiting or passing.

    Per-item scopes (`requires_scopes`, in `policy`): a call of a marked tool, prompt or resource by a token
    without its scopes gets 403 `insufficient_scope` naming every scope the call needs (MCP 2026-07-28, *Scope
    challenge handling*), before the MCP transport sees it. The body is only buffered when the token lacks some
    per-item scope, and only parsed when it may name a marked item (`ScopePolicy.needed_for`).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: RSSettings,
        verifier: IntrospectionTokenVerifier,
        policy: ScopePolicy | None = None,
    ):
        self.app = AuthContextMiddleware(app)  # exposes the token to tools via get_access_token()
        self.passthrough = app
        self.settings = settings
        self.verifier = verifier
        self.policy = policy or ScopePolicy(required=settings.scopes)
        self._required = frozenset(settings.scopes)
        self._item_scopes = self.policy.item_scopes

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
        granted = frozenset(access.scopes)
        if not self._required <= granted:
            await self._reject(send, 403, "insufficient_scope", "the access token lacks a required scope")
            return
        if scope["method"] == "POST" and not self._item_scopes <= granted:
            body = await _read_body(receive)
            if body is None:  # the client went away: nothing runs
                return
            needed = self.policy.needed_for(body)
            if not needed <= granted:
                description = f"this call needs the scopes: {' '.join(sorted(needed))}"
                await self._reject(send, 403, "insufficient_scope", description, scopes=self._required | needed)
                return
            receive = _replay(body, receive)
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

    def challenge(self, error: str | None, description: str | None, scopes=None) -> str:
        """RFC 6750 §3. `scope` names MCP_REQUIRED_SCOPES, or for a per-item 403 every scope the call needs: never
        every scope the server knows, or clients would ask people for everything up front (no step-up)."""
        if scopes is None:
            scope_value = " ".join(self.settings.scopes)
        else:  # the required scopes in their configured order, then the call's own
            scope_value = " ".join([*self.settings.scopes, *sorted(set(scopes) - self._required)])
        params = []
        if error:
            params += [f'error="{error}"']
        params += [f'scope="{scope_value}"', f'resource_metadata="{self.settings.resource_metadata_url}"']
        if error:
            params += [f'error_description="{description}"']
        return "Bearer " + ", ".join(params)

    async def _reject(
        self, send: Send, status: int, error: str | None, description: str | None, *, scopes=None
    ) -> None:
        body = {"error": error or "unauthorized", "error_description": description or "authorization required"}
        headers = [(b"www-authenticate", self.challenge(error, description, scopes).encode())]
        await _send_json(send, status, body, headers)

    async def _unavailable(self, send: Send) -> None:
        body = {"error": "temporarily_unavailable", "error_description": "the authorization server did not answer"}
        await _send_json(send, 503, body, [(b"retry-after", b"5")])


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client disconnected before sending it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then whatever the connection says next."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


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
