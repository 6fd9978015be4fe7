"""RFC 8414 authorization server metadata."""

import json

from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.views import OAuthServerMetadataView

from ..grants import metadata as grants_metadata
from .errors import JsonMethodNotAllowedMixin

INTROSPECTION_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


@method_decorator(csrf_exempt, name="dispatch")  # no cookies involved; any other method gets a JSON 405
class ServerMetadataView(JsonMethodNotAllowedMixin, OAuthServerMetadataView):
    """DOT's document, with the introspection endpoint's real authentication methods, and the grants of
    oauth_app/grants/ (client credentials, private_key_jwt, the ID-JAG profile: grants/metadata.py).

    DOT advertises the token endpoint's methods (`none` included) for introspection too; here only a resource
    server's own client credentials are accepted (views/introspect.py), so the document says exactly that.
    """

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        document = json.loads(response.content)
        document["introspection_endpoint_auth_methods_supported"] = INTROSPECTION_AUTH_METHODS
        grants_metadata.add_to(document)
        response.content = json.dumps(document)
        return response
