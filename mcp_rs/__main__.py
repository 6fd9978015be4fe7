"""`python -m mcp_rs [MODULE:ATTR]`: serve an MCPServer behind the guard on MCP_SERVER_URL's host and port (or
MCP_BIND); the demo server when no MODULE:ATTR is given.

With MCP_WORKERS > 1, uvicorn runs that many worker processes on one listening socket, each building its own app
(its own pooled AS client and Redis client) from `mcp_rs.app:create_app_from_env`.
"""

import argparse
import logging
import os
import socket
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess

from .app import SERVER_ENV, protect
from .loader import DEMO, ServerImportError, load_server
from .observability import configure_logging
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


HELP = """\
Serve an MCP server of your own behind django-mcp-auth: every request needs a token the authorization server
issued for this server (checked by RFC 7662 introspection), and tools marked with @requires_scopes(...) need
their scopes too (403 insufficient_scope, and MCP clients step up).

  1. register it with the AS (on the AS's machine):
       eval "$(python manage.py register_mcp_server https://mcp.example.com/mcp --name Files \\
               --scope mcp="Use the Files server" --scope files:write="Change your files")"
  2. export MCP_SERVER_URL=https://mcp.example.com/mcp OAUTH_ISSUER=https://auth.example.com
     (and the MCP_RS_CLIENT_ID / MCP_RS_CLIENT_SECRET lines step 1 printed)
  3. python -m mcp_rs my_server:server

MODULE:ATTR names an MCPServer, or a function with no arguments returning one, as uvicorn names apps; the current
directory is importable. Without it, the demo server runs.

environment:
  MCP_SERVER_URL             this server's canonical URL, where it listens (default http://127.0.0.1:8001/mcp)
  OAUTH_ISSUER               the authorization server (default http://127.0.0.1:8000)
  MCP_RS_CLIENT_ID/_SECRET   this server's introspection credentials, from register_mcp_server
  MCP_REQUIRED_SCOPES        scopes every request needs (default mcp)
  MCP_BIND                   host:port to listen on instead of MCP_SERVER_URL's
  MCP_WORKERS, MCP_STATELESS worker processes (MCP_WORKERS > 1 needs stateless mode)
  REDIS_URL                  share the introspection cache between workers and replicas
  MCP_TOKEN_CACHE_SECONDS, MCP_INTROSPECTION_TIMEOUT, MCP_AS_URL, MCP_SERVER_NAME, CACHE_KEY_PREFIX: see README
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mcp_rs", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("server", nargs="?", default=DEMO, metavar="MODULE:ATTR", help="the MCPServer to serve")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging()
    settings = RSSettings.from_env()
    try:
        server = load_server(args.server)
    except ServerImportError as exc:
        sys.exit(f"python -m mcp_rs: {exc}")
    listen = {"host": settings.bind_host, "port": settings.bind_port, "lifespan": "on"}
    if settings.workers > 1:
        os.environ[SERVER_ENV] = args.server  # each worker imports the server again, in its own process
        serve("mcp_rs.app:create_app_from_env", factory=True, workers=settings.workers, **listen)
    else:
        serve(protect(server, settings), **listen)


if __name__ == "__main__":
    main()
