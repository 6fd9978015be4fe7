"""A person signs in through an upstream OpenID Connect provider, end to end: the SDK's MCP client, the AS and the
RS (`make run`'s processes), and a real provider in a process of its own (tests/identity/upstream/)."""

import httpx

from tests.e2e.browser import approve_upstream
from tests.e2e.mcp_client import MemoryStorage, ScriptedBrowser, call_json, mcp_session, oauth_provider
from tests.e2e.stack import running_stack


class UpstreamBrowser(ScriptedBrowser):
    def __init__(self, username: str):
        super().__init__()
        self.username = username

    async def redirect(self, url: str) -> None:
        self.authorize_urls.append(url)
        self.location = await approve_upstream(url, provider_id="corp", username=self.username)


async def test_mcp_client_for_a_person_signed_in_upstream(tmp_path, upstream_provider):
    with running_stack(tmp_path) as stack:
        before = httpx.get(f"{stack.issuer}/accounts/login/").text  # no provider yet: the page of `make run`
        # The operator's steps: the command prints the redirect URI, the provider registers it, the command stores
        # the client it got.
        first = stack.manage(
            "add_identity_provider", "--id", "corp", "--name", "Corp SSO", "--issuer", upstream_provider.issuer,
            "--client-id", "not-yet", "--client-secret", "not-yet",
        )  # fmt: skip
        [redirect_uri] = [line.removeprefix("Redirect URI: ") for line in first.splitlines() if "Redirect URI" in line]
        client_id, secret = upstream_provider.register_client(redirect_uri)
        stack.manage("add_identity_provider", "--id", "corp", "--name", "Corp SSO", "--issuer",
                     upstream_provider.issuer, f"--client-id={client_id}", f"--client-secret={secret}")  # fmt: skip

        storage, browser = MemoryStorage(), UpstreamBrowser("carol")
        async with mcp_session(stack.server_url, auth=oauth_provider(stack.server_url, storage, browser)) as session:
            me = await call_json(session, "whoami")
            echoed = await session.call_tool("echo", {"message": "hi"})

    assert "Sign in with" not in before
    assert 'name="username"' in before and 'name="password"' in before
    assert redirect_uri == f"{stack.issuer}/accounts/oidc/corp/login/callback/"
    assert me["username"] == "carol" and me["audience"] == stack.server_url
    assert echoed.content[0].text == "carol: hi"
