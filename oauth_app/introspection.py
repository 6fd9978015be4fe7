"""RFC 7662 introspection's two reads, each one query: who is asking (a resource server's own client, cached for a
few seconds), and what the token is (only the columns the answer needs).

Every MCP request a resource server has not cached ends here, so this path is kept to one indexed query when the
client is cached (README, *Performance and production serving*; docs/benchmarks.md measures it).
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator

from .models import ProtectedResource
from .prepared import PreparedQuery
from .recent import Recent


@dataclass(frozen=True)
class IntrospectionClient:
    """A resource server's confidential client, authenticated, with the resource URIs it may introspect for."""

    client_id: str
    resource_uris: frozenset[str]


# (client_id, SHA-256 of the presented secret) -> client. Only successful authentications are kept, so a wrong
# secret always reaches the database and its hash check; a rotated secret, a disabled client or a resource moved to
# another client is seen within INTROSPECTION_CLIENT_CACHE_SECONDS.
_clients = Recent()


def forget_clients() -> None:
    """Drop every cached client of this process (receivers.py calls it when clients or resources change here)."""
    _clients.forget()


def client_authenticate(*, client_id: str, secret: str) -> IntrospectionClient | None:
    """The introspection client `client_id` if `secret` is its secret, it is not disabled and it introspects for at
    least one resource (RFC 7662 §2.1: the endpoint requires authorization); else None."""
    key = (client_id, hashlib.sha256(secret.encode()).hexdigest())
    client = _clients.get(key)
    if client is None:
        client = _client_from_database(client_id=client_id, secret=secret)
        if client is not None:
            _clients.keep(key, client, seconds=settings.MCP_AUTH["INTROSPECTION_CLIENT_CACHE_SECONDS"])
    return client


def _client_from_database(*, client_id: str, secret: str) -> IntrospectionClient | None:
    # One query: the client's resources, with its stored secret, for an enabled confidential client only.
    rows = list(
        ProtectedResource.objects.filter(
            introspection_client__client_id=client_id,
            introspection_client__client_type=get_application_model().CLIENT_CONFIDENTIAL,
            introspection_client__disabled__isnull=True,
        ).values_list("uri", "introspection_client__client_secret")
    )
    # DOT's own check: the client's hasher (one salted SHA-256 for ours), or a constant-time comparison.
    if not rows or not OAuth2Validator()._check_secret(secret, rows[0][1]):
        return None
    return IntrospectionClient(client_id=client_id, resource_uris=frozenset(uri for uri, _ in rows))


def _token_query(checksum):
    username = f"user__{get_user_model().USERNAME_FIELD}"
    columns = ("scope", "expires", "created", "resource", "application__client_id", "user_id", username)
    return get_access_token_model().objects.filter(token_checksum=checksum).values_list(*columns)[:1]


TOKEN_QUERY = PreparedQuery(_token_query, checksum="<a token checksum>")


def token_claims(*, token: str, client: IntrospectionClient, issuer: str) -> dict:
    """RFC 7662 §2.2 for `token` as `client` may see it: active only for a live token bound to one of its resources.

    One query by the token's SHA-256 (how DOT stores tokens), reading only the answer's columns. Nothing about
    tokens is cached here: a revoked (deleted) token is inactive from the next call.
    """
    rows = TOKEN_QUERY.rows(checksum=hashlib.sha256(token.encode()).hexdigest())
    if not rows:
        return {"active": False}
    scope, expires, created, resource, application_client_id, user_id, username = rows[0]
    if not expires or timezone.now() >= expires:  # AccessToken.is_expired()
        return {"active": False}
    audience = [uri for uri in resource or [] if uri in client.resource_uris]
    if not audience:
        return {"active": False}  # bound to another server: this RS learns nothing about it
    claims = {
        "active": True,
        "scope": scope,
        "client_id": application_client_id,
        "token_type": "Bearer",
        "exp": int(expires.timestamp()),
        "iat": int(created.timestamp()),
        "iss": issuer,
        "aud": audience[0] if len(audience) == 1 else audience,
    }
    if user_id is not None:
        claims["username"] = username
        claims["sub"] = str(user_id)
    else:  # client credentials: the client acts on its own behalf, so it is the subject (RFC 9068 §2.2)
        claims["sub"] = application_client_id
    return claims
