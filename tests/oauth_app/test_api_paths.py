"""The machine-to-machine endpoints skip the middleware of people's pages and keep everything else."""

import pytest
from django.urls import reverse

from oauth_app.middleware import API_PATHS
from tests.oauth_app.introspection import basic_auth

pytestmark = pytest.mark.django_db


def test_the_lean_paths_are_the_token_introspection_and_revocation_endpoints():
    names = ("oauth2_provider:token", "oauth2_provider:introspect", "oauth2_provider:revoke-token")
    assert {reverse(name) for name in names} == API_PATHS


@pytest.mark.parametrize("path", sorted(API_PATHS))
def test_api_paths_keep_request_ids_and_security_headers_but_touch_no_session(client, user, rs_credentials, path):
    client.force_login(user)  # a session cookie travels along, as from a browser-based client on the AS's origin

    response = client.post(path, {"token": "x"}, HTTP_ORIGIN="https://app.example", HTTP_X_REQUEST_ID="req-1")

    assert response["X-Request-ID"] == "req-1"
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "Set-Cookie" not in response and "Cookie" not in response.get("Vary", "")
    if path != "/introspect/":  # CORS: token and revocation, never introspection (server to server)
        assert response["Access-Control-Allow-Origin"] == "*"
    else:
        assert "Access-Control-Allow-Origin" not in response


def test_a_persons_session_does_not_make_an_introspection_theirs(client, user, rs_credentials):
    from oauth_app.models import AuditEvent

    client.force_login(user)

    client.post("/introspect/", {"token": "x"}, HTTP_AUTHORIZATION=basic_auth(rs_credentials[0], "wrong"))

    refused = AuditEvent.objects.get(kind=AuditEvent.Kind.INTROSPECTION_REFUSED)
    assert refused.actor is None and refused.ip == "127.0.0.1"


def test_pages_for_people_keep_sessions_and_csrf(client, user):
    client.force_login(user)

    page = client.get("/account/")

    assert page.status_code == 200 and "csrftoken" in page.cookies
    assert "Cookie" in page["Vary"]
