"""What this process read from the database a few seconds ago, for the reads every request repeats: introspection's
resource server client, and the token endpoint's protected resources.

Per process and bounded; an entry lives `seconds` (OAUTH_INTROSPECTION_CLIENT_CACHE_SECONDS where it is used), so
a change made in another process counts within that window, and receivers.py forgets everything at once when the
change is made in this one.
"""

import threading
import time


class Recent:
    def __init__(self, *, size: int = 256):
        self.size = size
        self._entries: dict = {}  # key -> (monotonic expiry, value)
        self._lock = threading.Lock()

    def get(self, key):
        """The value kept for `key`, or None when there is none or it expired."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return None

    def keep(self, key, value, *, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()  # a flood of keys costs the cache, never the memory
            self._entries[key] = (time.monotonic() + seconds, value)

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()
