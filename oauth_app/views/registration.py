"""RFC 7591 dynamic client registration, with this AS's defaults."""

import json

from django.http import JsonResponse
from django.utils import timezone
from oauth2_provider.views import DynamicClientRegistrationView

from .errors import JsonMethodNotAllowedMixin

REGISTRABLE_GRANT_TYPES = {"authorization_code", "refresh_token"}


class RegisterView(JsonMethodNotAllowedMixin, DynamicClientRegistrationView):
    """DOT's registration endpoint, with three corrections.

    - Only clients that act for a person can register (authorization_code, with refresh_token): DOT would also
      register client_credentials, implicit, password and device-code clients.

    - RFC 7591 §2: an omitted `token_endpoint_auth_method` means `client_secret_basic`, and DOT follows that
      literally, handing every MCP client (which cannot keep a secret) a confidential registration. MCP clients
      are native or browser apps, so an omitted method registers a public client (`none`); a client that wants
      a secret says so.
    - RFC 7591 §3.2.1: the response carries `client_id_issued_at`, and `client_secret_expires_at` (0: never)
      whenever a secret is issued.
    """

    def post(self, request, *args, **kwargs):
        try:
            metadata = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            metadata = None  # DOT answers invalid_client_metadata
        grant_types = metadata.get("grant_types", ["authorization_code"]) if isinstance(metadata, dict) else None
        if isinstance(grant_types, list) and not set(grant_types) <= REGISTRABLE_GRANT_TYPES:
            return JsonResponse(
                {
                    "error": "invalid_client_metadata",
                    "error_description": "only the authorization_code and refresh_token grant types can be registered",
                },
                status=400,
            )
        if isinstance(metadata, dict) and "token_endpoint_auth_method" not in metadata:
            metadata["token_endpoint_auth_method"] = "none"
            request._body = json.dumps(metadata).encode()  # HttpRequest.body's cache: what DOT will parse
        response = super().post(request, *args, **kwargs)
        if response.status_code == 201:
            data = json.loads(response.content)
            data["client_id_issued_at"] = int(timezone.now().timestamp())
            if "client_secret" in data:
                data["client_secret_expires_at"] = 0
            response.content = json.dumps(data)
        return response
