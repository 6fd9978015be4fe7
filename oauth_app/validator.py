"""The OAuth2Validator subclass: this AS's resource policy on top of django-oauth-toolkit, and a token endpoint that
reads each row once and writes everything a grant changes in one transaction."""

import json
import uuid
from contextvars import ContextVar
from datetime import timedelta

from django.utils import timezone
from oauth2_provider import cimd
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from . import prepared, selectors, services
from .grants import GRANT_TYPES, client_assertion, policy
from .grants.auditing import ENTERPRISE_REFRESH_REFUSED, issuance_detail
from .grants.selectors import enterprise_refresh_allowed
from .resource_uri import canonical_resource_uri

# The access token this request issued, for the token view to announce (DOT's app_authorized signal) without
# reading it back from the database. Set by the validator, read and reset by views.token.TokenView.
issued_access_token: ContextVar = ContextVar("issued_access_token", default=None)


def requested_resources(request) -> list[str]:
    """The `resource` values of an oauthlib request as a list (form fields arrive space-joined or repeated)."""
    value = getattr(request, "resource", None)
    if isinstance(value, str):
        body_values = [v for k, v in (getattr(request, "decoded_body", None) or []) if k == "resource"]
        return body_values if len(body_values) > 1 else value.split()
    return list(value or [])


def bound_resource_uris(request, *, recent: bool = False) -> list[str]:
    """Canonical URIs of the registered resources a request names, or the default resource (with `recent`, as this
    process saw them in the last few seconds: selectors.resource_recent).

    RFC 8707 §2: a resource the AS does not serve is `invalid_target`. A request that names none (2025-03-26
    clients, Claude Code today) is bound to the default resource, so no token is ever issued without `aud`.
    """
    try:
        resources = selectors.resources_resolve(uris=requested_resources(request), recent=recent)
    except selectors.UnknownResource as exc:
        raise errors.CustomOAuth2Error(error="invalid_target", description=str(exc), request=request) from exc
    request.resource_names = [resource.name for resource in resources]  # for the audit event, without a re-read
    return [resource.uri for resource in resources]


# OAuth 2.1 for MCP: people authorize clients. The grants with no person at a browser (oauth_app/grants/:
# client credentials, jwt-bearer ID-JAGs) are open only to the clients staff enabled for them.
TOKEN_GRANT_TYPES = {"authorization_code", "refresh_token"}


