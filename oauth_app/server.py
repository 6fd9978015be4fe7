"""The oauthlib server class: OAuth 2.1 allows PKCE with S256 only (RFC 9700 §2.1.1); refresh tokens per policy."""

from django.conf import settings
from oauthlib.oauth2 import Server
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.oauth2.rfc6749.tokens import BearerToken

from .grants import CLIENT_CREDENTIALS, JWT_BEARER
from .grants.client_credentials import ClientCredentialsGrant
from .grants.jwt_bearer import JWTBearerGrant
from .scopes import OFFLINE_ACCESS


class OfflineAccessBearerToken(BearerToken):
    """Issues a refresh token only when the policy allows it.

    By default every code exchange and refresh gets one, as before `offline_access` existed. With
    OAUTH_REFRESH_REQUIRES_OFFLINE_ACCESS, only a token request whose granted scope includes `offline_access` gets
    one (MCP 2026-07-28 "Refresh Tokens": the AS retains discretion; OpenID Connect Core §11 makes the scope the
    request for it). Deciding here, where oauthlib builds the token, means no refresh token is ever generated,
    stored or sent that the policy refuses.
    """

    def create_token(self, request, refresh_token=False, **kwargs):
        if (
            refresh_token
            and settings.MCP_AUTH["REFRESH_REQUIRES_OFFLINE_ACCESS"]
            and OFFLINE_ACCESS not in (request.scopes or [])
        ):
            refresh_token = False
        return super().create_token(request, refresh_token=refresh_token, **kwargs)


class S256OnlyServer(Server):
    """Rejects `plain` and a missing `code_challenge_method` while validating the authorization request, issues
    tokens through OfflineAccessBearerToken, and routes the grants of oauth_app/grants/ (client credentials with
    this AS's resource and scope policy; the RFC 7523 jwt-bearer grant for ID-JAGs, which oauthlib lacks). Which
    client may use them is the validator's `validate_grant_type`: none but those staff enabled.

    DOT's COMPLIANT_BCP_RFC9700_PKCE_METHOD refuses `plain` only when the code is created, i.e. after the user
    has already clicked Approve. oauthlib treats a missing method as `plain`, and checks the method against this
    table during validation, so narrowing the table rejects both before any consent page is shown.
    """

    def __init__(self, request_validator, *args, **kwargs):
        super().__init__(request_validator, *args, **kwargs)
        self.auth_grant._code_challenge_methods = {"S256": code_challenge_method_s256}
        # oauthlib's Server builds one BearerToken and hands it to its endpoints; hand them ours instead, with the
        # same generators and lifetime (the authorization and token endpoints share `_default_token_type`).
        built = self.bearer
        self.bearer = OfflineAccessBearerToken(
            request_validator, built.token_generator, built.expires_in, built.refresh_token_generator
        )
        self._default_token_type = self.bearer
        self._tokens = {"Bearer": self.bearer}
        self.credentials_grant = ClientCredentialsGrant(request_validator)
        self.grant_types[CLIENT_CREDENTIALS] = self.credentials_grant
        self.grant_types[JWT_BEARER] = JWTBearerGrant(request_validator)
