"""Your own MCP servers behind one AS, as the README tells an operator to run them, with the SDK's own client:

- `examples/files_server.py`, a file outside the package, served with `python -m mcp_rs files_server:server`;
- a second server in a script of its own that serves `protect(server)` with a plain `uvicorn.run`;
- both registered with `manage.py register_mcp_server` and given the credentials it printed.

Step-up: the Files server's `write_file` needs `files:write`; the client was first given `mcp` only.
"""

from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.browser import query
from tests.e2e.mcp_client import MemoryStorage, ScriptedBrowser, mcp_session, oauth_provider
from tests.e2e.stack import ROOT, Stack, exports, free_port, stack_environment, throwaway_database

CALENDAR_SERVER = """
import os

import uvicorn
from mcp.server.mcpserver import MCPServer

from mcp_rs import protect

server = MCPServer("Calendar")


@server.tool()
async def today() -> str:
    return "nothing planned"


if __name__ == "__main__":
    uvicorn.run(protect(server), host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
"""


@dataclass
class OwnServers:
    stack: Stack
    files_url: str
    calendar_url: str
    files_credentials: dict[str, str]
    calendar_credentials: dict[str, str]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("own-servers")
    as_port, files_port, calendar_port = free_port(), free_port(), free_port()
    files_url, calendar_url = f"http://127.0.0.1:{files_port}/mcp", f"http://127.0.0.1:{calendar_port}/mcp"
    with throwaway_database(tmp) as database_url, open(tmp / "servers.log", "w") as log:
        stack = Stack.prepared(stack_environment(as_port, files_port, database_url))
        stack.log = log
        files = exports(
            stack.manage(
                "register_mcp_server", files_url, "--name", "Files",
                "--scope", "mcp=Use the Files server", "--scope", "files:write=Change your files",
            )
        )  # fmt: skip
        calendar = exports(stack.manage("register_mcp_server", calendar_url, "--name", "Calendar"))
        (tmp / "calendar_server.py").write_text(CALENDAR_SERVER)
        stack.start_as()
        try:
            stack.start_rs(
                "-m", "mcp_rs", "files_server:server", server_url=files_url, credentials=files, cwd=ROOT / "examples"
            )
            stack.start_rs(
                "calendar_server.py", server_url=calendar_url, credentials={**calendar, "PORT": str(calendar_port)},
                cwd=tmp,
            )  # fmt: skip
            yield OwnServers(stack, files_url, calendar_url, files, calendar)
        finally:
            stack.stop()


def text_of(result) -> str:
    assert not result.is_error, result
    return result.content[0].text


async def test_a_server_from_a_file_of_ones_own_completes_the_sdk_flow_and_steps_up(servers):
    storage, browser = MemoryStorage(), ScriptedBrowser()
    provider = oauth_provider(servers.files_url, storage, browser)

    async with mcp_session(servers.files_url, auth=provider) as session:
        hello = text_of(await session.call_tool("read_file", {"name": "hello.txt"}))
        first_token = storage.tokens.access_token
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}

        # What the SDK is about to meet, asked directly with the token it holds: 403 before the tool runs.
        refused = httpx.post(
            servers.files_url,
            json={"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                  "params": {"name": "write_file", "arguments": {"name": "a.txt", "text": "too early"}}},
            headers={"Authorization": f"Bearer {first_token}", "Accept": "application/json, text/event-stream"},
        )  # fmt: skip
        unwritten = text_of(await session.call_tool("read_file", {"name": "a.txt"}))

        # The SDK's own step-up: 403 insufficient_scope → authorize with the union of scopes → retry.
        written = text_of(await session.call_tool("write_file", {"name": "a.txt", "text": "hi"}))
        read_back = text_of(await session.call_tool("read_file", {"name": "a.txt"}))

    assert hello == "Hello from a protected MCP server."
    assert tools["write_file"].meta == {"django-mcp-auth/required_scopes": ["files:write"]}
    assert refused.status_code == 403
    metadata_url = servers.files_url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    assert refused.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", scope="mcp files:write", resource_metadata="{metadata_url}", '
        'error_description="this call needs the scopes: files:write"'
    )
    assert unwritten == ""  # the refused call never ran
    assert written == "wrote 2 characters to a.txt" and read_back == "hi"

    first, second = browser.authorize_urls
    assert "files:write" not in query(first)["scope"].split()
    assert {"mcp", "files:write"} <= set(query(second)["scope"].split())
    assert storage.tokens.access_token != first_token
    assert {"mcp", "files:write"} <= set(storage.tokens.scope.split())
    # Incremental consent: the second page says which permission is new.
    assert "New" in browser.consent_pages[1] and "Change your files" in browser.consent_pages[1]
    assert "New" not in browser.consent_pages[0]


async def test_protect_under_a_plain_uvicorn_run(servers):
    storage, browser = MemoryStorage(), ScriptedBrowser()

    async with mcp_session(servers.calendar_url, auth=oauth_provider(servers.calendar_url, storage, browser)) as s:
        answer = text_of(await s.call_tool("today", {}))

    assert answer == "nothing planned" and len(browser.authorize_urls) == 1


async def test_each_server_accepts_only_its_own_tokens(servers):
    tokens = {}
    for url in (servers.files_url, servers.calendar_url):
        storage = MemoryStorage()
        async with mcp_session(url, auth=oauth_provider(url, storage, ScriptedBrowser())) as session:
            await session.list_tools()
        tokens[url] = storage.tokens.access_token
    introspect = f"{servers.stack.issuer}/introspect/"
    credentials = {
        servers.files_url: servers.files_credentials,
        servers.calendar_url: servers.calendar_credentials,
    }

    for url, other in [(servers.files_url, servers.calendar_url), (servers.calendar_url, servers.files_url)]:
        at_rs = httpx.post(other, json={}, headers={"Authorization": f"Bearer {tokens[url]}"})
        own_auth = (credentials[url]["MCP_RS_CLIENT_ID"], credentials[url]["MCP_RS_CLIENT_SECRET"])
        other_auth = (credentials[other]["MCP_RS_CLIENT_ID"], credentials[other]["MCP_RS_CLIENT_SECRET"])
        by_owner = httpx.post(introspect, data={"token": tokens[url]}, auth=own_auth).json()
        by_other = httpx.post(introspect, data={"token": tokens[url]}, auth=other_auth).json()

        assert at_rs.status_code == 401 and 'error="invalid_token"' in at_rs.headers["www-authenticate"]
        assert by_owner["active"] is True and by_owner["aud"] == url
        assert by_other == {"active": False}


def test_offline_access_is_the_as_business_not_the_resource_servers(servers):
    as_metadata = httpx.get(f"{servers.stack.issuer}/.well-known/oauth-authorization-server").json()
    for url in (servers.files_url, servers.calendar_url):
        metadata_url = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
        prm = httpx.get(metadata_url).json()
        challenge = httpx.post(url, json={}).headers["www-authenticate"]

        assert "offline_access" not in prm["scopes_supported"] and "offline_access" not in challenge
    assert "offline_access" in as_metadata["scopes_supported"]
    files_prm = httpx.get(servers.files_url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")).json()
    assert files_prm["scopes_supported"] == ["mcp", "files:write"] and files_prm["resource_name"] == "Files"
