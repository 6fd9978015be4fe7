"""mcp_rs: put any MCPServer behind the Django AS. Tokens are checked by RFC 7662 introspection, per-tool scopes
trigger step-up authorization, and nothing here imports Django.

    from mcp.server.mcpserver import MCPServer
    from mcp_rs import protect, requires_scopes

    server = MCPServer("Files")

    @server.tool()
    @requires_scopes("files:write")
    async def delete_file(path: str) -> str: ...

    app = protect(server)  # an ASGI app; or serve the file with `python -m mcp_rs my_module:server`
"""

from .app import protect
from .scopes import requires_scopes
from .settings import RSSettings

__all__ = ["RSSettings", "protect", "requires_scopes"]
