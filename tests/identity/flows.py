"""A person signing in, as the Django tests drive it: Django's test client is their browser at the AS, an httpx
client their browser at the (real) provider."""

import base64
import hashlib
import hmac
import struct
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from oauth_app.models import AuditEvent
from tests.html_forms import form_fields
from tests.identity.provider import sign_in_at_provider

CALLBACK = "http://testserver/accounts/oidc/corp/login/callback/"


def events(kind: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(kind=kind).order_by("created"))


def click_sign_in_with(client, provider_id: str, next_url: str | None = None):
    """The login page, then its "Sign in with ..." button: a POST of that button's form."""
    page = client.get("/accounts/login/" + (f"?{urlencode({'next': next_url})}" if next_url else ""))
    fields, _ = form_fields(page.content.decode(), f"provider-{provider_id}")
    return client.post(f"/accounts/oidc/{provider_id}/login/", fields)


def sign_in(client, username: str, *, next_url: str | None = None, **how):
    """The whole round trip: our button, the provider's login and consent pages, back to our callback."""
    started = click_sign_in_with(client, "corp", next_url)
    assert started.status_code == 302, started.content[:500]
    with httpx.Client() as at_provider:
        callback = sign_in_at_provider(at_provider, started["Location"], username, **how)
    parts = urlsplit(callback)
    assert callback.startswith(CALLBACK), callback
    return client.get(parts.path, parse_qs(parts.query))


def totp(secret: str, *, period: int = 30, digits: int = 6) -> str:
    """The code an authenticator app shows now (RFC 6238 over RFC 4226), computed here, not by allauth. Waits
    out the last second of a period so the server sees the same one."""
    if period - time.time() % period < 1.5:
        time.sleep(period - time.time() % period + 0.1)
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // period), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}}"
