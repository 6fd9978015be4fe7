"""Per-tool scopes: `requires_scopes`, the guard's 403 `insufficient_scope` before the tool runs, the metadata.

The RS runs for real (guard, MCP transport, tools) in process; only the AS's introspection answers are scripted
(tests/mcp_rs/conftest.py). tests/e2e/test_step_up.py drives the same with the SDK's client and the real AS.
"""

import contextlib
import dataclasses
import json

import anyio
import httpx
import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from mcp_rs import protect, requires_scopes
from mcp_rs.scopes import META_KEY, ScopePolicy
from tests.mcp_rs.conftest import SERVER_URL

METADATA_URL = "http://127.0.0.1:8001/.well-known/oauth-protected-resource/mcp"
HEADERS = {"Accept": "application/json, text/event-stream", "Authorization": "Bearer t1"}


def files_server(ran: list[str]) -> MCPServer:
    server = MCPServer("Files")

    @server.tool()
    async def read_file(path: str) -> str:
        ran.append(f"read {path}")
        return "contents"

    @server.tool()
    @requires_scopes("files:write")
    async def delete_file(path: str) -> str:
        ran.append(f"delete {path}")
        return "deleted"

    @server.tool()
    @requires_scopes("files:write", "files:admin")
    def wipe() -> str:  # a plain function: the mark works on those too
        ran.append("wipe")
        return "wiped"

    @server.resource("files://{name}")
    @requires_scopes("files:read")
    async def file_resource(name: str) -> str:
        ran.append(f"resource {name}")
        return name

    @server.prompt()
    @requires_scopes("files:read")
    async def summarize(path: str) -> str:
        ran.append(f"prompt {path}")
        return f"summarise {path}"

    return server


@contextlib.asynccontextmanager
async def running(app):
    """The ASGI lifespan (the MCP session manager starts there), as uvicorn would run it."""
    to_app, app_receives = anyio.create_memory_object_stream(4)
    app_sends, from_app = anyio.create_memory_object_stream(4)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(
            app, {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, app_receives.receive, app_sends.send
        )
        await to_app.send({"type": "lifespan.startup"})
        assert (await from_app.receive())["type"] == "lifespan.startup.complete"
        yield
        await to_app.send({"type": "lifespan.shutdown"})
        await from_app.receive()


@pytest.fixture
def files(rs_settings, as_http):
    """`async with files() as (client, ran)`: the Files server protected and running; `ran` lists what ran."""

    @contextlib.asynccontextmanager
    async def start():
        ran: list[str] = []
        app = protect(files_server(ran), dataclasses.replace(rs_settings, stateless=True), http=as_http)
        async with running(app):
            yield httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8001"), ran

    return start


def call(name: str, arguments: dict | None = None, method: str = "tools/call", key: str = "name") -> dict:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": {key: name, "arguments": arguments or {}}}


def sse_result(response: httpx.Response) -> dict:
    """The JSON-RPC result carried by the transport's SSE answer."""
    [data] = [line.removeprefix("data:") for line in response.text.splitlines() if line.startswith("data:")]
    return json.loads(data)["result"]


async def test_a_marked_tool_without_its_scope_is_403_before_it_runs(files, scripted_as):
    async with files() as (client, ran):
        scripted_as.active("t1", scope="mcp")

        response = await client.post("/mcp", json=call("delete_file", {"path": "/etc"}), headers=HEADERS)

        assert response.status_code == 403
        assert response.headers["www-authenticate"] == (
            f'Bearer error="insufficient_scope", scope="mcp files:write", resource_metadata="{METADATA_URL}", '
            'error_description="this call needs the scopes: files:write"'
        )
        assert ran == []


async def test_the_challenge_names_every_scope_the_call_needs(files, scripted_as):
    async with files() as (client, ran):
        scripted_as.active("t1", scope="mcp files:write")  # has one of the two

        response = await client.post("/mcp", json=call("wipe"), headers=HEADERS)

        assert response.status_code == 403
        assert 'scope="mcp files:admin files:write"' in response.headers["www-authenticate"]
        assert ran == []


async def test_with_the_scope_the_tool_runs(files, scripted_as):
    async with files() as (client, ran):
        scripted_as.active("t1", scope="mcp files:write")

        response = await client.post("/mcp", json=call("delete_file", {"path": "/tmp/x"}), headers=HEADERS)

        assert response.status_code == 200, response.text
        assert "deleted" in response.text and ran == ["delete /tmp/x"]


async def test_unmarked_tools_need_only_the_required_scopes(files, scripted_as):
    async with files() as (client, ran):
        scripted_as.active("t1", scope="mcp")

        response = await client.post("/mcp", json=call("read_file", {"path": "delete_file"}), headers=HEADERS)

        assert response.status_code == 200 and ran == ["read delete_file"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc":"2.0","id":1,"method":"tools\\/call","params":{"name":"delete_file","arguments":{"path":"a"}}}',
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete\\u005ffile","arguments":{"path":"a"}}}',
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","name":"delete_file",'
        b'"arguments":{"path":"a"}}}',
        b'[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_file","arguments":{"path":"a"}}}]',
        json.dumps(call("delete_file", {"path": "a"})).encode("utf-16"),
    ],
    ids=["escaped-method", "escaped-name", "duplicate-key", "batch", "utf-16"],
)
async def test_spellings_of_a_marked_call_are_all_challenged(files, scripted_as, body):
    async with files() as (client, ran):
        scripted_as.active("t1", scope="mcp")

        response = await client.post("/mcp", content=body, headers={**HEADERS, "Content-Type": "application/json"})

        assert response.status_code == 403 and ran == []


