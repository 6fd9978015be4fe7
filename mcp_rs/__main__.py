"""`python -m mcp_rs`: serve the MCP resource server on MCP_SERVER_URL's host and port (or MCP_BIND)."""

import logging

import uvicorn

from .server import create_app
from .settings import RSSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = RSSettings.from_env()
    uvicorn.run(create_app(settings), host=settings.bind_host, port=settings.bind_port, lifespan="on")


if __name__ == "__main__":
    main()
