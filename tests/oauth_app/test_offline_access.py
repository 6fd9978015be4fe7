"""`offline_access` (MCP 2026-07-28 "Refresh Tokens", SEP-2207): advertised by the AS, accepted with any resource,
never a resource's scope; OAUTH_REFRESH_REQUIRES_OFFLINE_ACCESS decides whether it is needed for a refresh token."""

import json

import pytest
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from conftest import REDIRECT_URI
from oauth_app.models import ClientRegistration, ProtectedResource
from oauth_app.services import resource_register, resource_server_register
from tests.html_forms import form_fields
from tests.oauth_app import cimd_server
from tests.oauth_app.flow import authorize_url, consent, exchange_code, obtain_code, redirect_params
from tests.oauth_app.introspection import introspect

pytestmark = pytest.mark.django_db

NOTES = "https://notes.example.com/mcp"


@pytest.fixture
def browser(client, user, rs_credentials):
    client.force_login(user)
    return client


@pytest.fixture
def requires_offline_access(settings):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "REFRESH_REQUIRES_OFFLINE_ACCESS": True}


def token_for(browser, client, public_client, pkce, **params):
    code = obtain_code(browser, public_client.client_id, pkce, **params)
    response = exchange_code(client, public_client.client_id, code, pkce, resource=params.get("resource"))
    assert response.status_code == 200, response.content
    return response.json()


def refresh(client, client_id: str, refresh_token: str, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id, **extra}
    return client.post("/token/", data)


def test_the_as_metadata_lists_offline_access_and_no_resource_has_it(client, rs_credentials):
    resource_server_register(uri=NOTES, name="Notes", scopes={"notes:read": "Read notes"})

    document = client.get("/.well-known/oauth-authorization-server").json()

    assert "offline_access" in document["scopes_supported"]
    assert ProtectedResource.objects.count() == 2
    assert all("offline_access" not in resource.scopes for resource in ProtectedResource.objects.all())


def test_offline_access_is_asked_in_words_and_granted_with_a_refresh_token(browser, client, public_client, pkce):
    page = browser.get(authorize_url(public_client.client_id, pkce, scope="mcp offline_access"))
    assert page.status_code == 200 and "Stay connected when you are away" in page.content.decode()

    tokens = token_for(browser, client, public_client, pkce, scope="mcp offline_access")

    assert tokens["scope"] == "mcp offline_access" and tokens["refresh_token"]


def test_offline_access_goes_with_any_registered_resource(browser, client, public_client, pkce):
    notes = resource_server_register(uri=NOTES, name="Notes", scopes={"notes:read": "Read notes"})

    tokens = token_for(browser, client, public_client, pkce, resource=NOTES, scope="notes:read offline_access")

    claims = introspect(client, (notes.client_id, notes.client_secret), tokens["access_token"])
    assert claims["aud"] == NOTES
    # Kept in the token's scope: it is what was granted (RFC 7662 `scope`), and the RS checks only its own scopes.
    assert claims["scope"] == "notes:read offline_access"


def test_other_resources_scopes_are_still_refused(browser, public_client, pkce):
    resource_register(uri=NOTES, name="Notes", scopes={"notes:read": "Read notes"})

    response = browser.get(authorize_url(public_client.client_id, pkce, scope="notes:read offline_access"))

    assert response.status_code == 302 and redirect_params(response)["error"] == "invalid_scope"


@pytest.mark.parametrize("narrowed", ["mcp offline_access", "offline_access", "mcp"])
def test_refresh_with_a_scope_subset(browser, client, public_client, pkce, rs_credentials, narrowed):
    tokens = token_for(browser, client, public_client, pkce, scope="mcp offline_access")

    response = refresh(client, public_client.client_id, tokens["refresh_token"], scope=narrowed)

    assert response.status_code == 200, response.content
    assert response.json()["scope"] == narrowed and response.json()["refresh_token"]  # the setting is off
    assert introspect(client, rs_credentials, response.json()["access_token"])["scope"] == narrowed


def test_refresh_cannot_add_offline_access_it_was_not_granted(browser, client, public_client, pkce):
    tokens = token_for(browser, client, public_client, pkce, scope="mcp")

    response = refresh(client, public_client.client_id, tokens["refresh_token"], scope="mcp offline_access")

    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_by_default_clients_that_do_not_ask_for_it_still_get_refresh_tokens(browser, client, public_client, pkce):
    tokens = token_for(browser, client, public_client, pkce, scope="mcp")

    assert tokens["refresh_token"]
    assert refresh(client, public_client.client_id, tokens["refresh_token"]).json()["refresh_token"]


def test_when_required_no_offline_access_means_no_refresh_token(
    requires_offline_access, browser, client, public_client, pkce, rs_credentials
):
    tokens = token_for(browser, client, public_client, pkce, scope="mcp")

    assert "refresh_token" not in tokens
    assert not get_refresh_token_model().objects.exists()
    assert introspect(client, rs_credentials, tokens["access_token"])["active"] is True