async def test_marked_resources_and_prompts(files, scripted_as):
    async with files() as (client, ran):
        scripted_as.active("t1", scope="mcp")

        read = await client.post(
            "/mcp", json=call("files://notes", method="resources/read", key="uri"), headers=HEADERS
        )
        prompt = await client.post("/mcp", json=call("summarize", {"path": "a"}, method="prompts/get"), headers=HEADERS)

        assert read.status_code == prompt.status_code == 403
        assert 'scope="mcp files:read"' in read.headers["www-authenticate"]
        assert ran == []


async def test_tools_are_listed_with_the_scopes_they_need(files, scripted_as):
    async with files() as (client, _):
        scripted_as.active("t1", scope="mcp")

        response = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=HEADERS)

        tools = {tool["name"]: tool for tool in sse_result(response)["tools"]}
        assert set(tools) == {"read_file", "delete_file", "wipe"}  # listed to every token: step-up needs a name
        assert tools["delete_file"]["_meta"] == {META_KEY: ["files:write"]}
        assert tools["wipe"]["_meta"] == {META_KEY: ["files:admin", "files:write"]}
        assert "_meta" not in tools["read_file"] or not tools["read_file"]["_meta"]


async def test_metadata_lists_every_scope_and_the_401_only_the_required(files):
    async with files() as (client, _):
        metadata = (await client.get("/.well-known/oauth-protected-resource/mcp")).json()
        challenge = (await client.post("/mcp", json=call("wipe"))).headers["www-authenticate"]

        assert metadata["scopes_supported"] == ["mcp", "files:admin", "files:read", "files:write"]
        assert metadata["resource_name"] == "Files"  # the server's own name when MCP_SERVER_NAME is unset
        assert challenge == f'Bearer scope="mcp", resource_metadata="{METADATA_URL}"'


async def test_a_marked_tool_refuses_a_caller_without_the_scope_even_without_the_guard():
    ran: list[str] = []
    server = files_server(ran)

    with pytest.raises(ToolError, match="files:write"):  # the client reads this message; nothing ran
        await server.call_tool("delete_file", {"path": "a"})  # no token at all in this context

    assert ran == []


def test_offline_access_is_never_a_tool_scope():
    with pytest.raises(ValueError, match="offline_access"):
        requires_scopes("offline_access")
    with pytest.raises(ValueError):
        requires_scopes()


def test_subscriptions_and_completions_of_marked_items_need_their_scopes_too():
    policy = ScopePolicy.from_server(files_server([]), required=["mcp"])
    completion = {"jsonrpc": "2.0", "id": 1, "method": "completion/complete"}

    subscribe = {"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": "files://secret"}}
    of_prompt = {**completion, "params": {"ref": {"type": "ref/prompt", "name": "summarize"}, "argument": {}}}
    of_template = {**completion, "params": {"ref": {"type": "ref/resource", "uri": "files://{name}"}, "argument": {}}}

    for message in (subscribe, of_prompt, of_template):
        assert policy.needed_for(json.dumps(message).encode()) == {"files:read"}, message


def test_a_marked_name_outside_ascii_is_found_in_its_literal_utf8_spelling():
    server = MCPServer("Accents")

    @server.tool()
    @requires_scopes("files:write")
    async def café() -> str:
        return "☕"

    policy = ScopePolicy.from_server(server, required=["mcp"])
    body = json.dumps(call("café"), ensure_ascii=False).encode()  # no backslash: no escape to hint at it

    assert b"\\" not in body and policy.needed_for(body) == {"files:write"}


def test_bodies_that_cannot_name_a_marked_item_are_not_parsed():
    policy = ScopePolicy.from_server(files_server([]), required=["mcp"])
    unparseable = b'{"method": "tools/call", "params": {"name": "read_file"' + b"x" * 1000  # not even JSON

    assert policy.needed_for(unparseable) == frozenset()  # no marker: parsing would have been the only way in
    assert policy.needed_for(json.dumps(call("delete_file")).encode()) == {"files:write"}
    assert SERVER_URL  # the same RS settings as the guard tests
