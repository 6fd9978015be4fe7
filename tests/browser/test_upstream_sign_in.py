"""A person in Chromium signs in through an upstream OpenID Connect provider for an MCP client: the SDK's client
asks, Chromium does the person's part (our login page, the provider's login and consent, our consent), and
`whoami` at the MCP server names the user the provider's identity is linked to."""

import os

import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import OAuthClientMetadata

from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS
from tests.browser.test_people import CALLBACK, DOCS
from tests.e2e.mcp_client import MemoryStorage, ScriptedBrowser, call_json, mcp_session
from tests.identity.upstream.people import PASSWORD


@pytest.fixture(scope="module")
def corp_stack(stack, upstream_provider):
    """The module's AS with the test provider added as an operator would, as "Corp SSO"."""
    first = stack.manage(
        "add_identity_provider", "--id", "corp", "--name", "Corp SSO", "--issuer", upstream_provider.issuer,
        "--client-id", "not-yet", "--client-secret", "not-yet",
    )  # fmt: skip
    redirect_uri = first.splitlines()[-1].removeprefix("Redirect URI: ")
    client_id, secret = upstream_provider.register_client(redirect_uri)
    stack.manage("add_identity_provider", "--id", "corp", "--name", "Corp SSO", "--issuer",
                 upstream_provider.issuer, f"--client-id={client_id}", f"--client-secret={secret}")  # fmt: skip
    return stack


class ChromiumPerson(ScriptedBrowser):
    """The SDK's redirect handler opens the authorization URL in Chromium; a person clicks through."""

    def __init__(self, page, screenshots):
        super().__init__()
        self.page = page
        self.screenshots = screenshots

    async def redirect(self, url: str) -> None:
        self.authorize_urls.append(url)
        page = self.page
        await page.goto(url)
        await page.wait_for_selector("button.provider")
        await self.screenshots(page)
        await page.click("text=Sign in with Corp SSO")
        await page.fill("input[name=username]", "carol")  # the provider's own login page
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.click("input[name=allow]")  # the provider asks carol to share her identity with this AS
        await page.wait_for_selector("#authorizationForm")  # back at the AS: the MCP client's consent page
        assert "carol" in await page.inner_text("header")
        await page.click("button[name=allow]")
        await page.wait_for_url(f"{CALLBACK}*")
        self.location = page.url


async def test_chromium_signs_in_upstream_for_the_sdk_client(corp_stack, tmp_path):
    from playwright.async_api import async_playwright

    async def screenshots(page):
        await page.screenshot(path=str(tmp_path / "sign-in.png"), full_page=True)
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            await page.screenshot(path=str(DOCS / "sign-in.png"), full_page=True)

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = await (await chromium.new_context(viewport={"width": 1100, "height": 800})).new_page()
        person, storage = ChromiumPerson(page, screenshots), MemoryStorage()
        auth = OAuthClientProvider(
            server_url=corp_stack.server_url,
            client_metadata=OAuthClientMetadata(client_name="Chromium MCP client", redirect_uris=[CALLBACK]),
            storage=storage,
            redirect_handler=person.redirect,
            callback_handler=person.callback,
        )
        async with mcp_session(corp_stack.server_url, auth=auth) as session:
            me = await call_json(session, "whoami")
        await chromium.close()

    assert me["username"] == "carol" and me["audience"] == corp_stack.server_url
    assert "code_challenge_method=S256" in person.authorize_urls[0]