def test_when_required_offline_access_gets_a_rotating_refresh_token(
    requires_offline_access, browser, client, public_client, pkce
):
    tokens = token_for(browser, client, public_client, pkce, scope="mcp offline_access")

    rotated = refresh(client, public_client.client_id, tokens["refresh_token"]).json()

    assert tokens["refresh_token"] and rotated["refresh_token"] not in {None, tokens["refresh_token"]}


def test_when_required_a_refresh_that_drops_offline_access_ends_offline_access(
    requires_offline_access, browser, client, public_client, pkce, rs_credentials
):
    tokens = token_for(browser, client, public_client, pkce, scope="mcp offline_access")

    narrowed = refresh(client, public_client.client_id, tokens["refresh_token"], scope="mcp")

    assert narrowed.status_code == 200 and "refresh_token" not in narrowed.json()
    assert introspect(client, rs_credentials, narrowed.json()["access_token"])["scope"] == "mcp"
    # The presented refresh token was spent, as rotation would have: no refresh token of the family is left.
    assert refresh(client, public_client.client_id, tokens["refresh_token"]).status_code == 400
    assert not get_refresh_token_model().objects.filter(revoked__isnull=True).exists()


def test_when_required_a_replayed_code_still_revokes_the_access_token_it_gave(
    requires_offline_access, browser, client, public_client, pkce, rs_credentials
):
    code = obtain_code(browser, public_client.client_id, pkce, scope="mcp")
    first = exchange_code(client, public_client.client_id, code, pkce).json()
    assert "refresh_token" not in first

    replay = exchange_code(client, public_client.client_id, code, pkce)

    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert introspect(client, rs_credentials, first["access_token"]) == {"active": False}
    assert not get_access_token_model().objects.exists()


def test_registration_accepts_offline_access_and_still_refuses_unknown_scopes(client, rs_credentials):
    def register(scope):
        metadata = {"client_name": "SDK client", "redirect_uris": [REDIRECT_URI], "scope": scope}
        return client.post("/register/", json.dumps(metadata), content_type="application/json")

    accepted = register("mcp offline_access")
    refused = register("mcp offline_access admin")

    assert accepted.status_code == 201, accepted.content
    assert ClientRegistration.objects.get(application__client_id=accepted.json()["client_id"]).scope == (
        "mcp offline_access"
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata"


@pytest.fixture
def document_server(tmp_path, settings):
    server = cimd_server.DocumentServer(tmp_path)
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "CIMD_METADATA_FETCHER": "tests.oauth_app.cimd_server.LoopbackDocumentFetcher",
    }
    yield server
    server.close()


def test_a_metadata_document_client_gets_offline_access(browser, client, document_server, pkce):
    client_id = document_server.publish(
        "/sdk.json", redirect_uris=[REDIRECT_URI], client_name="Doc Client", scope="mcp offline_access"
    )

    code = redirect_params(consent(browser, authorize_url(client_id, pkce, scope="mcp offline_access")))["code"]
    response = exchange_code(client, client_id, code, pkce)

    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "mcp offline_access" and response.json()["refresh_token"]


# --- prompt=consent, as the MCP SDK sends it with every offline_access request -------------------------------


def approve(browser, url, *, remember: bool):
    page = browser.get(url)
    assert page.status_code == 200, page.content[:300]
    fields, _ = form_fields(page.content.decode(), "authorizationForm")
    return browser.post(url, {**fields, "allow": "Authorize", **({"remember": "1"} if remember else {})})


def test_the_sdk_request_shape_gets_through_consent(browser, client, public_client, pkce):
    url = authorize_url(public_client.client_id, pkce, scope="mcp offline_access", prompt="consent")

    code = redirect_params(approve(browser, url, remember=False))["code"]

    response = exchange_code(client, public_client.client_id, code, pkce)
    assert response.status_code == 200 and response.json()["scope"] == "mcp offline_access"


def test_a_remembered_offline_approval_skips_the_page_despite_prompt_consent(browser, public_client, pkce):
    url = authorize_url(public_client.client_id, pkce, scope="mcp offline_access", prompt="consent")
    approve(browser, url, remember=True)

    again = browser.get(url)

    assert again.status_code == 302 and "code" in redirect_params(again)


def test_prompt_consent_without_offline_access_asks_again(browser, public_client, pkce):
    approve(browser, authorize_url(public_client.client_id, pkce, scope="mcp"), remember=True)

    assert browser.get(authorize_url(public_client.client_id, pkce, scope="mcp")).status_code == 302
    assert browser.get(authorize_url(public_client.client_id, pkce, scope="mcp", prompt="consent")).status_code == 200


def test_offline_access_not_yet_approved_is_asked_for_and_marked_new(browser, public_client, pkce):
    approve(browser, authorize_url(public_client.client_id, pkce, scope="mcp"), remember=True)

    page = browser.get(authorize_url(public_client.client_id, pkce, scope="mcp offline_access", prompt="consent"))

    assert page.status_code == 200
    assert '<span class="badge new">New</span> Stay connected when you are away' in page.content.decode()