class MCPOAuth2Validator(OAuth2Validator):
    def _load_application(self, client_id, request):
        # A client staff disabled is unknown to the authorize, token and revocation endpoints. oauthlib asks for the
        # client several times per request (client_authentication_required, authenticate_client_id, ...); DOT
        # answers from request.client after the first, and so does the disabled check. The first ask reads the
        # client and its disabled mark in one prepared query, and hands DOT the client (CIMD clients refreshed as
        # DOT would); a client_id no client has yet (a CIMD URL on first sight) is DOT's to resolve. No client_id holds
        # a NUL (one can arrive in HTTP Basic, which the NUL middleware does not read): PostgreSQL cannot compare it,
        # and psycopg's DataError is not the ValueError DOT expects, so it is unknown here rather than a 500.
        if isinstance(client_id, str) and "\x00" in client_id:
            return None
        if not request.client and isinstance(client_id, str):
            found = selectors.client_with_disabled(client_id=client_id)
            if found is not None:
                application, disabled = found
                if disabled:
                    return None
                request.client = request.enabled_client = cimd.refresh_if_stale(application, request=request)
        application = super()._load_application(client_id, request)
        if application is None or getattr(request, "enabled_client", None) is application:
            return application
        if selectors.client_is_disabled(application=application):
            request.client = None
            return None
        request.enabled_client = application
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
        if not self._validate_live_refresh_token(refresh_token, client, request):
            return False
        # Refresh tokens of an ID-JAG grant (the only ones a client-credentials-type client can hold) live only as
        # long as the client's enablement and the identity provider's trust and --allow-refresh.
        if client.authorization_grant_type != client.GRANT_CLIENT_CREDENTIALS:
            return True
        instance = request.refresh_token_instance
        if not enterprise_refresh_allowed(user=instance.user, application=client, resource_uris=instance.resource):
            raise errors.InvalidGrantError(description=ENTERPRISE_REFRESH_REFUSED, request=request)
        return True

    def _validate_live_refresh_token(self, refresh_token, client, request):
        """DOT's validate_refresh_token, with its common case in one query: a live refresh token, read with its
        access token (DOT's sliding expiry, the original scope), person and client. Every other case (unknown,
        revoked or replayed: reuse protection; orphaned; expired) is DOT's own code."""
        instance = selectors.refresh_token_live(token=refresh_token)
        lifetime = refresh_token_expire_timedelta()
        if (
            instance is None
            or instance.access_token is None
            or (lifetime and instance.access_token.expires + lifetime <= timezone.now())
        ):
            return super().validate_refresh_token(refresh_token, client, request)
        request.user = instance.user
        request.refresh_token = refresh_token  # the presented value: at rest there is only its checksum
        request.refresh_token_instance = instance
        return instance.application_id == client.pk

    def _create_authorization_code(self, request, code, expires=None):
        request.resource = bound_resource_uris(request)
        return super()._create_authorization_code(request, code, expires)

    # --- The code is read once --------------------------------------------------------------------------------
    # DOT reads the grant in validate_code, then again for the PKCE challenge, its method, the redirect URI and the
    # resource check, and once more when saving (six reads, and its user lazily). Here validate_code reads it once,
    # with its user, and the later questions are answered from that row: a code never changes once written, and
    # whether it still exists is decided under the write lock in _save_bearer_token (a concurrent exchange that
    # consumed it in between fails cleanly there, not with a 500 here).

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        grant = selectors.code_grant(code=code, application=client)
        request.code_grant = grant
        if grant is None or grant.is_expired():
            return False
        # What DOT's validate_code sets on the request (RFC 6749 §4.1.3: the code's scopes and resource owner).
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return True

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
        if grant is None or grant.code != code or grant.application_id != getattr(client, "pk", None):
            grant = get_grant_model().objects.filter(code=code, application=client).first()
            if request is not None:
                request.code_grant = grant
        return grant

    def _check_and_set_request_resource(self, request):
        # Canonical spellings first, so the "subset of the grant's resources" check compares like with like.
        uris = requested_resources(request)
        try:
            request.resource = [canonical_resource_uri(uri) for uri in uris]
        except ValueError as exc:
            raise errors.CustomOAuth2Error(error="invalid_target", description=str(exc), request=request) from exc
        if request.grant_type == "authorization_code":
            self._check_code_resource(request)
        else:
            super()._check_and_set_request_resource(request)
        # Inherited from the grant or refresh token when the request named none; a grant always has one. Every token
        # request asks, so the resources are read through this process's few-second copy.
        request.resource = bound_resource_uris(request, recent=True)

    def _check_code_resource(self, request):
        """DOT's RFC 8707 rule for a code exchange, on the grant validate_code read: a token request may narrow the
        code's resources, never widen them (§2.2); naming none inherits the code's."""
        self._validate_resource_uris(request, request.resource)
        grant = self._grant(request.code, request.client, request)
        granted = (grant.resource or []) if grant else []
        if request.resource and granted:
            for uri in request.resource:
                if uri not in granted:
                    raise errors.CustomOAuth2Error(
                        error="invalid_target",
                        description=f"The requested resource '{uri}' is not allowed. Token request cannot escalate "
                        "resource permissions beyond the original authorization grant",
                        request=request,
                    )
        elif granted:
            self._validate_resource_uris(request, granted)
            request.resource = granted

    # --- One redemption per code and per refresh token, even under concurrency -----------------------------
    # save_bearer_token runs in one transaction. Each grant below first takes what it redeems under the write lock
    # and checks it is still there: the code is deleted first (the DELETE locks the row, and a concurrent exchange
    # waits, then deletes nothing), the refresh token is marked used by an UPDATE that matches only while it is live
    # (the same wait, then nothing updated). The resource is checked and the tokens written (by DOT's code), and the
    # audit event and the client's last use are written in the same transaction, from the objects at hand. Of N
    # concurrent requests one wins, the others find nothing, get invalid_grant and write nothing. (DOT alone deletes
    # the code after the tokens are committed, and answers the losers of a refresh race with the winner's token,
    # which is blank under hashed storage: HTTP 500.)

    def _save_bearer_token(self, token, request, *args, **kwargs):
        if request.grant_type == "authorization_code":
            grant = getattr(request, "code_grant", None)
            if grant is None or not services.row_delete(model=get_grant_model(), pk=grant.pk):
                raise errors.InvalidGrantError(description="authorization code already used", request=request)
            super()._save_bearer_token(token, request, *args, **kwargs)  # checks `resource` against the grant
        elif request.grant_type == "refresh_token" and self.rotate_refresh_token(request):
            self._rotate_refresh_token(token, request)
        elif request.grant_type == "refresh_token":
            instance = getattr(request, "refresh_token_instance", None)
            live = get_refresh_token_model().objects.select_for_update().filter(revoked__isnull=True)
            if instance is None or not live.filter(pk=instance.pk).exists():
                raise errors.InvalidGrantError(description="refresh token already used", request=request)
            super()._save_bearer_token(token, request, *args, **kwargs)  # ROTATE_REFRESH_TOKEN off: DOT's reuse
            if "refresh_token" not in token:
                instance.revoke()  # no new one (offline_access given up): the presented one ends too, as below
        else:
            super()._save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code":
            issued = getattr(request, "issued_refresh_token", None)
            services.authorization_code_redeemed(
                code=request.code,
                access_token=token["access_token"],
                token_family=issued.token_family if issued is not None else None,
            )
        services.token_issued(
            user=request.user,
            application=request.client,
            resource=request.resource,
            resource_names=getattr(request, "resource_names", None),
            scope=token["scope"],
            refreshed=request.grant_type == "refresh_token",
            **issuance_detail(
                grant_type=request.grant_type,
                token=issued_access_token.get(),
                identity_provider=getattr(request, "identity_provider", None),  # set by the jwt-bearer grant
            ),
        )

    def _rotate_refresh_token(self, token, request):
        """DOT's rotation (ROTATE_REFRESH_TOKEN, no grace period: ours is 0) in four statements instead of eleven:
        spend the presented refresh token and delete its access token (services.refresh_token_spend), then write
        the new pair with DOT's own _create_access_token and _create_refresh_token, in the presented token's family.

        The presented token is spent even when no new refresh token is issued (OAUTH_REFRESH_REQUIRES_OFFLINE_ACCESS,
        and the client narrowed its scope to leave out offline_access), so giving up offline_access ends offline
        access (RFC 9700 §4.14.2). DOT would leave it live in that case.
        """
        if "scope" not in token:  # DOT's guard
            raise errors.FatalClientError("Failed to renew access token: missing scope")
        instance = request.refresh_token_instance
        if not services.refresh_token_spend(refresh_token=instance):
            raise errors.InvalidGrantError(description="refresh token already used", request=request)
        self._check_and_set_request_resource(request)  # a subset of the refresh token's resources (RFC 8707 §2.2)
        lifetime = token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        access_token = self._create_access_token(
            timezone.now() + timedelta(seconds=lifetime), request, token, source_refresh_token=instance
        )
        if "refresh_token" in token:
            self._create_refresh_token(request, token["refresh_token"], access_token, instance)

    # --- The new tokens' rows ---------------------------------------------------------------------------------
    # DOT's own two methods, field for field, with each row written by prepared.insert() instead of Model.save():
    # the two INSERTs were a fifth of a code exchange's CPU, half of it in Django's save machinery.
    # tests/oauth_app/test_token.py checks that these rows equal the ones DOT's methods write, column by column.

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        if token.get("id_token"):  # OpenID Connect (off here): DOT's own, with its ID token row
            access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        else:
            access_token = get_access_token_model()(
                user=request.user,
                scope=token["scope"],
                expires=expires,
                application=request.client,
                source_refresh_token=source_refresh_token,
                resource=getattr(request, "resource", []),  # RFC 8707
            )
            self._set_token_value(access_token, token["access_token"])
            prepared.insert(access_token)
        issued_access_token.set(access_token)
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        refresh_token = get_refresh_token_model()(
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=previous_refresh_token.token_family if previous_refresh_token else uuid.uuid4(),
            resource=getattr(request, "resource", []),  # RFC 8707
        )
        self._set_token_value(refresh_token, refresh_token_code)
        prepared.insert(refresh_token)
        request.issued_refresh_token = refresh_token
        return refresh_token

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        pass  # consumed in _save_bearer_token, in the same transaction as the tokens it produced
