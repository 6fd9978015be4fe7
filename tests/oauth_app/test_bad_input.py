"""Every OAuth endpoint answers malformed input with a 4xx and an RFC-shaped JSON error, never a 500."""

import base64
import json

import pytest

from tests.oauth_app.flow import authorize_url

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
CASES = [
    ("post", "/token/", {"data": b"\xff\xfe", "content_type": FORM}),
    ("post", "/token/", {"data": "{}", "content_type": "application/json"}),
    ("post", "/token/", {"data": {"grant_type": "authorization_code", "client_id": "x" * 300}}),
    ("post", "/token/", {"data": {"grant_type": "refresh_token", "refresh_token": "a", "resource": "http://[::1"}}),
    ("get", "/token/", {}),
    ("post", "/revoke_token/", {"data": {}}),
    ("post", "/revoke_token/", {"data": {"token": "x", "client_id": "nope"}}),
    ("get", "/revoke_token/", {}),
    ("post", "/register/", {"data": b"\xff", "content_type": "application/json"}),
    ("post", "/register/", {"data": json.dumps({"redirect_uris": [1]}), "content_type": "application/json"}),
    (
        "post",
        "/register/",
        {
            "data": json.dumps({"redirect_uris": ["http://x/cb"], "grant_types": "x"}),
            "content_type": "application/json",
        },
    ),
    ("get", "/register/", {}),
    ("get", "/register/abc/", {}),
    ("post", "/introspect/", {"data": {"token": "x"}, "HTTP_AUTHORIZATION": "Basic ////"}),
    (
        "post",
        "/introspect/",
        {"data": {"token": "x"}, "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"\xff:\xfe").decode()},
    ),
    ("put", "/introspect/", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), CASES)
def test_oauth_endpoints_answer_bad_input_with_json_4xx(client, public_client, method, path, kwargs):
    response = getattr(client, method)(path, **kwargs)

    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")
    assert isinstance(response.json()["error"], str)


@pytest.mark.parametrize("resource", ["http://[::1", "javascript:alert(1)", "%00", "https://x.example/#f"])
def test_malformed_resource_is_refused_before_consent(client, user, public_client, pkce, resource):
    client.force_login(user)

    response = client.get(authorize_url(public_client.client_id, pkce, resource=resource))

    assert response.status_code == 302 and "error=invalid_target" in response["Location"]


@pytest.mark.parametrize("query", ["", "?client_id=x&response_type=code", "?response_type=token&client_id=x"])
def test_authorize_without_a_valid_client_is_an_error_page(client, user, query):
    client.force_login(user)

    response = client.get("/authorize/" + query)

    assert response.status_code == 400 and "Location" not in response
