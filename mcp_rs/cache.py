"""Caches for introspection answers. Keys are SHA-256 digests of tokens, never tokens.

- `TTLCache`: in process, one per worker; always in front.
- `SharedCache`: the interface of a cache shared by every worker and replica; `RedisCache` (REDIS_URL) is the one
  shipped. A shared cache only ever saves an introspection: any failure of it is a miss, and the caller introspects.
"""

import hashlib
import hmac
import json
import logging
import time
from collections import OrderedDict
from typing import Generic, Protocol, TypeVar

from redis import asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
V = TypeVar("V")


class TTLCache(Generic[V]):
    """Entries expire at their own deadline; the oldest go first once `max_entries` is reached."""

    def __init__(self, max_entries: int = 10_000, clock=time.monotonic):
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        deadline, value = entry
        if self._clock() >= deadline:
            del self._entries[key]
            return None
        return value

    def set(self, key: str, value: V, ttl: float) -> None:
        if ttl <= 0:
            return
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class SharedCache(Protocol):
    """A cache of JSON-able dicts shared between processes. `get` returns the value and its seconds left."""

    async def get(self, key: str) -> tuple[dict, float] | None: ...

    async def set(self, key: str, value: dict, ttl: float) -> None: ...

    async def aclose(self) -> None: ...


class RedisCache:
    """A `SharedCache` in Redis (asyncio client): `SET … PX` with the entry's remaining window, `GET` + `PTTL`.

    - Keys are `namespace:digest`; the caller passes a digest, never a token.
    - Values are signed (HMAC-SHA256 over key and value, `signing_key` derived from the RS's client secret), so
      whoever can write to Redis still cannot forge an entry, nor move one to another token's key: a bad
      signature is a miss.
    - Redis down, slow or answering nonsense is a miss, never a pass. After a failure Redis is left alone for
      `retry_after` seconds, so a dead Redis costs requests nothing but the introspection they would do anyway.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        namespace: str,
        signing_key: bytes,
        retry_after: float = 5.0,
        clock=time.monotonic,
    ):
        self._redis = client
        self._namespace = namespace
        self._signing_key = signing_key
        self._retry_after = retry_after
        self._clock = clock
        self._resting_until = 0.0

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 0.5, **kwargs) -> "RedisCache":
        client = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return cls(client, **kwargs)

    async def get(self, key: str) -> tuple[dict, float] | None:
        if self._resting():
            return None
        name = self._name(key)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(name)
                pipe.pttl(name)
                raw, pttl = await pipe.execute()
        except (RedisError, OSError, TimeoutError) as exc:
            self._rest(exc)
            return None
        if raw is None or not isinstance(pttl, int) or pttl <= 0:
            return None  # absent, or (PTTL -1) an entry without expiry, which this class never writes
        value = self._open(name, raw)
        return None if value is None else (value, pttl / 1000)

    async def set(self, key: str, value: dict, ttl: float) -> None:
        milliseconds = int(ttl * 1000)  # rounded down: an entry never outlives what it was given
        if milliseconds <= 0 or self._resting():
            return
        name = self._name(key)
        try:
            await self._redis.set(name, self._seal(name, value), px=milliseconds)
        except (RedisError, OSError, TimeoutError) as exc:
            self._rest(exc)

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _name(self, key: str) -> str:
        return f"{self._namespace}:{key}"

    def _mac(self, name: str, payload: bytes) -> bytes:
        return hmac.new(self._signing_key, name.encode() + b"\n" + payload, hashlib.sha256).hexdigest().encode()

    def _seal(self, name: str, value: dict) -> bytes:
        payload = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
        return self._mac(name, payload) + b"." + payload

    def _open(self, name: str, raw: bytes) -> dict | None:
        mac, _, payload = raw.partition(b".")
        if not hmac.compare_digest(mac, self._mac(name, payload)):
            log.warning("ignoring a shared cache entry with a bad signature")
            return None
        try:
            value = json.loads(payload)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _resting(self) -> bool:
        return self._clock() < self._resting_until

    def _rest(self, exc: BaseException) -> None:
        self._resting_until = self._clock() + self._retry_after
        log.warning(
            "Redis unavailable (%s); introspecting without it for %.0f s", type(exc).__name__, self._retry_after
        )
