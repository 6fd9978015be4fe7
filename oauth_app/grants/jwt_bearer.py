"""Enterprise-Managed Authorization: the RFC 7523 §2.1 `jwt-bearer` grant with an ID-JAG (MCP SEP-990, stable).

A person signed in to an MCP client through their company's identity provider; the client exchanged that sign-in
at the IdP for an Identity Assertion JWT Authorization Grant (ID-JAG) naming the person, this AS and the MCP
server, and presents it here with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and `assertion`. There
is no browser and no consent page: the IdP's policy decided, and staff decided to trust that IdP.

oauthlib has no such grant; `JWTBearerGrant` is one on oauthlib's plug point (a GrantTypeBase the server class
routes the grant type to: server.py). Processing follows RFC 7521 §5.2, RFC 7523 §3 and the ID-JAG profile
(draft-ietf-oauth-identity-assertion-authz-grant §4.4.1), in this order:

1. the client authenticates as a confidential client staff enabled for this grant (RFC 7521 §4.2 would allow no
   client authentication; this AS requires it, so an ID-JAG stolen from one client is useless to anyone else);
2. the JWT's form and algorithm (jose.py); `typ` is `oauth-id-jag+jwt` (RFC 8725 §3.11: no other JWT passes);
3. `iss` is a trusted, enabled identity provider, and a key of its JWKS verifies the signature;
4. `aud` is this AS's issuer (alone); `client_id` is the authenticated client; `sub` and `jti` are present;
5. `exp` not past and at most an hour ahead, `iat` not ahead (clock skew: OAUTH_ASSERTION_LEEWAY);
6. `resource`, when present, is a registered MCP server given to this client, and the request's `resource`, if
   any, is the same (RFC 8707 `invalid_target`); the token is bound to it;
7. scopes: requested ∩ the ID-JAG's `scope` ∩ the server's ∩ the client's (nothing left: `invalid_scope`);
8. the `jti` was never used at any AS worker (replay.py), recorded only now that everything else passed, so
   nobody can spend another's jti with a forged assertion;
9. the (issuer, `sub`) pair maps to a local user (services.federated_identity_resolve): linked before, or linked
   by email or provisioned when the IdP allows it; otherwise `invalid_grant`.

A refresh token is issued only when the IdP was added with `--allow-refresh`; otherwise the client gets a new
ID-JAG from the IdP, which is the point: the IdP stays in charge.
"""

import json

from django.conf import settings
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase

from ..validator import requested_resources
from . import ID_JAG_TYP, JWT_BEARER, jose, replay, selectors, services
from .policy import bound_resources, granted_scopes, invalid_target

MAX_LIFETIME_SECONDS = 3600


def _invalid_grant(description: str, request) -> errors.InvalidGrantError:
    return errors.InvalidGrantError(description=f"ID-JAG refused: {description}", request=request)


def _scope_claim(claims: dict, request) -> list[str] | None:
    if "scope" not in claims:
        return None
    scope = claims["scope"]
    if not isinstance(scope, str):
        raise _invalid_grant("scope must be a space-separated string", request)
    return scope.split()


def _resources(claims: dict, machine_client, request) -> list:
    requested = requested_resources(request)
    if "resource" not in claims:
        return bound_resources(machine_client=machine_client, requested=requested, request=request)
    claimed = claims["resource"]
    if not isinstance(claimed, str):
        raise _invalid_grant("resource must be a string", request)
    [resource] = bound_resources(machine_client=machine_client, requested=[claimed], request=request)
    for uri in requested:
        if bound_resources(machine_client=machine_client, requested=[uri], request=request) != [resource]:
            raise invalid_target("the requested resource is not the ID-JAG's resource", request)
    return [resource]


def validate_id_jag(request) -> None:
    """Steps 2 to 9 above; sets request.user, .scopes, .resource and .identity_provider, or raises an OAuth2Error."""
    leeway = settings.MCP_AUTH["ASSERTION_LEEWAY"]
    try:
        token = jose.parse(request.assertion)
    except jose.Rejected as refused:
        raise _invalid_grant(str(refused), request) from None
    typ = token.header.get("typ")
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != ID_JAG_TYP:
        raise _invalid_grant(f"typ must be {ID_JAG_TYP}, not {typ!r}", request)
    claims = token.claims
    issuer = claims.get("iss")
    identity_provider = selectors.identity_provider_trusted(issuer=issuer) if isinstance(issuer, str) else None
    if identity_provider is None:
        raise _invalid_grant(f"the issuer {issuer!r} is not a trusted identity provider", request)
    request.identity_provider = identity_provider
    try:
        jose.verify(token, identity_provider, what="the identity provider")
        if not jose.single_audience(claims.get("aud"), {settings.OAUTH_ISSUER}):
            raise jose.Rejected("aud must be this authorization server's issuer, alone")
        if claims.get("client_id") != request.client.client_id:
            raise jose.Rejected("its client_id is not the authenticated client")
        subject = jose.string_claim(claims, "sub")
        jti = jose.string_claim(claims, "jti")
        expires = jose.check_times(claims, leeway=leeway, max_lifetime=MAX_LIFETIME_SECONDS, require_iat=True)
    except jose.Rejected as refused:
        raise _invalid_grant(str(refused), request) from None

    resources = _resources(claims, request.machine_client, request)
    request.resource = [resource.uri for resource in resources]
    request.scopes = granted_scopes(
        requested=request.scopes,
        machine_client=request.machine_client,
        resources=resources,
        limit=_scope_claim(claims, request),
        offline_access=identity_provider.allow_refresh,
        request=request,
    )
    if not replay.jti_use(kind="id-jag", issuer=issuer, jti=jti, expires_at=expires, leeway=leeway):
        raise _invalid_grant("its jti was used before (a replay)", request)
    email = claims.get("email") if isinstance(claims.get("email"), str) and "@" in claims.get("email") else None
    try:
        identity = services.federated_identity_resolve(
            identity_provider=identity_provider,
            subject=subject,
            email=email,
            email_verified=claims.get("email_verified"),
        )
    except services.PersonRefused as refused:
        raise _invalid_grant(str(refused), request) from None
    request.user = identity.user
    request.federated_identity = identity
    request.bound_resources = resources


class JWTBearerGrant(GrantTypeBase):
    """RFC 7523 §2.1 with an ID-JAG, as oauthlib grants are written (validate_token_request, then the token)."""

    def create_token_response(self, request, token_handler):
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
        except errors.OAuth2Error as error:
            headers.update(error.headers)
            return headers, error.json, error.status_code
        token = token_handler.create_token(request, refresh_token=request.identity_provider.allow_refresh)
        for modifier in self._token_modifiers:
            token = modifier(token)
        self.request_validator.save_token(token, request)
        services.enterprise_grant_record(
            identity=request.federated_identity,
            machine_client=request.machine_client,
            resources=request.bound_resources,
            scopes=request.scopes,
        )
        return headers, json.dumps(token), 200

    def validate_token_request(self, request):
        for validator in self.custom_validators.pre_token:
            validator(request)
        if request.grant_type != JWT_BEARER:
            raise errors.UnsupportedGrantTypeError(request=request)
        for param in ("grant_type", "scope", "assertion"):
            if param in request.duplicate_params:
                raise errors.InvalidRequestError(description=f"Duplicate {param} parameter.", request=request)
        if not getattr(request, "assertion", None):
            raise errors.InvalidRequestError(description="assertion is missing (RFC 7523 §2.1)", request=request)
        self.validate_client_confidential(request)
        self.validate_grant_type(request)
        validate_id_jag(request)
        for validator in self.custom_validators.post_token:
            validator(request)
