from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.shortcuts import resolve_url

from conftest import REDIRECT_URI
from tests.oauth_app.flow import authorize_url, consent, redirect_params

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, user):
    client.force_login(user)
    return client


def test_logged_out_user_is_sent_to_login_and_back(client, public_client, pkce):
    url = authorize_url(public_client.client_id, pkce)

    response = client.get(url)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == resolve_url(settings.LOGIN_URL) == "/accounts/login/"
    assert parse_qs(location.query)["next"] == [url]


def test_login_page_posts_back_to_the_authorization_request(client, user, public_client, pkce):
    url = authorize_url(public_client.client_id, pkce)
    login = client.get(client.get(url)["Location"])
    assert b'name="username"' in login.content and b'name="password"' in login.content

    response = client.post(
        login.request["PATH_INFO"] + "?" + login.request["QUERY_STRING"],
        {"username": "alice", "password": "correct horse battery", "next": url},
    )

    assert response.status_code == 302 and response["Location"] == url


def test_consent_page_names_client_resource_and_scopes_in_words(browser, public_client, pkce):
    page = browser.get(authorize_url(public_client.client_id, pkce))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Test MCP client" in html
    assert "Demo MCP server" in html and settings.MCP_SERVER_URL in html
    assert "Use this MCP server&#x27;s tools, resources and prompts as you" in html
    assert "127.0.0.1:33418" in html  # where the answer goes
    assert 'name="allow"' in html


def test_approval_redirects_with_code_state_and_exact_issuer(browser, public_client, pkce):
    params = redirect_params(consent(browser, authorize_url(public_client.client_id, pkce)))

    assert params["code"]
    assert params["state"] == "st4te"
    assert params["iss"] == settings.OAUTH_ISSUER


def test_submitting_without_allow_denies_with_iss(browser, public_client, pkce):
    params = redirect_params(consent(browser, authorize_url(public_client.client_id, pkce), allow=False))

    assert params["error"] == "access_denied"
    assert params["iss"] == settings.OAUTH_ISSUER
    assert "code" not in params


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge_method": "plain"},
        {"code_challenge_method": None},  # oauthlib would treat it as plain
        {"code_challenge": None, "code_challenge_method": None},
    ],
    ids=["plain", "method-missing", "no-pkce"],
)
def test_pkce_other_than_s256_is_refused_before_consent(browser, public_client, pkce, overrides):
    response = browser.get(authorize_url(public_client.client_id, pkce, **overrides))

    params = redirect_params(response)  # an error redirect, not a consent page
    assert params["error"] == "invalid_request"
    assert params["iss"] == settings.OAUTH_ISSUER
    assert params["state"] == "st4te"


def test_unknown_resource_is_invalid_target_before_consent(browser, public_client, pkce):
    response = browser.get(authorize_url(public_client.client_id, pkce, resource="https://elsewhere.example/mcp"))

    params = redirect_params(response)
    assert params["error"] == "invalid_target"
    assert params["iss"] == settings.OAUTH_ISSUER


def test_unsupported_scope_is_refused_before_consent(browser, public_client, pkce):
    params = redirect_params(browser.get(authorize_url(public_client.client_id, pkce, scope="mcp admin")))

    assert params["error"] == "invalid_scope"
    assert params["iss"] == settings.OAUTH_ISSUER


def test_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(browser, public_client, pkce):
    response = browser.get(authorize_url(public_client.client_id, pkce, redirect_uri="https://evil.example/cb"))

    assert response.status_code == 400
    assert "Location" not in response
    assert b"cannot be completed" in response.content


def test_unknown_client_gets_an_error_page(browser, pkce, rs_credentials):
    response = browser.get(authorize_url("no-such-client", pkce))

    assert response.status_code == 400
    assert "Location" not in response


def test_client_cannot_skip_consent_with_approval_prompt_auto(browser, public_client, pkce):
    consent(browser, authorize_url(public_client.client_id, pkce))  # a first approval exists

    again = browser.get(authorize_url(public_client.client_id, pkce, approval_prompt="auto"))

    assert again.status_code == 200 and b'name="allow"' in again.content


def test_redirect_uri_on_any_loopback_port_is_accepted(browser, public_client, pkce):
    # RFC 8252 §7.3: native clients pick a free port at run time.
    other_port = REDIRECT_URI.replace("33418", "45001")
    response = browser.get(authorize_url(public_client.client_id, pkce, redirect_uri=other_port))

    assert response.status_code == 200


@pytest.mark.parametrize("scope", ["introspection", "oauth2_provider:registration", "mcp introspection"])
def test_no_client_can_ask_for_introspection_or_registration_scopes(browser, public_client, pkce, scope):
    params = redirect_params(browser.get(authorize_url(public_client.client_id, pkce, scope=scope)))

    assert params["error"] == "invalid_scope"


def test_consent_page_marks_self_registered_clients_unverified(browser, client, pkce, rs_credentials):
    import json

    registered = client.post(
        "/register/",
        json.dumps({"client_name": "Totally Official Client", "redirect_uris": [REDIRECT_URI]}),
        content_type="application/json",
    ).json()

    html = browser.get(authorize_url(registered["client_id"], pkce)).content.decode()

    assert "Totally Official Client" in html and "unverified" in html and "self-registration" in html
