"""The audit trail of these grants: every refused request with its reason; the grant type and IdP of issuances.

Refusals are recorded by the token view from the error response itself (RFC 6749 §5.2 `error` and
`error_description`), after oauthlib and the grants have answered: one place sees every refusal, whichever layer
made it (client authentication, the grant type switch, the assertion checks, the resource and scope policy).
Who asked is taken from what the request claimed (HTTP Basic, `client_id`, or the `sub` of a client assertion)
and, for an ID-JAG, the IdP from its unverified `iss`: a refusal is often exactly a claim that did not hold.
Neither assertion nor secret is ever recorded, only these names.
"""

import base64
import binascii
import json
from urllib.parse import unquote_plus

from .. import audit
from . import GRANT_TYPES, JWT_BEARER, jose


def _unverified_claim(raw, name: str) -> str:
    value = jose.unverified_claims(raw).get(name)
    return value[:255] if isinstance(value, str) else ""


def claimed_client_id(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:6].lower() == "basic ":
        try:
            return unquote_plus(base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")[0])[:255]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    if request.POST.get("client_id"):
        return request.POST["client_id"][:255]
    return _unverified_claim(request.POST.get("client_assertion"), "sub")


# The refusal of a refresh token an ID-JAG grant issued, once the client or the IdP no longer allows it.
ENTERPRISE_REFRESH_REFUSED = "the enterprise grant of this refresh token no longer allows refresh"


def token_request_refused(*, request, response) -> None:
    """Record a refused token request for client_credentials or jwt-bearer, or a refused refresh of an ID-JAG
    grant (other refusals have their own trail)."""
    grant_type = request.POST.get("grant_type")
    try:
        error = json.loads(response.content)
    except ValueError:
        error = {}
    enterprise_refresh = grant_type == "refresh_token" and error.get("error_description") == ENTERPRISE_REFRESH_REFUSED
    if grant_type not in GRANT_TYPES and not enterprise_refresh:
        return
    detail = {
        "grant_type": grant_type,
        "error": str(error.get("error", ""))[:100],
        "reason": str(error.get("error_description", ""))[:500],
        "status": response.status_code,
    }
    if grant_type == JWT_BEARER:
        detail["idp"] = _unverified_claim(request.POST.get("assertion"), "iss")
    if request.POST.get("client_assertion"):
        detail["client_auth"] = "private_key_jwt"
    audit.record(audit.Kind.TOKEN_REFUSED, client_id=claimed_client_id(request), **detail)


def issuance_detail(*, grant_type: str, token, identity_provider=None) -> dict:
    """What the audit event of an issued token adds: its grant type and, for an ID-JAG grant or its refresh, the
    identity provider that granted it. Called by the validator, inside the transaction that issued `token`: an
    ID-JAG grant hands over the IdP it verified (its consent record is written after the token)."""
    detail = {"grant_type": grant_type}
    application = token.application if token is not None else None
    enterprise = grant_type == JWT_BEARER or (
        grant_type == "refresh_token"
        and application is not None
        and application.authorization_grant_type == application.GRANT_CLIENT_CREDENTIALS
    )
    if enterprise and identity_provider is None and token is not None:
        from .selectors import grant_identity_provider

        identity_provider = grant_identity_provider(token=token)
    if enterprise:
        detail["idp"] = identity_provider.issuer if identity_provider else ""
    return detail
