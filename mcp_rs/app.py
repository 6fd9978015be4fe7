"""Any MCPServer as a protected resource: `protect(server)` returns the ASGI app (BearerGuard in front, RFC 9728
metadata, legacy 2025-03-26 routes, health); `create_app_from_env()` is what uvicorn's workers build."""

import contextlib
import os
from collections.abc import Callable

import httpx
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse

from .cache import SharedCache, TTLCache
from .guard import BearerGuard
from .legacy import legacy_routes
from .loader import DEMO, load_server
from .observability import RequestContext, configure_logging
from .scopes import ScopePolicy
from .settings import RSSettings
from .token_verifier import IntrospectionTokenVerifier, shared_cache_for

# Where `python -m mcp_rs MODULE:ATTR` leaves the server's import string for uvicorn's worker processes.
SERVER_ENV = "MCP_RS_SERVER"


def protect(
    server: MCPServer | Callable[[], MCPServer],
    settings: RSSettings | None = None,
    *,
    http: httpx.AsyncClient | None = None,
    shared_cache: SharedCache | None = None,
):
    """The ASGI app serving `server` as a protected resource: MCP at MCP_SERVER_URL's path behind BearerGuard,
    RFC 9728 metadata, `/healthz`, and the routes 2025-03-26 clients look for. Serve it with any ASGI server
    (`uvicorn.run(protect(server), ...)`) or mount it; call it once per server instance.

    `settings=None` reads the environment (`RSSettings.from_env()`). `http` is the one client used to reach the AS
    (pooled, keep-alive); by default a new one. `shared_cache` is the cache shared with other workers; by default
    Redis when REDIS_URL is set, else none. Tools marked with `requires_scopes` are read from `server` here.
    """
    settings = settings if settings is not None else RSSettings.from_env()
    if not isinstance(server, MCPServer) and callable(server):
        server = server()
    if not isinstance(server, MCPServer):
        raise TypeError(f"protect() needs an MCPServer, not {type(server).__name__}")
    policy = ScopePolicy.from_server(server, required=settings.scopes)
    http = http or httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    shared = shared_cache if shared_cache is not None else shared_cache_for(settings)
    verifier = IntrospectionTokenVerifier(settings, http=http, cache=TTLCache(), shared=shared)
    app = _mcp_app(server, settings, policy, http=http, on_shutdown=[shared.aclose] if shared is not None else [])
    app.state.verifier = verifier
    return RequestContext(BearerGuard(app, settings=settings, verifier=verifier, policy=policy))


def create_app(settings: RSSettings, *, server: str | MCPServer = DEMO, **kwargs):
    """`protect()` for a server given as an import string (`MODULE:ATTR`) or an instance; the demo by default."""
    return protect(load_server(server) if isinstance(server, str) else server, settings, **kwargs)


def create_app_from_env():
    """`python -m mcp_rs` with MCP_WORKERS > 1: uvicorn builds the app in each worker from this import string."""
    configure_logging()
    return create_app(RSSettings.from_env(), server=os.environ.get(SERVER_ENV) or DEMO)


def _mcp_app(server: MCPServer, settings: RSSettings, policy: ScopePolicy, *, http: httpx.AsyncClient, on_shutdown):
    """The Starlette app without BearerGuard: never serve it as is, `protect` puts the guard in front.
    `http` (and `on_shutdown`) close with the app."""
    resource_name = settings.name or server.name

    async def protected_resource_metadata(request: Request) -> JSONResponse:
        document = {
            "resource": settings.server_url,
            "authorization_servers": [settings.issuer],
            # Every scope the server uses, required and per item (never offline_access: SEP-2207).
            "scopes_supported": policy.all_scopes,
            "bearer_methods_supported": ["header"],
            "resource_name": resource_name,
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
