"""Hostile input: property tests of the registration policy, oversized and deeply nested JSON, CSRF, open
redirects, and the other attacks of the MCP security considerations and RFC 9700 that concern the AS."""

import ipaddress
import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REDIRECT_URI
from oauth_app.registration import RegistrationRefused, client_metadata_validate, redirect_uri_problem
from tests.html_forms import form_fields
from tests.oauth_app.flow import authorize_url, exchange_code, obtain_code

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "redirect_uris",
        "client_name",
        "grant_types",
        "token_endpoint_auth_method",
        "application_type",
        "client_uri",
        "logo_uri",
        "contacts",
        "scope",
        "software_id",
    ]
)
URIS = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda scheme, host, path: f"{scheme}://{host}{path}",
        st.sampled_from(["http", "https", "javascript", "data", "file", "cursor", "HTTP", "vscode", "x-y"]),
        st.sampled_from(["127.0.0.1:5000", "localhost", "[::1]:1", "evil.example", "a@b.example", "", "x#y"]),
        st.text(max_size=20),
    ),
)


@given(uri=URIS)
def test_redirect_uri_policy_holds_for_any_input(uri):
    problem = redirect_uri_problem(uri)  # never raises

    if problem is None:
        assert "#" not in uri and not any(c.isspace() for c in uri)
        scheme = uri.split(":", 1)[0].lower()
        assert scheme not in {"javascript", "data", "file"}
        if scheme == "http":
            host = uri.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[0] if "//" in uri else ""
            assert is_loopback_host(host.strip("[]"))


def is_loopback_host(name: str) -> bool:
    """The oracle: `localhost` in any case (host names are case-insensitive, RFC 3986 §3.2.2) or a loopback IP."""
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@pytest.mark.django_db
@given(metadata=st.dictionaries(FIELDS, JSON, max_size=6))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_metadata_validation_accepts_or_refuses_never_crashes(metadata):
    try:
        cleaned = client_metadata_validate(metadata, offered_scopes={"mcp"})
    except RegistrationRefused as refused:
        assert refused.error in {"invalid_client_metadata", "invalid_redirect_uri"}
    else:
        assert all(redirect_uri_problem(uri) is None for uri in cleaned.redirect_uris)


@pytest.mark.django_db
@given(metadata=st.dictionaries(FIELDS, JSON, max_size=6))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_registration_endpoint_answers_any_json_with_201_or_an_rfc7591_error(metadata):
    response = Client().post("/register/", json.dumps(metadata), content_type="application/json")

    assert response.status_code in (201, 400, 429), response.content
    if response.status_code == 400:
        assert response.json()["error"] in {"invalid_client_metadata", "invalid_redirect_uri"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        "[" * 20_000 + "]" * 20_000,  # 40 KB, nested far deeper than the parser's stack
        json.dumps({"redirect_uris": ["https://a.example/cb"], "client_name": "x" * 200_000}),  # oversized
        json.dumps({"a": [[[[[[[[[[{"b": [[[[[[[[[[1]]]]]]]]]]}]]]]]]]]]]}),
    ],
    ids=["deeply-nested", "oversized", "nested-but-small"],
)
def test_oversized_and_deeply_nested_json_get_a_4xx_json_error(client, body):
    response = client.post("/register/", body, content_type="application/json")

    assert 400 <= response.status_code < 500
    assert response.json()["error"] in {"invalid_client_metadata", "invalid_redirect_uri"}


@pytest.mark.django_db
def test_request_body_over_djangos_limit_is_a_json_400(client):
    response = client.post("/token/", {"grant_type": "refresh_token", "refresh_token": "x" * 3_000_000})

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.django_db
def test_consent_without_the_csrf_token_is_refused(user, public_client, pkce):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    url = authorize_url(public_client.client_id, pkce)
    fields, _ = form_fields(browser.get(url).content.decode(), "authorizationForm")
    del fields["csrfmiddlewaretoken"]

    forged = browser.post(url, {**fields, "allow": "Authorize"})  # what a cross-site form would send

    assert forged.status_code == 403 and "Location" not in forged


@pytest.mark.django_db
@pytest.mark.parametrize("redirect_uri", ["https://evil.example/cb", REDIRECT_URI + "/../evil", REDIRECT_URI + "?x=1"])
def test_no_open_redirect_through_redirect_uri(client, user, public_client, pkce, redirect_uri):
    client.force_login(user)

    response = client.get(authorize_url(public_client.client_id, pkce, redirect_uri=redirect_uri))

    assert response.status_code == 400 and "Location" not in response


@pytest.mark.django_db
def test_code_injection_fails_without_the_original_verifier(client, user, public_client, pkce):
    # RFC 9700 §4.5: an attacker who injects a stolen code into their own session lacks the victim's verifier.
    client.force_login(user)
    stolen = obtain_code(client, public_client.client_id, pkce)
    from conftest import Pkce

    response = exchange_code(client, public_client.client_id, stolen, Pkce())

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.django_db
def test_tampered_consent_form_resource_is_refused_not_a_500(client, user, public_client, pkce):
    client.force_login(user)
    url = authorize_url(public_client.client_id, pkce)
    fields, _ = form_fields(client.get(url).content.decode(), "authorizationForm")

    response = client.post(url, {**fields, "resource": "https://elsewhere.example/mcp", "allow": "Authorize"})

    assert response.status_code == 302 and "error=invalid_target" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/revoke_token/", {"token": "x", "client_id": "a\x00b"}),
        ("post", "/token/", {"grant_type": "refresh_token", "refresh_token": "x", "client_id": "\x00"}),
        ("post", "/introspect/", {"token": "\x00", "client_id": "mcp-resource-server", "client_secret": "\x00"}),
        ("get", "/authorize/", {"client_id": "\x00", "response_type": "code"}),
    ],
)
def test_nul_characters_are_a_json_400_on_any_database(client, rs_credentials, method, path, data):
    # PostgreSQL refuses NUL in text before a query is even sent: without the guard this was a 500 there.
    response = getattr(client, method)(path, data)

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.django_db
def test_nul_characters_in_registration_metadata_are_refused(client):
    body = json.dumps({"client_name": "a\x00b", "redirect_uris": ["http://127.0.0.1:1/cb\x00"]})

    response = client.post("/register/", body, content_type="application/json")

    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
@pytest.mark.parametrize("path", ["/token/", "/introspect/", "/revoke_token/", "/register/"])
def test_a_form_body_declared_utf16_is_a_json_400_with_debug_on_or_off(client, rs_credentials, settings, debug, path):
    # What a new user's script may send. Django refuses non-UTF-8 forms with BadRequest; with DEBUG on (`make run`)
    # its error page then read the body again and answered a 500 with a stack trace.
    settings.DEBUG = debug
    client.raise_request_exception = False
    body = "grant_type=refresh_token&refresh_token=abc&client_id=x&token=abc".encode("utf-16")

    response = client.generic("POST", path, body, content_type="application/x-www-form-urlencoded; charset=utf-16")

    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_request"
