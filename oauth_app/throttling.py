"""Per-IP rate limits on the OAuth endpoints, counted in Django's cache (Redis when REDIS_URL is set)."""

import re

from django_ratelimit.core import is_ratelimited

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def window_seconds(rate: str) -> int:
    """The window of a django-ratelimit rate such as "20/h" or "5/10m": the longest a client has to wait."""
    match = re.fullmatch(r"\d+/(\d*)([smhd])", rate)
    if match is None:
        raise ValueError(f"not a rate: {rate!r}")
    return int(match.group(1) or 1) * UNITS[match.group(2)]


def client_ip(group: str, request) -> str:
    # REMOTE_ADDR is absent when the server got no peer address (a UNIX socket, some test clients): such
    # requests share one budget rather than crash django-ratelimit's "ip" key with a KeyError.
    return request.META.get("REMOTE_ADDR") or "unknown"


def retry_after(request, *, group: str, rate: str) -> int | None:
    """Seconds to wait when this request takes its client IP over `rate` for `group`, else None."""
    if is_ratelimited(request, group=group, key=client_ip, rate=rate, increment=True):
        return window_seconds(rate)
    return None
