"""2025-03-26 clients know no RFC 9728 and send no `resource`: they look for AS metadata on the MCP origin,
or fall back to /authorize, /token and /register there. They must still end up with a token for this server."""

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import httpx
import pytest

from tests.e2e.browser import approve, query
from tests.e2e.mcp_client import CALLBACK, call_json, mcp_session


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def legacy_flow(endpoints: dict[str, str]) -> str:
    """What a 2025-03-26 client does once it has endpoints: register, authorize (no resource), exchange."""
    async with httpx.AsyncClient(timeout=10) as http:
        registration = await http.post(
            endpoints["registration_endpoint"], json={"client_name": "legacy client", "redirect_uris": [CALLBACK]}
        )
        assert registration.status_code == 201, registration.text
        client_id = registration.json()["client_id"]
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "state": "legacy-state",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        answer = query(await approve(f"{endpoints['authorization_endpoint']}?{urlencode(params)}"))
        assert answer["state"] == "legacy-state"
        token = await http.post(
            endpoints["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": CALLBACK,
                "client_id": client_id,
                "code_verifier": verifier,
            },
        )
        assert token.status_code == 200, token.text
        return token.json()["access_token"]


async def whoami(server_url: str, token: str) -> dict:
    async with mcp_session(server_url, headers={"Authorization": f"Bearer {token}"}) as session:
        return await call_json(session, "whoami")


async def test_metadata_on_the_mcp_origin_leads_to_the_django_as(stack):
    metadata = httpx.get(f"{stack.rs_origin}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == stack.issuer  # the AS's own document, unaltered

    token = await legacy_flow(metadata)

    me = await whoami(stack.server_url, token)
    assert me["username"] == "alice" and me["audience"] == stack.server_url


async def test_default_endpoints_on_the_mcp_origin_work_too(stack):
    endpoints = {
        "registration_endpoint": f"{stack.rs_origin}/register",
        "authorization_endpoint": f"{stack.rs_origin}/authorize",
        "token_endpoint": f"{stack.rs_origin}/token",
    }

    token = await legacy_flow(endpoints)

    me = await whoami(stack.server_url, token)
    assert me["username"] == "alice" and me["audience"] == stack.server_url


@pytest.mark.parametrize("path", ["/token", "/register"])
def test_forwarded_endpoints_keep_the_as_errors(stack, path):
    response = httpx.post(f"{stack.rs_origin}{path}", content=b"{", headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert "error" in response.json()
