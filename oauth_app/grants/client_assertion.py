"""private_key_jwt: client authentication with a signed JWT (RFC 7523 §2.2 and §3; OpenID Connect Core §9).

For a client staff registered with `--auth private_key_jwt` and its public keys (a JWKS URI or a JWKS). The
request carries `client_assertion_type` and `client_assertion` and, as the MCP client credentials extension shows,
usually no `client_id`: the assertion's `sub` names the client (RFC 7523 §3). What is checked, in this order:

- the JWT's form and algorithm (jose.py); `typ`, when present, is that of a client assertion, so an ID-JAG or
  another JWT made for something else is not taken for one (RFC 8725 §3.11);
- `iss` = `sub` = the client id, of a confidential client enabled for private_key_jwt (and `client_id`, if sent,
  the same);
- the signature, by a key of that client's JWKS;
- `aud`: this AS's issuer or its token endpoint URL, with or without a trailing slash, and nothing else;
- `exp` at most 5 minutes ahead (and not past; `iat` and `nbf`, when present, not ahead), with OAUTH_ASSERTION_LEEWAY
  seconds of clock skew;
- `jti` never seen before by any AS worker (replay.py).

A refusal is `invalid_client` (RFC 6749 §5.2) with the reason, which the token view records in the audit log.
"""

from django.conf import settings
from django.urls import reverse
from oauthlib.oauth2.rfc6749 import errors

from . import CLIENT_ASSERTION_TYPE, jose, replay, selectors

MAX_LIFETIME_SECONDS = 300
CLIENT_ASSERTION_TYPS = {"jwt", "client-authentication+jwt"}  # the second from draft-ietf-oauth-rfc7523bis


def presented(request) -> bool:
    """Whether the request authenticates (or tries to) with a client assertion."""
    return (
        getattr(request, "client_assertion", None) is not None
        or getattr(request, "client_assertion_type", None) is not None
    )


def audiences() -> set[str]:
    return {settings.OAUTH_ISSUER, settings.OAUTH_ISSUER + reverse("oauth2_provider:token")}


def _typ_problem(header: dict) -> str | None:
    typ = header.get("typ")
    if typ is None:
        return None
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") not in CLIENT_ASSERTION_TYPS:
        return f"typ {typ!r} is not that of a client assertion (JWT or client-authentication+jwt)"
    return None


def authenticate(request) -> bool:
    """Authenticate the client of `request` by its assertion; sets request.client. Raises InvalidClientError."""
    leeway = settings.MCP_AUTH["ASSERTION_LEEWAY"]
    try:
        if {"client_assertion", "client_assertion_type"} & set(request.duplicate_params):
            raise jose.Rejected("client_assertion and client_assertion_type may be sent once each")
        if getattr(request, "client_assertion_type", None) != CLIENT_ASSERTION_TYPE:
            raise jose.Rejected(f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}")
        if request.headers.get("HTTP_AUTHORIZATION") or getattr(request, "client_secret", None):
            raise jose.Rejected("a client uses one authentication method per request (RFC 6749 §2.3)")
        token = jose.parse(getattr(request, "client_assertion", None))
        problem = _typ_problem(token.header)
        if problem:
            raise jose.Rejected(problem)
        client_id = jose.string_claim(token.claims, "sub")
        if token.claims.get("iss") != client_id:
            raise jose.Rejected("iss and sub must both be the client id")
        if request.client_id and request.client_id != client_id:
            raise jose.Rejected("client_id is not the assertion's sub")
        machine_client = selectors.machine_client_for_private_key_jwt(client_id=client_id)
        if machine_client is None:
            raise jose.Rejected("no client registered for private_key_jwt has this id")
        jose.verify(token, machine_client, what="the client")
        if not jose.single_audience(token.claims.get("aud"), audiences()):
            raise jose.Rejected("aud must be this authorization server's issuer or its token endpoint, alone")
        expires = jose.check_times(token.claims, leeway=leeway, max_lifetime=MAX_LIFETIME_SECONDS, require_iat=False)
        jti = jose.string_claim(token.claims, "jti")
        if not replay.jti_use(kind="client_assertion", issuer=client_id, jti=jti, expires_at=expires, leeway=leeway):
            raise jose.Rejected("its jti was used before (a replay)")
    except jose.Rejected as refused:
        raise errors.InvalidClientError(description=f"client assertion refused: {refused}", request=request) from None
    request.client = machine_client.application
    request.client_id = client_id
    return True
