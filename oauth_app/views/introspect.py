"""RFC 7662 token introspection, answered only to registered resource servers."""

import base64
import binascii
import hashlib
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.compat import login_not_required
from oauth2_provider.oauth2_validators import OAuth2Validator

from .. import audit, selectors
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


def _epoch(moment) -> int:
    return int(moment.timestamp())


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class IntrospectView(JsonMethodNotAllowedMixin, View):
    """Who may ask, and what they learn, is the AS's policy (RFC 7662 §2.1, §4):

    - only a confidential client that is the introspection client of a registered resource may call it, with
      its secret; DOT's own view also lets any client with an `introspection`-scoped token in, and any public
      client through its device-code shortcut;
    - a token bound to another resource introspects as inactive, so one RS cannot read another's tokens.
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

    def _authenticate(self, request):
        credentials = _client_credentials(request)
        if credentials is None:
            return None
        client_id, secret = credentials
        client = selectors.introspection_client_get(client_id=client_id)
        if client is None or not OAuth2Validator()._check_secret(secret, client.client_secret):
            return None
        return client

    def _describe(self, token_value: str, client) -> dict:
        token = selectors.access_token_by_checksum(checksum=hashlib.sha256(token_value.encode()).hexdigest())
        if token is None or not token.is_valid():
            return {"active": False}
        audience = [uri for uri in token.resource if uri in selectors.introspection_client_resource_uris(client=client)]
        if not audience:
            return {"active": False}
        data = {
            "active": True,
            "scope": token.scope,
            "client_id": token.application.client_id if token.application else None,
            "token_type": "Bearer",
            "exp": _epoch(token.expires),
            "iat": _epoch(token.created),
            "iss": settings.OAUTH_ISSUER,
            "aud": audience[0] if len(audience) == 1 else audience,
        }
        if token.user is not None:
            data["username"] = token.user.get_username()
            data["sub"] = str(token.user.pk)
        else:  # client credentials: the client acts on its own behalf, so it is the subject (RFC 9068 §2.2)
            data["sub"] = data["client_id"]
        return data
