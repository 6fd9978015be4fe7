"""RFC 7662 token introspection, answered only to registered resource servers."""

import base64
import binascii
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.compat import login_not_required

from .. import audit, introspection
from .errors import JsonMethodNotAllowedMixin


def _client_credentials(request) -> tuple[str, str] | None:
    """client_secret_basic (RFC 6749 §2.3.1: both parts form-urlencoded inside Basic) or client_secret_post."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        return (unquote_plus(client_id), unquote_plus(secret)) if sep else None
    if "client_id" in request.POST and "client_secret" in request.POST:
        return request.POST["client_id"], request.POST["client_secret"]
    return None


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class IntrospectView(JsonMethodNotAllowedMixin, View):
    """Who may ask, and what they learn, is the AS's policy (RFC 7662 §2.1, §4):

    - only a confidential client that is the introspection client of a registered resource may call it, with
      its secret; DOT's own view also lets any client with an `introspection`-scoped token in, and any public
      client through its device-code shortcut;
    - a token bound to another resource introspects as inactive, so one RS cannot read another's tokens.

    The request passes through no session, CSRF or auth middleware (oauth_app.middleware.API_PATHS), and costs one
    query when the client is cached (oauth_app/introspection.py).
    """

    http_method_names = ["post"]  # RFC 7662 §2.1: POST; a token in a query string ends up in logs

    def post(self, request, *args, **kwargs):
        client = self._authenticate(request)
        if client is None:
            attempted = _client_credentials(request)
            audit.record(audit.Kind.INTROSPECTION_REFUSED, client_id=attempted[0] if attempted else "")
            response = JsonResponse(
                {"error": "invalid_client", "error_description": "resource server credentials required"}, status=401
            )
            response["WWW-Authenticate"] = 'Basic realm="introspection"'
            return response
        token_value = request.POST.get("token")
        if not token_value:
            return JsonResponse({"error": "invalid_request", "error_description": "token is missing"}, status=400)
        return JsonResponse(self._describe(token_value, client))

    def _authenticate(self, request) -> introspection.IntrospectionClient | None:
        credentials = _client_credentials(request)
        if credentials is None:
            return None
        client_id, secret = credentials
        return introspection.client_authenticate(client_id=client_id, secret=secret)

    def _describe(self, token_value: str, client: introspection.IntrospectionClient) -> dict:
        return introspection.token_claims(token=token_value, client=client, issuer=settings.OAUTH_ISSUER)
