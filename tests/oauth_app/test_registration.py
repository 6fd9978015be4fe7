import json

import pytest
from oauth2_provider.models import get_application_model

pytestmark = pytest.mark.django_db

METADATA = {"client_name": "Some MCP client", "redirect_uris": ["http://127.0.0.1:5000/callback"]}


def register(client, metadata):
    return client.post("/register/", json.dumps(metadata), content_type="application/json")


def test_registration_without_auth_method_makes_a_public_client(client):
    response = register(client, {**METADATA, "grant_types": ["authorization_code", "refresh_token"]})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in body
    assert isinstance(body["client_id_issued_at"], int)
    assert get_application_model().objects.get(client_id=body["client_id"]).client_type == "public"


def test_confidential_registration_when_asked_for(client):
    response = register(client, {**METADATA, "token_endpoint_auth_method": "client_secret_basic"})

    assert response.status_code == 201
    body = response.json()
    assert body["client_secret"] and body["client_secret_expires_at"] == 0


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", json.dumps({**METADATA, "redirect_uris": "http://x"}), json.dumps({"client_name": "x"})],
    ids=["not-json", "array", "uris-not-list", "no-redirect-uris"],
)
def test_bad_registrations_get_rfc7591_errors(client, body):
    response = client.post("/register/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_client_metadata", "invalid_redirect_uri"}


@pytest.mark.parametrize(
    "grant_types",
    [["client_credentials"], ["implicit"], ["password"], ["urn:ietf:params:oauth:grant-type:device_code"]],
)
def test_only_authorization_code_clients_can_register(client, grant_types):
    response = register(
        client, {**METADATA, "grant_types": grant_types, "token_endpoint_auth_method": "client_secret_basic"}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert not get_application_model().objects.exists()


def test_no_client_gets_a_token_without_a_user(client, rs_credentials):
    # Even the resource server's own confidential client, which holds a client_credentials grant type.
    response = client.post(
        "/token/",
        {"grant_type": "client_credentials", "client_id": rs_credentials[0], "client_secret": rs_credentials[1]},
    )

    assert response.status_code in (400, 401)
    assert response.json()["error"] in {"unauthorized_client", "unsupported_grant_type", "invalid_client"}
