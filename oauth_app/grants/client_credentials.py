"""The client credentials grant (RFC 6749 §4.4; MCP's OAuth Client Credentials extension), for machine clients.

oauthlib's grant does the protocol: the client must authenticate (a secret, or a private_key_jwt assertion:
client_assertion.py), `validate_grant_type` must allow it (only a client staff enabled for it:
`MCPOAuth2Validator.validate_grant_type`), and no refresh token is issued (RFC 6749 §4.4.3). This subclass adds
the AS's policy where oauthlib checks scopes, which it does right after those two: the token is bound to
resources staff gave the client (RFC 8707) and carries at most the scopes staff gave it. The token has no user:
introspection names the client as its `sub`.
"""

from oauthlib.oauth2.rfc6749.grant_types import ClientCredentialsGrant as OAuthlibClientCredentialsGrant

from ..validator import requested_resources
from . import services
from .policy import bound_resources, granted_scopes


class ClientCredentialsGrant(OAuthlibClientCredentialsGrant):
    def validate_scopes(self, request):
        # oauthlib calls this after authenticate_client and validate_grant_type, which set request.machine_client.
        machine_client = request.machine_client
        resources = bound_resources(
            machine_client=machine_client, requested=requested_resources(request), request=request
        )
        request.resource = [resource.uri for resource in resources]
        request.scopes = granted_scopes(
            requested=request.scopes, machine_client=machine_client, resources=resources, request=request
        )

    def create_token_response(self, request, token_handler):
        headers, body, status = super().create_token_response(request, token_handler)
        if status == 200:
            services.machine_client_used(machine_client=request.machine_client)
        return headers, body, status
