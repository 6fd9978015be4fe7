"""A stand-in AS for the RS's unit tests: an httpx MockTransport answering introspection from a dict.

The RS logic under test (audience, expiry, caching, challenges) runs for real; only the AS's answers are
scripted, and the e2e tests run the same RS against the real Django AS.
"""

import time

import httpx
import pytest

from mcp_rs.settings import RSSettings

SERVER_URL = "http://127.0.0.1:8001/mcp"
ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def rs_settings() -> RSSettings:
    return RSSettings(
        server_url=SERVER_URL,
        issuer=ISSUER,
        as_url=ISSUER,
        client_id="mcp-resource-server",
        client_secret="rs-secret",
        cache_seconds=30,
    )


class ScriptedAS:
    """Answers POST /introspect/ with `answers[token]` (default inactive); records every call."""

    def __init__(self):
        self.answers: dict[str, dict] = {}
        self.calls: list[httpx.Request] = []
        self.failure: Exception | int | None = None

    def active(self, token: str, **claims) -> None:
        self.answers[token] = {
            "active": True,
            "scope": "mcp",
            "client_id": "client-1",
            "username": "alice",
            "sub": "1",
            "aud": SERVER_URL,
            "iss": ISSUER,
            "exp": int(time.time()) + 600,
            **claims,
        }

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if isinstance(self.failure, Exception):
            raise self.failure
        if isinstance(self.failure, int):
            return httpx.Response(self.failure, text="boom")
        token = dict(httpx.QueryParams(request.content.decode()))["token"]
        return httpx.Response(200, json=self.answers.get(token, {"active": False}))


@pytest.fixture
def scripted_as() -> ScriptedAS:
    return ScriptedAS()


@pytest.fixture
def as_http(scripted_as) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(scripted_as.handler))
