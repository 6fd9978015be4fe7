"""Concurrency on PostgreSQL (SQLite serialises writers and cannot show these races).

The requests go through a real threaded server (pytest-django's live_server), each on its own connection.
"""

import concurrent.futures

import httpx
import pytest
from django.db import connection
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from conftest import REDIRECT_URI
from tests.oauth_app.flow import exchange_code, obtain_code

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks (DATABASE_URL)"),
]

CONCURRENCY = 8


@pytest.fixture
def browser(client, user):
    client.force_login(user)
    return client


def post_concurrently(url: str, data: dict) -> list[httpx.Response]:
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(lambda _: httpx.post(url, data=data, timeout=30), range(CONCURRENCY)))


def assert_one_winner(responses: list[httpx.Response]) -> dict:
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * (CONCURRENCY - 1), [r.text[:200] for r in responses]
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)
    return next(r.json() for r in responses if r.status_code == 200)


def test_concurrent_refreshes_one_wins_the_rest_get_invalid_grant(live_server, browser, client, public_client, pkce):
    code = obtain_code(browser, public_client.client_id, pkce)
    issued = exchange_code(client, public_client.client_id, code, pkce).json()
    data = {
        "grant_type": "refresh_token",
        "refresh_token": issued["refresh_token"],
        "client_id": public_client.client_id,
    }

    winner = assert_one_winner(post_concurrently(f"{live_server.url}/token/", data))

    # One refresh token presented eight times is a leaked one (RFC 9700 §4.14.2): the family is revoked, the
    # winner's new pair included, and no row is left half-written.
    assert not get_access_token_model().objects.exists()
    assert get_refresh_token_model().objects.filter(revoked__isnull=True).count() == 0
    followup = httpx.post(f"{live_server.url}/token/", data={**data, "refresh_token": winner["refresh_token"]})
    assert followup.status_code == 400


def test_concurrent_code_exchanges_one_wins_the_rest_get_invalid_grant(live_server, browser, public_client, pkce):
    code = obtain_code(browser, public_client.client_id, pkce)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": public_client.client_id,
        "code_verifier": pkce.verifier,
    }

    winner = assert_one_winner(post_concurrently(f"{live_server.url}/token/", data))

    # The code was presented eight times: the winner's tokens are revoked too (RFC 6749 §4.1.2), and nothing
    # else was written.
    assert not get_grant_model().objects.exists()
    assert not get_access_token_model().objects.exists()
    assert get_refresh_token_model().objects.filter(revoked__isnull=True).count() == 0
    refresh = {"grant_type": "refresh_token", "refresh_token": winner["refresh_token"], "client_id": data["client_id"]}
    assert httpx.post(f"{live_server.url}/token/", data=refresh).status_code == 400
