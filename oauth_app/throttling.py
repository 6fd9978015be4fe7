"""Per-IP rate limits on the OAuth endpoints: a fixed-window counter in Django's cache (Redis when REDIS_URL is set,
so every worker counts in one place; oauth_app.W001 warns when several workers have no Redis).

Each window of a rate such as "20/h" has one counter per group and client IP, which expires with the window. A
request increments it: one cache operation (one Redis round trip) for every request but a window's first, which
creates it. django-ratelimit, used before, added the counter and then incremented it on every request, two round
trips on each token request (a twentieth of a code exchange's CPU), with the same fixed windows.
"""

import re
import time
import zlib

from django.core.cache import cache

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """(requests, window seconds) of a rate such as "20/h", "5/10m" or "100000/m"."""
    match = re.fullmatch(r"(\d+)/(\d*)([smhd])", rate)
    if match is None:
        raise ValueError(f"not a rate: {rate!r}")
    return int(match.group(1)), int(match.group(2) or 1) * UNITS[match.group(3)]


def client_ip(request) -> str:
    # REMOTE_ADDR is absent when the server got no peer address (a UNIX socket, some test clients): such requests
    # share one budget.
    return request.META.get("REMOTE_ADDR") or "unknown"


def retry_after(request, *, group: str, rate: str) -> int | None:
    """Counts this request against its client IP's budget for `group`. When it is over `rate`, the seconds to wait:
    the whole window, the longest it may take (RFC 6585 §4 Retry-After); else None."""
    limit, period = parse_rate(rate)
    ip = client_ip(request)
    # Each client's windows start at a second of their own (as django-ratelimit's did), so the counters of every
    # client do not all run out at the same moment.
    window, elapsed = divmod(int(time.time()) - zlib.crc32(ip.encode()) % period, period)
    key = f"ratelimit:{group}:{rate}:{window}:{ip}"
    if _increment(key, expires_in=period - elapsed + 1) > limit:
        return period
    return None


def _increment(key: str, *, expires_in: int) -> int:
    """The counter at `key` after adding one; created at 1 if missing. Django's incr() raises ValueError for a missing
    key (project/cache.py keeps that answer, in one round trip); add() creates it only if no other request did."""
    for _ in range(3):
        try:
            return cache.incr(key)
        except ValueError:
            if cache.add(key, 1, timeout=expires_in):
                return 1
    return 1  # created and expired three times over between our calls: the window has just turned
