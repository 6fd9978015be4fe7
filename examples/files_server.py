"""A minimal MCP server of one's own behind django-mcp-auth. Serve it with `python -m mcp_rs files_server:server`
from this folder (README, *Protect your own MCP server*)."""

from mcp.server.mcpserver import MCPServer

from mcp_rs import requires_scopes

server = MCPServer("Files")
files: dict[str, str] = {"hello.txt": "Hello from a protected MCP server."}


@server.tool(description="Read a file.")
async def read_file(name: str) -> str:
    return files.get(name, "")


@server.tool(description="Write a file. Needs files:write.")
@requires_scopes("files:write")
async def write_file(name: str, text: str) -> str:
    files[name] = text
    return f"wrote {len(text)} characters to {name}"
