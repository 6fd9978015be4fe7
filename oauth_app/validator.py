"""The OAuth2Validator subclass: this AS's resource policy on top of django-oauth-toolkit."""

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from . import selectors
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


# OAuth 2.1 for MCP: people authorize clients. No grant issues a token without a user behind it.
TOKEN_GRANT_TYPES = {"authorization_code", "refresh_token"}


class MCPOAuth2Validator(OAuth2Validator):
    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        # client_credentials would mint user-less tokens bound (by default) to the MCP server; the RS's own
        # confidential client only introspects. Device code, password and implicit are off for everyone.
        if grant_type not in TOKEN_GRANT_TYPES:
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

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
