"""The `jti` replay store (RFC 7523 §3 item 7; ID-JAG processing rules): each assertion is accepted once.

It lives in the database, the one store every AS worker and replica already shares (Redis is optional here): a
unique key per (kind, issuer, jti), inserted in a transaction of its own, so of two workers that receive the same
assertion at once exactly one insert succeeds. Rows are kept until the assertion expires (plus the clock-skew
leeway, during which it would still pass the time checks) and then deleted, here, by later inserts.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import UsedAssertion


def jti_use(*, kind: str, issuer: str, jti: str, expires_at: float, leeway: int) -> bool:
    """Record that the assertion `jti` of `issuer` was used; False if it was used before (a replay)."""
    key = hashlib.sha256(f"{kind}\0{issuer}\0{jti}".encode()).hexdigest()
    keep_until = datetime.fromtimestamp(expires_at, tz=UTC) + timedelta(seconds=leeway)
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(key=key, expires_at=keep_until)
    except IntegrityError:
        return False
    UsedAssertion.objects.filter(expires_at__lt=timezone.now()).delete()
    return True
