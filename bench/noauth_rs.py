"""The benchmarks' baseline: `python -m mcp_rs` with its token check taken out (never serve this).

The app is `create_app`'s (the demo), served by `mcp_rs.__main__.serve`, with only BearerGuard replaced: every
request is handed the identity a valid token would give, without a token. So the tools answer the same thing, everything
else (request IDs, logging, transport, server) is as served, and the difference between the two is exactly what
the guard and introspection cost.
"""

import time

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials

from mcp_rs.__main__ import serve
from mcp_rs.app import create_app
from mcp_rs.guard import BearerGuard
from mcp_rs.observability import configure_logging
from mcp_rs.settings import RSSettings


class FixedIdentity:
    def __init__(self, app, identity: AccessToken):
        self.app = app
        self.identity = identity

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scope["user"] = AuthenticatedUser(self.identity)
            scope["auth"] = AuthCredentials(self.identity.scopes)
        await self.app(scope, receive, send)


def without_guard(app, settings: RSSettings):
    """`app` (create_app's) with its BearerGuard swapped for a fixed identity; every other layer kept."""
    identity = AccessToken(
        token="none",
        client_id="bench",
        scopes=list(settings.scopes),
        expires_at=int(time.time()) + 86_400,
        resource=settings.server_url,
        subject="1",
        claims={"iss": settings.issuer, "sub": "1", "username": "alice", "aud": settings.server_url},
    )
    parent, layer = None, app
    while not isinstance(layer, BearerGuard):
        parent, layer = layer, layer.app
    unguarded = FixedIdentity(layer.app, identity)  # layer.app: the SDK's AuthContextMiddleware around MCP
    if parent is None:
        return unguarded
    parent.app = unguarded
    return app


if __name__ == "__main__":
    configure_logging()
    settings = RSSettings.from_env()
    app = without_guard(create_app(settings), settings)
    serve(app, host=settings.bind_host, port=settings.bind_port, lifespan="on")
