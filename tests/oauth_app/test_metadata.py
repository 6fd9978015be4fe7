import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_metadata_names_every_endpoint_under_the_exact_issuer(client, rs_credentials):
    response = client.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    document = response.json()
    issuer = settings.OAUTH_ISSUER
    assert document["issuer"] == issuer  # RFC 8414 §3.3: byte for byte
    assert document["authorization_endpoint"] == f"{issuer}/authorize/"
    assert document["token_endpoint"] == f"{issuer}/token/"
    assert document["registration_endpoint"] == f"{issuer}/register/"
    assert document["introspection_endpoint"] == f"{issuer}/introspect/"
    assert document["revocation_endpoint"] == f"{issuer}/revoke_token/"


def test_metadata_advertises_only_what_the_endpoints_accept(client, rs_credentials):
    document = client.get("/.well-known/oauth-authorization-server").json()

    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["response_types_supported"] == ["code"]
    # client_credentials and jwt-bearer: only for clients staff enabled (tests/oauth_app/test_machine_clients.py).
    assert set(document["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    }
    assert "none" in document["token_endpoint_auth_methods_supported"]
    assert document["introspection_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    # The default server's scopes, and the AS's own offline_access (MCP 2026-07-28, "Refresh Tokens").
    assert document["scopes_supported"] == ["mcp", "notes:write", "offline_access"]
