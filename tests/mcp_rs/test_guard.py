"""The RS's HTTP behaviour in front of the MCP endpoint: challenges, rejections, metadata, legacy routes."""

import httpx
import pytest

from mcp_rs.app import create_app
from tests.mcp_rs.conftest import ISSUER, SERVER_URL

METADATA_URL = "http://127.0.0.1:8001/.well-known/oauth-protected-resource/mcp"


@pytest.fixture
def rs(rs_settings, as_http):
    app = create_app(rs_settings, http=as_http)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8001")


async def test_no_token_gets_a_challenge_without_error(rs):
    response = await rs.post("/mcp", json={})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == f'Bearer scope="mcp", resource_metadata="{METADATA_URL}"'


async def test_invalid_token_gets_invalid_token(rs):
    response = await rs.post("/mcp", json={}, headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge and f'resource_metadata="{METADATA_URL}"' in challenge


async def test_missing_scope_gets_403_insufficient_scope(rs, scripted_as):
    scripted_as.active("t1", scope="other")

    response = await rs.post("/mcp", json={}, headers={"Authorization": "Bearer t1"})

    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert 'scope="mcp"' in response.headers["www-authenticate"]


async def test_token_in_query_string_is_rejected(rs, scripted_as):
    scripted_as.active("t1")

    response = await rs.post("/mcp?access_token=t1", json={})

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert scripted_as.calls == []  # never even looked at


async def test_as_down_is_503_not_a_pass(rs, scripted_as):
    scripted_as.failure = httpx.ConnectError("refused")

    response = await rs.post("/mcp", json={}, headers={"Authorization": "Bearer t1"})

    assert response.status_code == 503 and response.json()["error"] == "temporarily_unavailable"


async def test_protected_resource_metadata(rs):
    response = await rs.get("/.well-known/oauth-protected-resource/mcp")

    assert response.status_code == 200
    assert response.json() == {
        "resource": SERVER_URL,
        "authorization_servers": [ISSUER],
        "scopes_supported": ["mcp", "notes:write"],  # the demo's add_note needs notes:write
        "bearer_methods_supported": ["header"],
        "resource_name": "Demo MCP server",
    }


async def test_legacy_authorize_redirects_to_the_as_with_the_query(rs):
    response = await rs.get("/authorize?response_type=code&client_id=c")

    assert response.status_code == 302
    assert response.headers["location"] == f"{ISSUER}/authorize/?response_type=code&client_id=c"
