"""Registration governance: redirect URI policy, stored metadata, modes, limits, duplicates, pruning."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import get_application_model

from conftest import REDIRECT_URI
from oauth_app.models import ClientRegistration, InitialAccessToken
from oauth_app.registration import redirect_uri_problem
from oauth_app.services import initial_access_token_create
from tests.oauth_app.flow import exchange_code, obtain_code

pytestmark = pytest.mark.django_db


def register(client, metadata=None, **headers):
    body = {"client_name": "Some MCP client", "redirect_uris": ["http://127.0.0.1:5000/callback"], **(metadata or {})}
    return client.post("/register/", json.dumps(body), content_type="application/json", **headers)


@pytest.mark.parametrize(
    "uri",
    [
        "https://claude.ai/api/mcp/auth_callback",
        "https://chatgpt.com/connector_platform_oauth_redirect",
        "cursor://anysphere.cursor-retrieval/oauth/user-demo/callback",
        "vscode://vscode.github-authentication/did-authenticate",
        "https://vscode.dev/redirect",
        "http://127.0.0.1:33418/",
        "http://localhost:6274/oauth/callback",
        "http://[::1]:8080/cb",
        "claude://callback",
    ],
)
def test_redirect_uris_of_real_mcp_clients_are_accepted(client, rs_credentials, uri):
    assert redirect_uri_problem(uri) is None
    response = register(client, {"redirect_uris": [uri]})
    assert response.status_code == 201, response.content


def test_reverse_dns_schemes_are_accepted_once_enabled(client, settings):
    uri = "com.example.app:/oauth2redirect"
    assert register(client, {"redirect_uris": [uri]}).json()["error"] == "invalid_redirect_uri"

    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "ALLOWED_REDIRECT_URI_SCHEMES": [*settings.OAUTH2_PROVIDER["ALLOWED_REDIRECT_URI_SCHEMES"], "com.example.app"],
    }

    assert register(client, {"redirect_uris": [uri]}).status_code == 201


@pytest.mark.parametrize(
    "uri",
    [
        "http://evil.example/cb",
        "http://127.0.0.1.evil.example/cb",
        "javascript:alert(1)",
        "data:text/html,hi",
        "file:///etc/passwd",
        "https://app.example/cb#frag",
        "https://user@app.example/cb",
        "https:///no-host",
        "relative/path",
        "",
        "http://localhost:99999/cb",
    ],
)
def test_dangerous_redirect_uris_are_refused(client, uri):
    assert redirect_uri_problem(uri) is not None
    response = register(client, {"redirect_uris": [uri]})
    assert response.status_code == 400 and response.json()["error"] == "invalid_redirect_uri"


def test_registered_metadata_is_validated_and_stored(client, rs_credentials):
    response = register(
        client,
        {
            "application_type": "native",
            "client_uri": "https://client.example",
            "logo_uri": "https://client.example/logo.png",
            "software_id": "com.example.mcp",
            "software_version": "1.2.3",
            "contacts": ["ops@client.example"],
            "scope": "mcp",
        },
        REMOTE_ADDR="203.0.113.7",
    )

    assert response.status_code == 201, response.content
    registration = ClientRegistration.objects.get(application__client_id=response.json()["client_id"])
    assert registration.software_id == "com.example.mcp" and registration.software_version == "1.2.3"
    assert registration.contacts == ["ops@client.example"] and registration.scope == "mcp"
    assert registration.logo_uri == "https://client.example/logo.png"
    assert registration.registered_from == "203.0.113.7"


@pytest.mark.parametrize(
    "metadata",
    [
        {"logo_uri": "http://client.example/logo.png"},
        {"client_uri": "javascript:alert(1)"},
        {"application_type": "desktop"},
        {"contacts": "ops@client.example"},
        {"scope": "mcp admin"},
        {"software_id": "x" * 1000},
        {"redirect_uris": ["https://a.example/cb"] * 11},
    ],
)
def test_invalid_metadata_is_refused(client, rs_credentials, metadata):
    response = register(client, metadata)

    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_client_metadata", "invalid_redirect_uri"}


def test_closed_mode_refuses_everyone(client, settings):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "REGISTRATION_MODE": "closed"}

    response = register(client)

    assert response.status_code == 403 and response.json()["error"] == "access_denied"


def test_token_mode_needs_a_live_initial_access_token(client, settings):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "REGISTRATION_MODE": "token"}
    raw = initial_access_token_create(label="Cursor rollout", max_uses=1)

    assert register(client).status_code == 401
    assert register(client, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401
    assert register(client, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 201
    assert register(client, {"client_name": "second"}, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert InitialAccessToken.objects.get().uses == 1
    assert raw not in InitialAccessToken.objects.get().token_checksum


def test_expired_initial_access_token_is_refused(client, settings):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "REGISTRATION_MODE": "token"}
    raw = initial_access_token_create(label="old", expires_at=timezone.now() - timedelta(seconds=1))

    assert register(client, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_registrations_per_ip_are_rate_limited(client, settings):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "REGISTRATION_RATE": "3/h"}

    statuses = [register(client, {"client_name": f"c{i}"}).status_code for i in range(4)]

    assert statuses == [201, 201, 201, 429]
    limited = register(client, {"client_name": "again"})
    assert limited.status_code == 429 and limited["Retry-After"] == "3600"
    assert limited.json()["error"] == "slow_down"
    assert register(client, {"client_name": "elsewhere"}, REMOTE_ADDR="198.51.100.9").status_code == 201


def test_live_self_registered_clients_are_capped(client, settings):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "REGISTRATION_MAX_CLIENTS": 2}

    statuses = [register(client, {"client_name": f"c{i}"}).status_code for i in range(3)]

    assert statuses == [201, 201, 429]
    assert get_application_model().objects.count() == 2


def test_identical_registration_from_the_same_ip_returns_the_same_client(client):
    first = register(client).json()
    again = register(client)

    assert again.status_code == 201
    assert again.json()["client_id"] == first["client_id"]
    assert "registration_access_token" not in again.json()
    assert get_application_model().objects.count() == 1
    assert register(client, REMOTE_ADDR="198.51.100.9").json()["client_id"] != first["client_id"]
    assert register(client, {"client_name": "other"}).json()["client_id"] != first["client_id"]


def test_prune_deletes_only_old_clients_that_never_got_a_token(client, user, pkce, rs_credentials):
    unused = register(client, {"client_name": "unused"}).json()["client_id"]
    used = register(client, {"client_name": "used", "redirect_uris": [REDIRECT_URI]}).json()["client_id"]
    fresh = register(client, {"client_name": "fresh"}).json()["client_id"]
    client.force_login(user)
    code = obtain_code(client, used, pkce)
    assert exchange_code(client, used, code, pkce).status_code == 200
    Application = get_application_model()
    Application.objects.filter(client_id__in=[unused, used]).update(created=timezone.now() - timedelta(hours=25))

    out = io.StringIO()
    call_command("prune_registrations", stdout=out)

    assert "deleted 1" in out.getvalue()
    assert set(Application.objects.filter(registration_source="dcr").values_list("client_id", flat=True)) == {
        used,
        fresh,
    }


@pytest.mark.parametrize(
    "update",
    [
        {"redirect_uris": ["http://evil.example/cb"]},
        {"redirect_uris": ["http://127.0.0.1:5000/callback"], "client_name": "a\x00b"},
        {"redirect_uris": ["http://127.0.0.1:5000/callback"], "grant_types": ["client_credentials"]},
    ],
    ids=["remote-http-redirect", "nul-name", "client-credentials"],
)
def test_rfc7592_updates_are_held_to_the_same_policy(client, update):
    registered = register(client).json()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {registered['registration_access_token']}"}

    response = client.put(
        f"/register/{registered['client_id']}/", json.dumps(update), content_type="application/json", **headers
    )

    assert response.status_code == 400
    application = get_application_model().objects.get(client_id=registered["client_id"])
    assert application.redirect_uris == "http://127.0.0.1:5000/callback"


def test_rfc7592_update_within_the_policy_is_applied(client):
    registered = register(client).json()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {registered['registration_access_token']}"}
    update = {"client_name": "Renamed", "redirect_uris": ["https://client.example/cb"]}

    response = client.put(
        f"/register/{registered['client_id']}/", json.dumps(update), content_type="application/json", **headers
    )

    assert response.status_code == 200, response.content
    application = get_application_model().objects.get(client_id=registered["client_id"])
    assert application.name == "Renamed" and application.redirect_uris == "https://client.example/cb"
    assert application.client_type == "public"  # an omitted auth method stays public on update too
