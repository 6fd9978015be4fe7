"""The token endpoint (RFC 6749 §3.2) and the revocation endpoint (RFC 7009)."""

from oauth2_provider.views import RevokeTokenView as DOTRevokeTokenView
from oauth2_provider.views import TokenView as DOTTokenView

from .errors import JsonMethodNotAllowedMixin


class TokenView(JsonMethodNotAllowedMixin, DOTTokenView):
    """DOT's token endpoint, with every error labelled as the JSON it is (RFC 6749 §5.2).

    Errors raised while saving the token (DOT's RFC 8707 `invalid_target`, for one) come back with a JSON body
    but no headers, so Django labels them text/html and clients that check the media type cannot parse them.
    """

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code >= 400 and response.content.startswith(b"{"):
            response["Content-Type"] = "application/json"
            response["Cache-Control"] = "no-store"
        return response


class RevokeTokenView(JsonMethodNotAllowedMixin, DOTRevokeTokenView):
    pass
