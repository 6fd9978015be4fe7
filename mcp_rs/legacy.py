"""What 2025-03-26 clients need on the MCP server's own origin.

Those clients know no RFC 9728: they read `/.well-known/oauth-authorization-server` on the MCP origin and,
failing that, use `/authorize`, `/token` and `/register` there. The RS holds no OAuth state, so it only
points them at the Django AS: the metadata is the AS's own document (its `issuer` and endpoints unchanged, so
`iss` in responses still matches it), `/authorize` redirects the browser, and the back-channel endpoints are
forwarded. Tokens come out bound to MCP_SERVER_URL because the AS binds resource-less requests to it.
"""

import time
from collections.abc import Awaitable, Callable

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .settings import RSSettings

METADATA_TTL = 300.0
FORWARDED_PATHS = {"/token": "/token/", "/register": "/register/", "/revoke": "/revoke_token/"}
FORWARDED_HEADERS = ("content-type", "authorization", "accept")
Handler = Callable[[Request], Awaitable[Response]]


def legacy_routes(settings: RSSettings, http: httpx.AsyncClient) -> list[tuple[str, list[str], Handler]]:
    """(path, methods, handler) for each route, to register with MCPServer.custom_route."""
    metadata_cache: dict[str, tuple[float, dict]] = {}

    async def metadata(request: Request) -> Response:
        cached = metadata_cache.get("document")
        if cached is None or cached[0] < time.monotonic():
            try:
                response = await http.get(f"{settings.as_url}/.well-known/oauth-authorization-server", timeout=5)
                response.raise_for_status()
                cached = (time.monotonic() + METADATA_TTL, response.json())
            except (httpx.HTTPError, ValueError):
                return JSONResponse({"error": "temporarily_unavailable"}, status_code=503, headers={"Retry-After": "5"})
            metadata_cache["document"] = cached
        return JSONResponse(cached[1], headers={"Access-Control-Allow-Origin": "*"})

    async def authorize(request: Request) -> Response:
        query = request.url.query
        return RedirectResponse(f"{settings.issuer}/authorize/" + (f"?{query}" if query else ""), status_code=302)

    async def forward(request: Request) -> Response:
        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        if request.client:
            headers["x-forwarded-for"] = request.client.host
        try:
            upstream = await http.post(
                f"{settings.as_url}{FORWARDED_PATHS[request.url.path]}",
                content=await request.body(),
                headers=headers,
                timeout=10,
            )
        except httpx.HTTPError:
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503, headers={"Retry-After": "5"})
        passed = {
            k: v
            for k, v in upstream.headers.items()
            if k in ("content-type", "cache-control", "pragma", "www-authenticate")
        }
        return Response(upstream.content, status_code=upstream.status_code, headers=passed)

    return [
        ("/.well-known/oauth-authorization-server", ["GET"], metadata),
        ("/authorize", ["GET"], authorize),
        *((path, ["POST"], forward) for path in FORWARDED_PATHS),
    ]
