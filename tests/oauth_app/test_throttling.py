"""Brute force and abuse: login lockouts (django-axes) and per-IP limits on the token endpoint."""

import pytest

pytestmark = pytest.mark.django_db


def login(client, username, password, ip="192.0.2.10"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_an_account_is_locked_after_five_failures_even_from_other_addresses(client, user):
    statuses = [login(client, "alice", "wrong", ip=f"192.0.2.{attempt + 1}").status_code for attempt in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the fifth failure locks

    locked = login(client, "alice", "correct horse battery", ip="198.51.100.1")

    assert locked.status_code == 429 and b"Too many failed" in locked.content
    assert "_auth_user_id" not in client.session


def test_an_address_is_locked_after_five_failures_across_accounts(client, user):
    for attempt in range(5):
        login(client, f"guess{attempt}", "wrong")

    locked = login(client, "alice", "correct horse battery")

    assert locked.status_code == 429
    assert login(client, "alice", "correct horse battery", ip="198.51.100.2").status_code == 302


def test_success_resets_the_count(client, user):
    for _ in range(4):
        login(client, "alice", "wrong")
    assert login(client, "alice", "correct horse battery").status_code == 302
    client.logout()

    for _ in range(4):
        login(client, "alice", "wrong")
    assert login(client, "alice", "correct horse battery").status_code == 302


def test_token_endpoint_is_rate_limited_per_ip(client, settings, public_client):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "TOKEN_RATE": "3/m"}
    data = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": public_client.client_id}

    statuses = [client.post("/token/", data).status_code for _ in range(4)]

    assert statuses == [400, 400, 400, 429]
    limited = client.post("/token/", data)
    assert limited["Retry-After"] == "60" and limited.json()["error"] == "slow_down"
    assert client.post("/token/", data, REMOTE_ADDR="198.51.100.3").status_code == 400
