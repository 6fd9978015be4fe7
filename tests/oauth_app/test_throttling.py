"""Brute force and abuse: login lockouts (django-axes) and per-IP limits on the token endpoint."""

import secrets

import pytest
from redis import connection as redis_connection

from tests.services import REDIS_URL, needs_redis

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


@pytest.fixture
def redis_cache(settings):
    """The production cache (project.cache.RedisCache on Redis), under a key prefix of this test's own."""
    from django.core.cache import caches

    prefix = f"test-{secrets.token_hex(8)}"
    settings.CACHES = {"default": {"BACKEND": "project.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    cache = caches["default"]
    yield cache
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(f"{prefix}:*"):  # Django's clear() would flush the whole Redis database
        client.delete(key)


@needs_redis
def test_the_token_rate_limit_counts_in_redis(client, settings, public_client, redis_cache):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "TOKEN_RATE": "3/m"}
    data = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": public_client.client_id}

    statuses = [client.post("/token/", data).status_code for _ in range(4)]

    assert statuses == [400, 400, 400, 429]
    assert client.post("/token/", data, REMOTE_ADDR="198.51.100.3").status_code == 400


@needs_redis
def test_the_redis_cache_increments_in_one_round_trip_with_djangos_answers(redis_cache):
    client = redis_cache._cache.get_client(write=True)
    assert client is redis_cache._cache.get_client(write=True)  # one redis-py client per pool, not one per call
    redis_cache.set("counter", 5, timeout=60)
    key = redis_cache.make_key("counter")

    assert redis_cache.incr("counter") == 6 and redis_cache.incr("counter", 4) == 10
    assert 0 < client.ttl(key) <= 60  # the expiry is kept
    with pytest.raises(ValueError):
        redis_cache.incr("never-set")  # as Django's: a missing key is an error, and is not created
    assert redis_cache.get("never-set") is None


@needs_redis
def test_a_counted_token_request_costs_one_redis_round_trip(client, settings, public_client, redis_cache, monkeypatch):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "TOKEN_RATE": "100/d"}  # a day: no window ends during the test
    data = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": public_client.client_id}
    redis = redis_cache._cache.get_client(write=True)
    assert client.post("/token/", data).status_code == 400  # the window's first request creates its counter

    sent = []  # what this process sends to Redis (other clients of the server do not count)
    send = redis_connection.Connection.send_packed_command

    def counted(connection, command, *args, **kwargs):
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return send(connection, command, *args, **kwargs)

    monkeypatch.setattr(redis_connection.Connection, "send_packed_command", counted)
    statuses = [client.post("/token/", data).status_code for _ in range(5)]
    monkeypatch.undo()

    assert statuses == [400] * 5
    # One EVALSHA each (project/cache.py's incr, whose EXISTS and INCRBY run inside Redis); django-ratelimit sent a
    # SET NX first, every time.
    assert len(sent) == 5 and all(b"EVALSHA" in command for command in sent)
    [key] = redis.keys(f"{redis_cache.key_prefix}:*ratelimit:token:*")
    assert int(redis.get(key)) == 6
    assert 0 < redis.ttl(key) <= 86401  # gone with its window


@needs_redis
def test_a_window_that_ends_starts_a_new_count(client, settings, public_client, redis_cache):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "TOKEN_RATE": "2/d"}
    data = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": public_client.client_id}
    redis = redis_cache._cache.get_client(write=True)
    assert [client.post("/token/", data).status_code for _ in range(3)] == [400, 400, 429]

    [key] = redis.keys(f"{redis_cache.key_prefix}:*ratelimit:token:*")
    redis.delete(key)  # what its expiry does when the window ends

    assert [client.post("/token/", data).status_code for _ in range(3)] == [400, 400, 429]
