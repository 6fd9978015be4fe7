"""Request IDs and one structured log line per request on the RS; the ID travels on to the AS.

The ID is the client's X-Request-ID when well-formed, else a new one. It is kept in a context variable so the
token verifier can send it with its introspection request, and the AS logs the same ID for the same MCP call.
"""

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)
log = logging.getLogger("mcp_rs.requests")


def request_id_header() -> dict[str, str]:
    """X-Request-ID for a call made on behalf of the current request (the introspection), if there is one."""
    request_id = current_request_id.get()
    return {"x-request-id": request_id} if request_id else {}


def configure_logging() -> None:
    """Plain lines for the SDK and uvicorn; the request lines are JSON objects already, printed as they are."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.propagate = False


class RequestContext:
    """Outermost ASGI middleware: sets the request ID, returns it in X-Request-ID, logs the request (path only:
    never the query string, headers or body, so no token is ever logged)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = supplied if REQUEST_ID.match(supplied) else uuid.uuid4().hex
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
            log.info(
                json.dumps(
                    {
                        "logger": "mcp_rs.requests",
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                )
            )
