"""A client that knows only the MCP server's URL gets through discovery, registration, login, consent and
PKCE to a token bound to that server, and calls tools; the RS checks every token with the real AS."""

import time

import httpx
import pytest

from tests.e2e.browser import query
from tests.e2e.mcp_client import MemoryStorage, ScriptedBrowser, call_json, mcp_session, oauth_provider
from tests.e2e.stack import running_stack


async def test_sdk_client_discovers_registers_consents_and_calls_whoami(stack):
    storage, browser = MemoryStorage(), ScriptedBrowser()

    async with mcp_session(stack.server_url, auth=oauth_provider(stack.server_url, storage, browser)) as session:
        me = await call_json(session, "whoami")
        tools = {tool.name for tool in (await session.list_tools()).tools}
        echoed = await session.call_tool("echo", {"message": "hi"})
        # add_note needs notes:write: 403 insufficient_scope, and the SDK steps up by itself.
        await session.call_tool("add_note", {"text": "buy milk"})
        notes = await session.call_tool("list_notes", {})
        resource = await session.read_resource("info://server")
        prompt = await session.get_prompt("summarize_notes")

    assert me["username"] == "alice"
    assert me["audience"] == stack.server_url
    assert set(me["scopes"]) - {"offline_access"} == {"mcp"}  # whoami works with the `mcp` scope only
    assert me["client_id"] == storage.client_info.client_id
    assert {"whoami", "echo", "add_note", "list_notes"} <= tools
    assert echoed.content[0].text == "alice: hi"
    assert "buy milk" in str(notes.content)
    assert "alice" in resource.contents[0].text
    assert "buy milk" in prompt.messages[0].content.text
    # What the SDK sent to the AS: PKCE S256 and the RFC 8707 resource, to a public (secret-less) client.
    authorize_url, step_up_url = browser.authorize_urls
    assert "notes:write" not in query(authorize_url)["scope"] and "notes:write" in query(step_up_url)["scope"]
    assert "notes:write" in storage.tokens.scope.split()
    assert "code_challenge_method=S256" in authorize_url
    assert "resource=" in authorize_url
    assert storage.client_info.client_secret is None
    assert storage.client_info.token_endpoint_auth_method == "none"


async def test_consent_denied_means_no_token(stack):
    storage, browser = MemoryStorage(), ScriptedBrowser(allow=False)

    with pytest.raises(Exception):  # noqa: B017 - the SDK surfaces the denial as an exception group
        async with mcp_session(stack.server_url, auth=oauth_provider(stack.server_url, storage, browser)):
            pass

    assert storage.tokens is None
    answer = query(browser.location)
    assert answer["error"] == "access_denied" and answer["iss"] == stack.issuer


async def test_dev_token_works_with_curl_style_bearer(stack):
    token = stack.manage("issue_token", "alice").strip()

    async with mcp_session(stack.server_url, headers={"Authorization": f"Bearer {token}"}) as session:
        me = await call_json(session, "whoami")

    assert me["username"] == "alice" and me["client_id"] == "dev-token-issuer"


def test_unauthenticated_request_is_challenged(stack):
    response = httpx.post(stack.server_url, json={})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        f'Bearer scope="mcp", resource_metadata="{stack.rs_origin}/.well-known/oauth-protected-resource/mcp"'
    )


async def test_refresh_rotates_and_the_session_goes_on(tmp_path):
    with running_stack(tmp_path, OAUTH_ACCESS_TOKEN_LIFETIME="2") as stack:
        storage, browser = MemoryStorage(), ScriptedBrowser()
        async with mcp_session(stack.server_url, auth=oauth_provider(stack.server_url, storage, browser)) as session:
            first = storage.tokens
            assert (await call_json(session, "whoami"))["username"] == "alice"
            time.sleep(2.5)  # the access token has expired; the SDK refreshes before the next request
            me = await call_json(session, "whoami")

        assert storage.tokens.access_token != first.access_token
        assert storage.tokens.refresh_token != first.refresh_token  # rotated
        assert me["audience"] == stack.server_url
        assert len(browser.authorize_urls) == 1  # no second login


async def test_revoked_token_is_refused_once_the_cache_window_passes(tmp_path):
    with running_stack(tmp_path, MCP_TOKEN_CACHE_SECONDS="1") as stack:
        token = stack.manage("issue_token", "alice").strip()
        headers = {"Authorization": f"Bearer {token}"}
        async with mcp_session(stack.server_url, headers=headers) as session:
            await call_json(session, "whoami")

        response = httpx.post(f"{stack.issuer}/revoke_token/", data={"token": token, "client_id": "dev-token-issuer"})
        assert response.status_code == 200
        time.sleep(1.2)

        assert httpx.post(stack.server_url, json={}, headers=headers).status_code == 401


async def test_as_down_fails_fast_and_recovers_without_rs_restart(tmp_path):
    with running_stack(tmp_path, separately=True) as stack:
        token = stack.manage("issue_token", "alice").strip()
        stack.stop_as()

        started = time.monotonic()
        response = httpx.post(stack.server_url, json={}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        elapsed = time.monotonic() - started

        assert response.status_code == 503 and response.json()["error"] == "temporarily_unavailable"
        assert elapsed < 4  # bounded by MCP_INTROSPECTION_TIMEOUT (3 s); a refused connection is faster still

        stack.restart_as()
        async with mcp_session(stack.server_url, headers={"Authorization": f"Bearer {token}"}) as session:
            assert (await call_json(session, "whoami"))["username"] == "alice"
