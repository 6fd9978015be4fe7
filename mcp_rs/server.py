"""The MCP resource server: `create_server(settings)` for the MCP part, `create_app(settings)` for the ASGI app,
`create_app_from_env()` for uvicorn's workers (MCP_WORKERS)."""

import contextlib
import json
from datetime import UTC, datetime

import httpx
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse

from .cache import SharedCache, TTLCache
from .guard import BearerGuard
from .legacy import legacy_routes
from .observability import RequestContext, configure_logging
from .settings import RSSettings
from .token_verifier import IntrospectionTokenVerifier, shared_cache_for

MAX_NOTES_PER_USER = 100


def _caller() -> dict:
    token = get_access_token()
    if token is None:  # unreachable behind BearerGuard; fail closed all the same
        raise PermissionError("no access token")
    claims = token.claims or {}
    return {
        "username": claims.get("username"),
        "subject": token.subject,
        "client_id": token.client_id,
        "scopes": token.scopes,
        "audience": token.resource,
        "expires_at": token.expires_at,
    }


def create_server(settings: RSSettings) -> MCPServer:
    """The MCP server with its tools, a resource and a prompt. Every one of them is behind BearerGuard.

    They are coroutines: none blocks, and the SDK would otherwise run each call in a worker thread.
    """
    server = MCPServer(
        name=settings.name,
        instructions="A demo MCP server protected by django-mcp-auth. Try `whoami`, then keep a few notes.",
    )
    notes: dict[str, list[str]] = {}

    @server.tool(description="Who is calling: the user, the client and the token's scopes and audience.")
    async def whoami() -> str:
        return json.dumps(_caller())

    @server.tool(description="Echo a message back, signed with the caller's username.")
    async def echo(message: str) -> str:
        return f"{_caller()['username']}: {message}"

    @server.tool(description="Keep a short note for the signed-in user (in memory, for the demo).")
    async def add_note(text: str) -> str:
        mine = notes.setdefault(_caller()["subject"] or "", [])
        mine.append(text[:1000])
        del mine[:-MAX_NOTES_PER_USER]
        return f"saved note {len(mine)}"

    @server.tool(description="List the signed-in user's notes.")
    async def list_notes() -> list[str]:
        return list(notes.get(_caller()["subject"] or "", []))

    @server.resource("info://server", description="This server's name, time and the caller's identity.")
    async def server_info() -> str:
        return json.dumps({"server": settings.name, "time": datetime.now(UTC).isoformat(), "caller": _caller()})

    @server.prompt(description="Ask the model to summarise the signed-in user's notes.")
    async def summarize_notes() -> str:
        listed = "\n".join(f"- {note}" for note in notes.get(_caller()["subject"] or "", [])) or "(no notes yet)"
        return f"Summarise these notes for {_caller()['username']}:\n{listed}"

    return server


def create_app(settings: RSSettings, *, http: httpx.AsyncClient | None = None, shared_cache: SharedCache | None = None):
    """The ASGI app: MCP at MCP_SERVER_URL's path behind BearerGuard, RFC 9728 metadata, legacy routes.

    `http` is the one client used to reach the AS (pooled, keep-alive); by default a new one. `shared_cache` is
    the cache shared with other workers; by default Redis when REDIS_URL is set, else none.
    """
    http = http or httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    shared = shared_cache if shared_cache is not None else shared_cache_for(settings)
    verifier = IntrospectionTokenVerifier(settings, http=http, cache=TTLCache(), shared=shared)
    app = create_mcp_app(settings, http=http, on_shutdown=[shared.aclose] if shared is not None else [])
    app.state.verifier = verifier
    return RequestContext(BearerGuard(app, settings=settings, verifier=verifier))


def create_app_from_env():
    """`python -m mcp_rs` with MCP_WORKERS > 1: uvicorn builds the app in each worker from this import string."""
    configure_logging()
    return create_app(RSSettings.from_env())


def create_mcp_app(settings: RSSettings, *, http: httpx.AsyncClient, on_shutdown=()):
    """The Starlette app without BearerGuard: never serve it as is, `create_app` puts the guard in front.
    `http` (and `on_shutdown`) close with the app."""
    server = create_server(settings)

    async def protected_resource_metadata(request: Request) -> JSONResponse:
        document = {
            "resource": settings.server_url,
            "authorization_servers": [settings.issuer],
            "scopes_supported": list(settings.scopes),
            "bearer_methods_supported": ["header"],
            "resource_name": settings.name,
        }
        return JSONResponse(document, headers={"Access-Control-Allow-Origin": "*"})

    async def healthz(request: Request) -> JSONResponse:
        """Ready when the AS answers its own health check (which checks its database)."""
        try:
            answer = await http.get(f"{settings.as_url}/healthz", timeout=settings.introspection_timeout)
            healthy = answer.status_code == 200
        except httpx.HTTPError:
            healthy = False
        if healthy:
            return JSONResponse({"status": "ok", "authorization_server": "ok"})
        return JSONResponse(
            {"status": "unavailable", "authorization_server": "unreachable"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    metadata_path = settings.resource_metadata_url.removeprefix(settings.origin)
    for path, methods, handler in [
        (metadata_path, ["GET"], protected_resource_metadata),
        ("/healthz", ["GET"], healthz),
        *legacy_routes(settings, http),
    ]:
        server.custom_route(path, methods=methods)(handler)
    app = server.streamable_http_app(
        streamable_http_path=settings.mcp_path,
        stateless_http=settings.stateless,  # MCP_STATELESS: any worker or replica can answer any request
        transport_security=_transport_security(settings),
    )
    inner_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(starlette_app):
        async with inner_lifespan(starlette_app):
            yield
        await http.aclose()
        for close in on_shutdown:
            await close()

    app.router.lifespan_context = lifespan
    return app


def _transport_security(settings: RSSettings) -> TransportSecuritySettings:
    """DNS-rebinding protection: only the public host of MCP_SERVER_URL and loopback may be named in Host."""
    public_host = settings.origin.split("://", 1)[1]
    loopback = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[public_host, *loopback],
        allowed_origins=[settings.origin, *(f"http://{host}" for host in loopback)],
    )
