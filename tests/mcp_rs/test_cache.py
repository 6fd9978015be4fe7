"""The shared introspection cache: what the verifier does with it (against an in-memory SharedCache with a clock
we control), and RedisCache against the real Redis on 127.0.0.1:6379 (skipped when there is none)."""

import asyncio
import hashlib
import json
import secrets
import socket
from dataclasses import replace

import httpx
import pytest
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from mcp_rs.cache import RedisCache, TTLCache
from mcp_rs.settings import RSSettings
from mcp_rs.token_verifier import IntrospectionTokenVerifier, IntrospectionUnavailable, shared_cache_for
from tests.services import REDIS_URL, needs_redis


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class MemorySharedCache:
    """A SharedCache in a dict, on the test's clock: stands for Redis as seen by several workers."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.entries: dict[str, tuple[float, dict]] = {}

    async def get(self, key):
        entry = self.entries.get(key)
        if entry is None or entry[0] <= self.clock():
            return None
        return json.loads(json.dumps(entry[1])), entry[0] - self.clock()

    async def set(self, key, value, ttl):
        self.entries[key] = (self.clock() + ttl, value)

    async def aclose(self):
        pass


def worker(rs_settings, as_http, shared, clock) -> IntrospectionTokenVerifier:
    """One RS worker: its own in-process cache, the shared one, the same AS."""
    return IntrospectionTokenVerifier(
        rs_settings, http=as_http, cache=TTLCache(clock=clock), shared=shared, clock=clock
    )


async def test_a_token_introspected_by_one_worker_is_accepted_by_another_without_introspection(
    rs_settings, as_http, scripted_as
):
    clock = Clock()
    shared = MemorySharedCache(clock)
    first, second = worker(rs_settings, as_http, shared, clock), worker(rs_settings, as_http, shared, clock)
    scripted_as.active("t1", exp=int(clock.now) + 600)

    one, two = await first.verify_token("t1"), await second.verify_token("t1")

    assert len(scripted_as.calls) == 1
    assert (
        two is not None and two.token == "t1" and two.model_dump(exclude={"token"}) == one.model_dump(exclude={"token"})
    )


async def test_going_through_the_shared_cache_never_lengthens_the_window(rs_settings, as_http, scripted_as):
    clock = Clock()
    shared = MemorySharedCache(clock)
    first, second = worker(rs_settings, as_http, shared, clock), worker(rs_settings, as_http, shared, clock)
    scripted_as.active("t1", exp=int(clock.now) + 600)
    await first.verify_token("t1")  # cached for 30 s from now, in both caches

    clock.now += 20
    assert await second.verify_token("t1") is not None  # from the shared cache: 10 s left there
    assert len(scripted_as.calls) == 1

    clock.now += 11  # 31 s after the introspection: a revocation must be visible in every worker
    scripted_as.answers.clear()
    assert await second.verify_token("t1") is None
    assert await first.verify_token("t1") is None


async def test_shared_entries_never_outlive_the_token(rs_settings, as_http, scripted_as):
    clock = Clock()
    shared = MemorySharedCache(clock)
    verifier = worker(rs_settings, as_http, shared, clock)
    scripted_as.active("t1", exp=int(clock.now) + 5)

    await verifier.verify_token("t1")

    ((deadline, _),) = shared.entries.values()
    assert deadline <= clock.now + 5


@pytest.mark.parametrize(
    "corruption",
    [
        {"expires_at": 1},
        {"expires_at": "never"},
        {"scopes": "mcp"},
        {"scopes": [1]},
        {"client_id": None},
        {"subject": 7},
        {"claims": []},
    ],
    ids=["expired", "exp-not-int", "scopes-not-list", "scope-not-str", "no-client", "subject-not-str", "claims"],
)
async def test_a_malformed_shared_entry_is_a_miss_and_the_token_is_introspected(
    rs_settings, as_http, scripted_as, corruption
):
    clock = Clock()
    shared = MemorySharedCache(clock)
    scripted_as.active("t1", exp=int(clock.now) + 600)
    await worker(rs_settings, as_http, shared, clock).verify_token("t1")
    for key, (deadline, value) in shared.entries.items():
        shared.entries[key] = (deadline, {**value, **corruption})
    scripted_as.answers.clear()  # the AS now says inactive: only the shared entry could let it through

    assert await worker(rs_settings, as_http, shared, clock).verify_token("t1") is None
    assert len(scripted_as.calls) == 2


async def test_no_shared_cache_when_caching_is_off(rs_settings, as_http, scripted_as):
    clock = Clock()
    shared = MemorySharedCache(clock)
    verifier = worker(replace(rs_settings, cache_seconds=0), as_http, shared, clock)
    scripted_as.active("t1", exp=int(clock.now) + 600)

    await verifier.verify_token("t1")
    await verifier.verify_token("t1")

    assert len(scripted_as.calls) == 2 and shared.entries == {}


def test_settings_read_redis_and_workers():
    base = {"MCP_RS_CLIENT_SECRET": "s", "REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": "p"}

    single = RSSettings.from_env(base)
    several = RSSettings.from_env({**base, "MCP_WORKERS": "2"})

    assert (single.redis_url, single.cache_key_prefix, single.workers, single.stateless) == (REDIS_URL, "p", 1, False)
    assert (several.workers, several.stateless) == (2, True)  # a session cannot follow its requests across workers
    assert RSSettings.from_env({**base, "MCP_STATELESS": "1"}).stateless is True
    with pytest.raises(SystemExit, match="MCP_STATELESS"):
        RSSettings.from_env({**base, "MCP_WORKERS": "2", "MCP_STATELESS": "0"})
    with pytest.raises(SystemExit):
        RSSettings.from_env({**base, "MCP_WORKERS": "0"})


async def test_shared_cache_only_with_redis_url_and_one_namespace_per_resource(rs_settings):
    assert shared_cache_for(rs_settings) is None
    assert shared_cache_for(replace(rs_settings, redis_url=REDIS_URL, cache_seconds=0)) is None

    ours = shared_cache_for(replace(rs_settings, redis_url=REDIS_URL))
    other = shared_cache_for(replace(rs_settings, redis_url=REDIS_URL, server_url="http://127.0.0.1:9/mcp"))
    try:
        assert isinstance(ours, RedisCache) and ours._name("k") != other._name("k")
    finally:
        await ours.aclose()
        await other.aclose()


# --- RedisCache against a real Redis ---------------------------------------------------------------------------


@pytest.fixture
async def redis_cache():
    namespace = f"test-{secrets.token_hex(6)}:introspection"
    cache = RedisCache.from_url(REDIS_URL, namespace=namespace, signing_key=b"k" * 32)
    raw = aioredis.Redis.from_url(REDIS_URL)
    yield cache, raw, namespace
    async for name in raw.scan_iter(f"{namespace}:*"):
        await raw.delete(name)
    await raw.aclose()
    await cache.aclose()


@needs_redis
async def test_redis_round_trip_keeps_the_deadline(redis_cache):
    cache, raw, namespace = redis_cache
    await cache.set("k1", {"a": [1, "b"]}, ttl=12.5)

    value, seconds_left = await cache.get("k1")

    assert value == {"a": [1, "b"]} and 12 < seconds_left <= 12.5
    assert 0 < await raw.pttl(f"{namespace}:k1") <= 12_500
    assert await cache.get("absent") is None


@needs_redis
async def test_redis_entries_expire_on_their_own(redis_cache):
    cache, raw, namespace = redis_cache
    await cache.set("k1", {"a": 1}, ttl=0.05)
    await cache.set("k2", {"a": 1}, ttl=0)  # nothing to keep

    assert await raw.exists(f"{namespace}:k2") == 0
    for _ in range(50):
        if await cache.get("k1") is None:
            break
        await asyncio.sleep(0.01)
    assert await cache.get("k1") is None


@needs_redis
async def test_redis_entries_cannot_be_forged_or_moved(redis_cache):
    cache, raw, namespace = redis_cache
    await cache.set("k1", {"client_id": "c"}, ttl=30)
    stored = await raw.get(f"{namespace}:k1")

    await raw.set(f"{namespace}:k2", stored, px=30_000)  # a real entry under another token's key
    await raw.set(f"{namespace}:k3", stored.replace(b'"c"', b'"x"'), px=30_000)  # edited
    await raw.set(f"{namespace}:k4", b'{"client_id": "c"}', px=30_000)  # unsigned

    assert [await cache.get(key) for key in ("k2", "k3", "k4")] == [None, None, None]
    assert (await cache.get("k1"))[0] == {"client_id": "c"}


@needs_redis
async def test_verifier_keeps_token_hashes_in_redis_never_tokens(rs_settings, as_http, scripted_as, redis_cache):
    cache, raw, namespace = redis_cache
    token = "secret-token-" + secrets.token_hex(8)
    scripted_as.active(token)
    first = IntrospectionTokenVerifier(rs_settings, http=as_http, shared=cache)
    second = IntrospectionTokenVerifier(rs_settings, http=as_http, shared=cache)

    assert await first.verify_token(token) is not None
    assert await second.verify_token(token) is not None  # another worker, through Redis

    assert len(scripted_as.calls) == 1
    names = [name async for name in raw.scan_iter(f"{namespace}:*")]
    assert names == [f"{namespace}:{hashlib.sha256(token.encode()).hexdigest()}".encode()]
    assert token.encode() not in await raw.get(names[0])
    assert 0 < await raw.pttl(names[0]) <= rs_settings.cache_seconds * 1000


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_redis_down_falls_back_to_introspection_and_never_passes(rs_settings, as_http, scripted_as):
    cache = RedisCache.from_url(f"redis://127.0.0.1:{closed_port()}/0", namespace="n", signing_key=b"k")
    verifier = IntrospectionTokenVerifier(rs_settings, http=as_http, shared=cache)
    scripted_as.active("t1")

    assert await verifier.verify_token("t1") is not None  # introspected; Redis failing changed nothing
    assert await verifier.verify_token("unknown") is None
    scripted_as.failure = httpx.ConnectError("AS down too")
    with pytest.raises(IntrospectionUnavailable):
        await verifier.verify_token("t2")
    await cache.aclose()


class FailingRedis:
    """Stands for a Redis client whose every command fails; counts the attempts."""

    def __init__(self):
        self.attempts = 0

    def pipeline(self, transaction=True):
        self.attempts += 1
        raise RedisConnectionError("down")

    async def set(self, *args, **kwargs):
        self.attempts += 1
        raise RedisConnectionError("down")


async def test_after_a_failure_redis_is_left_alone_for_a_while():
    clock = Clock()
    client = FailingRedis()
    cache = RedisCache(client, namespace="n", signing_key=b"k", retry_after=5, clock=clock)

    assert await cache.get("k") is None
    assert await cache.get("k") is None
    await cache.set("k", {}, ttl=30)
    assert client.attempts == 1

    clock.now += 5
    assert await cache.get("k") is None
    assert client.attempts == 2
