"""The OAuth2Validator subclass: this AS's resource policy on top of django-oauth-toolkit."""

from oauth2_provider.models import get_grant_model, get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from . import selectors, services
from .grants import GRANT_TYPES, client_assertion, policy
from .grants.auditing import ENTERPRISE_REFRESH_REFUSED
from .grants.selectors import enterprise_refresh_allowed
from .resource_uri import canonical_resource_uri


def requested_resources(request) -> list[str]:
    """The `resource` values of an oauthlib request as a list (form fields arrive space-joined or repeated)."""
    value = getattr(request, "resource", None)
    if isinstance(value, str):
        body_values = [v for k, v in (getattr(request, "decoded_body", None) or []) if k == "resource"]
        return body_values if len(body_values) > 1 else value.split()
    return list(value or [])


def bound_resource_uris(request) -> list[str]:
    """Canonical URIs of the registered resources a request names, or the default resource.

    RFC 8707 §2: a resource the AS does not serve is `invalid_target`. A request that names none (2025-03-26
    clients, Claude Code today) is bound to the default resource, so no token is ever issued without `aud`.
    """
    try:
        resources = selectors.resources_resolve(uris=requested_resources(request))
    except selectors.UnknownResource as exc:
        raise errors.CustomOAuth2Error(error="invalid_target", description=str(exc), request=request) from exc
    return [resource.uri for resource in resources]


# OAuth 2.1 for MCP: people authorize clients. The grants with no person at a browser (oauth_app/grants/:
# client credentials, jwt-bearer ID-JAGs) are open only to the clients staff enabled for them.
TOKEN_GRANT_TYPES = {"authorization_code", "refresh_token"}


class MCPOAuth2Validator(OAuth2Validator):
    def _load_application(self, client_id, request):
        # A client staff disabled is unknown to the authorize, token and revocation endpoints.
        application = super()._load_application(client_id, request)
        if application is not None and selectors.client_is_disabled(application=application):
            request.client = None
            return None
        return application

    def client_authentication_required(self, request, *args, **kwargs):
        return client_assertion.presented(request) or super().client_authentication_required(request, *args, **kwargs)

    def authenticate_client(self, request, *args, **kwargs):
        # RFC 7523 §2.2 private_key_jwt, for clients staff registered with a JWKS; else DOT's secret methods.
        if client_assertion.presented(request):
            return client_assertion.authenticate(request)
        authenticated = super().authenticate_client(request, *args, **kwargs)
        # A body client_id naming another client than HTTP Basic did is a failed authentication, not oauthlib's 500.
        return authenticated and request.client_id in (None, request.client.client_id)

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        # client_credentials and jwt-bearer: only the clients staff enabled (never a public, DCR or CIMD client,
        # nor the RS's own confidential client, which only introspects). Device code, password and implicit are
        # off for everyone.
        if grant_type in GRANT_TYPES:
            return policy.grant_type_allowed(request=request, grant_type=grant_type)
        if grant_type not in TOKEN_GRANT_TYPES:
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        # Refresh tokens of an ID-JAG grant (the only ones a client-credentials-type client can hold) live only as
        # long as the client's enablement and the identity provider's trust and --allow-refresh.
        if client.authorization_grant_type != client.GRANT_CLIENT_CREDENTIALS:
            return True
        instance = request.refresh_token_instance
        if not enterprise_refresh_allowed(user=instance.user, application=client, resource_uris=instance.resource):
            raise errors.InvalidGrantError(description=ENTERPRISE_REFRESH_REFUSED, request=request)
        return True

    def _create_authorization_code(self, request, code, expires=None):
        request.resource = bound_resource_uris(request)
        return super()._create_authorization_code(request, code, expires)

    def _check_and_set_request_resource(self, request):
        # Canonical spellings first, so DOT's "subset of the grant's resources" check compares like with like.
        uris = requested_resources(request)
        try:
            request.resource = [canonical_resource_uri(uri) for uri in uris]
        except ValueError as exc:
            raise errors.CustomOAuth2Error(error="invalid_target", description=str(exc), request=request) from exc
        super()._check_and_set_request_resource(request)
        # Inherited from the grant or refresh token when the request named none; a grant always has one.
        request.resource = bound_resource_uris(request)

    # --- One redemption per code and per refresh token, even under concurrency -----------------------------
    # save_bearer_token runs in one transaction. Each grant below first locks what it redeems and checks it is
    # still there; DOT then checks the resource against it and writes the tokens; the code is deleted in the
    # same transaction. Of N concurrent requests one wins, the others wait for the lock, find nothing, get
    # invalid_grant and write nothing. (DOT alone deletes the code after the tokens are committed, and answers
    # the losers of a refresh race with the winner's token, which is blank under hashed storage: HTTP 500.)

    def _save_bearer_token(self, token, request, *args, **kwargs):
        grant = None
        if request.grant_type == "authorization_code":
            grants = get_grant_model().objects.select_for_update()
            grant = grants.filter(code=request.code, application=request.client).first()
            if grant is None:
                raise errors.InvalidGrantError(description="authorization code already used", request=request)
        elif request.grant_type == "refresh_token":
            instance = getattr(request, "refresh_token_instance", None)
            live = get_refresh_token_model().objects.select_for_update().filter(revoked__isnull=True)
            if instance is None or not live.filter(pk=instance.pk).exists():
                raise errors.InvalidGrantError(description="refresh token already used", request=request)
        super()._save_bearer_token(token, request, *args, **kwargs)  # checks `resource` against the grant
        if grant is not None:
            grant.delete()
            issued = getattr(request, "issued_refresh_token", None)
            services.authorization_code_redeemed(
                code=request.code,
                access_token=token["access_token"],
                token_family=issued.token_family if issued is not None else None,
            )
        elif request.grant_type == "refresh_token" and "refresh_token" not in token:
            # No new refresh token (OAUTH_REFRESH_REQUIRES_OFFLINE_ACCESS, and the client narrowed its scope to
            # leave out offline_access): DOT then leaves the presented one live, where rotation would have spent
            # it. Spend it here, so giving up offline_access ends offline access (RFC 9700 §4.14.2 rotation).
            request.refresh_token_instance.revoke()

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        request.issued_refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous_refresh_token
        )
        return request.issued_refresh_token

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        pass  # consumed in _save_bearer_token, in the same transaction as the tokens it produced

    # DOT reads the grant with .get() three more times after validate_code (PKCE challenge, method, redirect URI):
    # a concurrent exchange that consumed it in between turned each into a 500. Read it once per request; a
    # grant that vanished fails cleanly in _save_bearer_token.

    def get_code_challenge(self, code, request):
        grant = self._grant(code, request.client, request)
        return (grant.code_challenge or None) if grant else None

    def get_code_challenge_method(self, code, request):
        grant = self._grant(code, request.client, request)
        return (grant.code_challenge_method or None) if grant else None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request=None, *args, **kwargs):
        grant = self._grant(code, client, request)
        return grant is not None and grant.redirect_uri_allowed(redirect_uri)

    @staticmethod
    def _grant(code, client, request):
        grant = getattr(request, "code_grant", None)
        if grant is None or grant.code != code:
            grant = get_grant_model().objects.filter(code=code, application=client).first()
            if request is not None:
                request.code_grant = grant
        return grant
