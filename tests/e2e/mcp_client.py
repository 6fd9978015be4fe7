"""The real MCP client: the SDK's OAuthClientProvider over streamable HTTP, with a scripted browser."""

import contextlib
import json

import httpx2
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from mcp.types import TextContent

from tests.e2e.browser import approve, query

CALLBACK = "http://127.0.0.1:33419/callback"


class MemoryStorage:
    def __init__(self):
        self.tokens = None
        self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


class ScriptedBrowser:
    """What the SDK asks of a desktop app: open this URL; later, hand back what the callback received."""

    def __init__(self, allow: bool = True):
        self.allow = allow
        self.authorize_urls: list[str] = []
        self.consent_pages: list[str] = []
        self.location: str | None = None

    async def redirect(self, url: str) -> None:
        self.authorize_urls.append(url)
        self.location = await approve(url, allow=self.allow, pages=self.consent_pages)

    async def callback(self) -> AuthorizationCodeResult:
        params = query(self.location)
        if "code" not in params:
            raise RuntimeError(f"authorization failed: {params}")
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))


def oauth_provider(server_url: str, storage: MemoryStorage, browser: ScriptedBrowser) -> OAuthClientProvider:
    return OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(client_name="e2e MCP client", redirect_uris=[CALLBACK]),
        storage=storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
    )


@contextlib.asynccontextmanager
async def mcp_session(server_url: str, *, auth=None, headers=None):
    async with (
        httpx2.AsyncClient(auth=auth, headers=headers, timeout=30) as http,
        streamable_http_client(server_url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def call_json(session: ClientSession, tool: str, arguments: dict | None = None):
    result = await session.call_tool(tool, arguments or {})
    assert not result.is_error, result
    text = next(content.text for content in result.content if isinstance(content, TextContent))
    return json.loads(text)
