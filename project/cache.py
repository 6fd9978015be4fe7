"""Django's Redis cache backend, with two costs of every rate-limited request (oauth_app/throttling.py's incr, on
each token request) taken out:

- Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` around the shared pool on every cache call, and
  redis-py 8 copies its table of about 200 response callbacks each time: 0.16 ms of CPU per call on the bench
  machine. A `redis.Redis` is safe to share between threads (each command borrows a connection from the pool), so
  one per pool does the same work.
- Django's `incr()` asks EXISTS, then INCRBY: two round trips, and a key that expires in between is created again
  without an expiry. One Lua script does both, atomically, with the same answers (ValueError for a missing key).
"""

import threading

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    # KEYS[1] incremented by ARGV[1] if it exists; false (None in Python) if it does not.
    INCR_IF_EXISTS = """
        if redis.call('EXISTS', KEYS[1]) == 1 then
            return redis.call('INCRBY', KEYS[1], ARGV[1])
        end
        return false
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._clients_lock = threading.Lock()
        self._incr_script = None

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            with self._clients_lock:
                client = self._clients.setdefault(pool, self._client(connection_pool=pool))
                if self._incr_script is None:
                    self._incr_script = client.register_script(self.INCR_IF_EXISTS)
        return client

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        value = self._incr_script(keys=[key], args=[delta], client=client)  # EVALSHA, the script loaded once
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
