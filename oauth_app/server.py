"""The oauthlib server class: OAuth 2.1 allows PKCE with S256 only (RFC 9700 §2.1.1)."""

from oauthlib.oauth2 import Server
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256


class S256OnlyServer(Server):
    """Rejects `plain` and a missing `code_challenge_method` while validating the authorization request.

    DOT's COMPLIANT_BCP_RFC9700_PKCE_METHOD refuses `plain` only when the code is created, i.e. after the user
    has already clicked Approve. oauthlib treats a missing method as `plain`, and checks the method against this
    table during validation, so narrowing the table rejects both before any consent page is shown.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.auth_grant._code_challenge_methods = {"S256": code_challenge_method_s256}
