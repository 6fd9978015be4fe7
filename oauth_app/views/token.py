"""The token endpoint (RFC 6749 §3.2) and the revocation endpoint (RFC 7009)."""

import hashlib
import json

from django.conf import settings
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.models import get_access_token_model
from oauth2_provider.signals import app_authorized
from oauth2_provider.views import RevokeTokenView as DOTRevokeTokenView
from oauth2_provider.views import TokenView as DOTTokenView

from .. import audit, services, throttling
from ..grants.auditing import token_request_refused
from ..validator import issued_access_token
from .errors import JsonMethodNotAllowedMixin, too_many_requests


class TokenView(JsonMethodNotAllowedMixin, DOTTokenView):
    """DOT's token endpoint, with every error labelled as the JSON it is (RFC 6749 §5.2), and code replay
    detection.

    Errors raised while saving the token (DOT's RFC 8707 `invalid_target`, for one) come back with a JSON body
    but no headers, so Django labels them text/html and clients that check the media type cannot parse them.
    """

    def post(self, request, *args, **kwargs):
        wait = throttling.retry_after(request, group="token", rate=settings.MCP_AUTH["TOKEN_RATE"])
        if wait:
            return too_many_requests(wait)
        response = super().post(request, *args, **kwargs)
        if response.status_code >= 400 and response.content.startswith(b"{"):
            response["Content-Type"] = "application/json"
            response["Cache-Control"] = "no-store"
            self._revoke_on_replay(request.POST)
            token_request_refused(request=request, response=response)  # client_credentials, jwt-bearer
        return response

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        """DOT's, less one query: DOT reads the new access token back by its checksum to send app_authorized; the
        validator hands over the one it just created instead (the audit event is written by the validator)."""
        reset = issued_access_token.set(None)
        try:
            url, headers, body, status = self.create_token_response(request)
            token = issued_access_token.get()
        finally:
            issued_access_token.reset(reset)
        if status == 200 and token is None and (issued := json.loads(body).get("access_token")):
            # DOT reused an access token it did not create here (not a path this AS's settings take): read it back,
            # as DOT itself does.
            checksum = hashlib.sha256(issued.encode()).hexdigest()
            token = get_access_token_model().objects.get(token_checksum=checksum)
        if status == 200 and token is not None:
            app_authorized.send(sender=self, request=request, token=token)
        response = HttpResponse(content=body, status=status)
        for key, value in headers.items():
            response[key] = value
        return response

    @staticmethod
    def _revoke_on_replay(data):
        """A code or refresh token presented again, even by a concurrent request, has leaked: RFC 6749 §4.1.2
        and RFC 9700 §4.14.2 say revoke what it issued. Done here, after the failed request's transaction, so the
        revocation is not rolled back with it."""
        if data.get("grant_type") == "authorization_code" and data.get("code"):
            services.authorization_code_replayed(code=data["code"])
        elif data.get("grant_type") == "refresh_token" and data.get("refresh_token"):
            services.refresh_token_replayed(refresh_token=data["refresh_token"])


class RevokeTokenView(JsonMethodNotAllowedMixin, DOTRevokeTokenView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # RFC 7009 §2.2: also for tokens that were already invalid
            audit.record(audit.Kind.TOKEN_REVOKED, client_id=request.POST.get("client_id", ""), by="client")
        return response
