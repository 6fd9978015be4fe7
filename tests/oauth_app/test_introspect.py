import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.http import JsonResponse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model

from oauth_app.models import DisabledClient
from oauth_app.services import client_disable, dev_token_issue, resource_register
from tests.oauth_app.introspection import basic_auth, introspect

pytestmark = pytest.mark.django_db


@pytest.fixture
def resource(rs_credentials):
    from oauth_app.selectors import resource_default

    return resource_default()


@pytest.fixture
def token(user, resource):
    return dev_token_issue(user=user, resource=resource, scopes=["mcp"], lifetime=600)


def test_resource_server_learns_who_what_and_for_whom(client, rs_credentials, user, token):
    claims = introspect(client, rs_credentials, token)

    assert claims["active"] is True
    assert claims["aud"] == settings.MCP_SERVER_URL
    assert claims["iss"] == settings.OAUTH_ISSUER
    assert claims["scope"] == "mcp"
    assert claims["username"] == "alice" and claims["sub"] == str(user.pk)
    assert claims["client_id"] == "dev-token-issuer"
    assert claims["token_type"] == "Bearer"
    assert claims["iat"] <= claims["exp"] and claims["exp"] > timezone.now().timestamp()


def test_client_secret_post_is_accepted_too(client, rs_credentials, token):
    client_id, secret = rs_credentials
    response = client.post("/introspect/", {"token": token, "client_id": client_id, "client_secret": secret})

    assert response.status_code == 200 and response.json()["active"] is True


@pytest.mark.parametrize(
    "auth",
    [
        None,
        "Basic bm90LWJhc2U2NA",  # not base64 of id:secret
        "Bearer whatever",
    ],
    ids=["none", "garbage", "bearer"],
)
def test_callers_without_resource_server_credentials_are_refused(client, token, auth):
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}

    response = client.post("/introspect/", {"token": token}, **headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")


def test_wrong_secret_is_refused(client, rs_credentials, token):
    response = client.post(
        "/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(rs_credentials[0], "not-the-secret")
    )

    assert response.status_code == 401


def test_public_client_cannot_introspect_even_with_the_device_code_shortcut(client, public_client, token):
    # DOT's own view authenticates any public client that claims the device-code grant, secret-less.
    response = client.post(
        "/introspect/",
        {
            "token": token,
            "client_id": public_client.client_id,
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        },
    )

    assert response.status_code == 401


def test_confidential_client_that_is_not_a_resource_server_is_refused(client, token):
    Application = get_application_model()
    other = Application(
        client_id="some-confidential-app",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret="a-secret-of-its-own",
    )
    other.save()

    response = client.post(
        "/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(other.client_id, "a-secret-of-its-own")
    )

    assert response.status_code == 401


def test_token_for_another_resource_is_inactive_to_this_resource_server(client, rs_credentials, user):
    other = resource_register(uri="https://other.example/mcp", name="Other", scopes={"mcp": "x"})
    foreign = dev_token_issue(user=user, resource=other, scopes=["mcp"], lifetime=600)

    assert introspect(client, rs_credentials, foreign) == {"active": False}


def test_expired_unknown_and_missing_tokens(client, rs_credentials, user, resource):
    expired = dev_token_issue(user=user, resource=resource, scopes=["mcp"], lifetime=1)
    from oauth2_provider.models import get_access_token_model

    get_access_token_model().objects.update(expires=timezone.now() - timedelta(seconds=5))

    assert introspect(client, rs_credentials, expired) == {"active": False}
    assert introspect(client, rs_credentials, "never-issued") == {"active": False}
    missing = client.post("/introspect/", {}, HTTP_AUTHORIZATION=basic_auth(*rs_credentials))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_get_is_refused_with_json(client, rs_credentials, token):
    response = client.get("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(*rs_credentials))

    assert response.status_code == 405 and response.json()["error"] == "invalid_request"


def test_rs_secret_is_hashed_with_the_fast_hasher_not_pbkdf2(rs_credentials):
    application = get_application_model().objects.get(client_id=rs_credentials[0])

    assert application.client_secret.startswith("client_secret_sha256$")
    assert rs_credentials[1] not in application.client_secret


def test_introspection_costs_one_query_once_the_client_is_cached(
    client, rs_credentials, token, django_assert_num_queries
):
    with django_assert_num_queries(2):  # the client with its resources and secret; the token
        first = client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(*rs_credentials))
    with django_assert_num_queries(1):  # the token, by checksum, only the answer's columns
        again = client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(*rs_credentials))

    assert first.content == again.content and again.json()["active"] is True


