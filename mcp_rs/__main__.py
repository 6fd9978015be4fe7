"""`python -m mcp_rs`: serve the MCP resource server on MCP_SERVER_URL's host and port (or MCP_BIND).

With MCP_WORKERS > 1, uvicorn runs that many worker processes on one listening socket, each building its own app
(its own pooled AS client and Redis client) from `mcp_rs.server:create_app_from_env`.
"""

import logging
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

from .observability import configure_logging
from .server import create_app
from .settings import RSSettings

log = logging.getLogger("mcp_rs")


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket to listen on with TCP_NODELAY, which Linux passes on to every connection it accepts.

    uvicorn 0.54 creates its own socket for `--workers` without a protocol number, so asyncio does not set
    TCP_NODELAY on the connections it accepts; Nagle's algorithm then holds each response's last segment until the
    client's delayed ACK, about 40 ms on Linux, on every request of a keep-alive connection.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve(app, *, host: str, port: int, workers: int = 1, factory: bool = False, lifespan: str = "auto") -> None:
    """Serve an ASGI app (an import string when `workers` > 1) with uvicorn, in one process or several.

    Also how the AS runs with several workers (README, *Performance and production serving*).
    """
    if workers == 1:
        uvicorn.run(app, host=host, port=port, lifespan=lifespan, factory=factory)
        return
    config = uvicorn.Config(app, host=host, port=port, workers=workers, factory=factory, lifespan=lifespan)
    sock = listening_socket(host, port)
    log.info("serving on %s:%s with %d worker processes", host, port, workers)
    Multiprocess(config, sockets=[sock]).run()


def main() -> None:
    configure_logging()
    settings = RSSettings.from_env()
    listen = {"host": settings.bind_host, "port": settings.bind_port, "lifespan": "on"}
    if settings.workers > 1:
        serve("mcp_rs.server:create_app_from_env", factory=True, workers=settings.workers, **listen)
    else:
        serve(create_app(settings), **listen)


if __name__ == "__main__":
    main()
