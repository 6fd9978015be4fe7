"""The demo MCP server that `make run` serves: one user of `mcp_rs`'s public API, like any server of your own.

Reading is open to any token with the required `mcp` scope; adding a note needs `notes:write` too, so a client
that was only given `mcp` is challenged (403 `insufficient_scope`) and steps up.
"""

import json
from datetime import UTC, datetime

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer

from .scopes import requires_scopes

MAX_NOTES_PER_USER = 100


def caller() -> dict:
    """Who is calling, from the token the guard accepted: the person (none for a machine client) and the client."""
    token = get_access_token()
    if token is None:  # unreachable behind BearerGuard; fail closed all the same
        raise PermissionError("no access token")
    claims = token.claims or {}
    # A token with no user (OAuth client credentials: a machine client acting on its own behalf) introspects with
    # no `username` and the client as its `sub`: the caller is then the client itself.
    return {
        "caller": "person" if claims.get("username") is not None else "client",
        "username": claims.get("username"),
        "subject": token.subject,
        "client_id": token.client_id,
        "scopes": token.scopes,
        "audience": token.resource,
        "expires_at": token.expires_at,
    }


def create_server() -> MCPServer:
    """The demo's tools, a resource and a prompt. They are coroutines: none blocks, and the SDK would otherwise run
    each call in a worker thread."""
    server = MCPServer(
        name="Demo MCP server",
        instructions="A demo MCP server protected by django-mcp-auth. Try `whoami`, then keep a few notes.",
    )
    notes: dict[str, list[str]] = {}

    @server.tool(description="Who is calling: the user, the client and the token's scopes and audience.")
    async def whoami() -> str:
        return json.dumps(caller())

    @server.tool(description="Echo a message back, signed with the caller's username.")
    async def echo(message: str) -> str:
        who = caller()
        return f"{who['username'] or 'client ' + who['client_id']}: {message}"

    @server.tool(description="Keep a short note for the signed-in user (in memory, for the demo). Needs notes:write.")
    @requires_scopes("notes:write")
    async def add_note(text: str) -> str:
        mine = notes.setdefault(caller()["subject"] or "", [])
        mine.append(text[:1000])
        del mine[:-MAX_NOTES_PER_USER]
        return f"saved note {len(mine)}"

    @server.tool(description="List the signed-in user's notes.")
    async def list_notes() -> list[str]:
        return list(notes.get(caller()["subject"] or "", []))

    @server.resource("info://server", description="This server's name, time and the caller's identity.")
    async def server_info() -> str:
        return json.dumps({"server": server.name, "time": datetime.now(UTC).isoformat(), "caller": caller()})

    @server.prompt(description="Ask the model to summarise the signed-in user's notes.")
    async def summarize_notes() -> str:
        listed = "\n".join(f"- {note}" for note in notes.get(caller()["subject"] or "", [])) or "(no notes yet)"
        return f"Summarise these notes for {caller()['username']}:\n{listed}"

    return server