def test_the_answer_is_byte_for_byte_the_full_one(client, rs_credentials, user, token):
    """The lean path's JSON, key order included, is what the ORM objects give (the answer before this path)."""
    from oauth2_provider.models import get_access_token_model

    stored = get_access_token_model().objects.select_related("user", "application").get()
    expected = {
        "active": True,
        "scope": stored.scope,
        "client_id": stored.application.client_id,
        "token_type": "Bearer",
        "exp": int(stored.expires.timestamp()),
        "iat": int(stored.created.timestamp()),
        "iss": settings.OAUTH_ISSUER,
        "aud": stored.resource[0],
        "username": stored.user.get_username(),
        "sub": str(stored.user.pk),
    }

    response = client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(*rs_credentials))

    assert response.content == JsonResponse(expected).content


def test_revoked_token_is_inactive_at_once_though_the_client_is_cached(client, rs_credentials, token):
    assert introspect(client, rs_credentials, token)["active"] is True

    get_access_token_model().objects.get().revoke()

    assert introspect(client, rs_credentials, token) == {"active": False}


def test_a_wrong_secret_is_never_answered_from_the_cache(client, rs_credentials, token):
    assert introspect(client, rs_credentials, token)["active"] is True  # the right secret is now cached

    response = client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(rs_credentials[0], "x"))

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def change_behind_this_process(client_id: str, *, disable: bool = False, secret: str | None = None) -> None:
    """What `register_mcp_server --rotate-secret` or the admin does in another process: a database write whose
    model signals this process never hears (queryset update and bulk_create send none)."""
    Application = get_application_model()
    application = Application.objects.get(client_id=client_id)
    if secret is not None:
        Application.objects.filter(pk=application.pk).update(client_secret=make_password(secret))
    if disable:
        DisabledClient.objects.bulk_create([DisabledClient(application=application)])


@pytest.mark.parametrize("change", ["rotated secret", "disabled client"])
def test_a_change_made_elsewhere_counts_within_the_cache_window(client, rs_credentials, token, settings, change):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "INTROSPECTION_CLIENT_CACHE_SECONDS": 1}
    assert introspect(client, rs_credentials, token)["active"] is True  # cached for 1 s

    if change == "rotated secret":
        change_behind_this_process(rs_credentials[0], secret="a-new-secret")
    else:
        change_behind_this_process(rs_credentials[0], disable=True)
    within = client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(*rs_credentials))
    time.sleep(1.05)
    after = client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(*rs_credentials))

    assert within.status_code == 200  # the documented window: the old credentials were verified < 1 s ago
    assert after.status_code == 401


def test_a_change_made_in_this_process_counts_at_once(client, rs_credentials, token):
    assert introspect(client, rs_credentials, token)["active"] is True

    client_disable(application=get_application_model().objects.get(client_id=rs_credentials[0]))

    refused = client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(*rs_credentials))
    assert refused.status_code == 401


def test_with_the_cache_off_every_call_checks_the_secret(client, rs_credentials, token, settings):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "INTROSPECTION_CLIENT_CACHE_SECONDS": 0}
    assert introspect(client, rs_credentials, token)["active"] is True

    change_behind_this_process(rs_credentials[0], secret="a-new-secret")

    refused = client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(*rs_credentials))
    assert refused.status_code == 401
