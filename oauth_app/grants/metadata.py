"""What RFC 8414 metadata says about these grants.

`grant_types_supported` always lists both, whether or not some client is enabled for them yet: the document
describes what this server implements (RFC 8414 §2), not which clients exist. It stays static and cacheable, costs
no query, tells nobody whether machine or enterprise clients are configured, and does not go stale in clients'
caches when staff enable the first one; a client that is not enabled gets `unauthorized_client` (RFC 6749 §5.2),
which is what that error is for.
"""

from . import CLIENT_CREDENTIALS, ID_JAG_PROFILE, JWT_BEARER, PRIVATE_KEY_JWT, SIGNING_ALGORITHMS


def add_to(document: dict) -> None:
    document["grant_types_supported"] = [*document["grant_types_supported"], CLIENT_CREDENTIALS, JWT_BEARER]
    if "token_endpoint_auth_methods_supported" in document:
        # MCP client credentials extension: private_key_jwt (RFC 7523 §2.2), with its signing algorithms.
        methods = document["token_endpoint_auth_methods_supported"]
        document["token_endpoint_auth_methods_supported"] = [*methods, PRIVATE_KEY_JWT]
        document["token_endpoint_auth_signing_alg_values_supported"] = list(SIGNING_ALGORITHMS)
    # MCP Enterprise-Managed Authorization (stable): ID-JAGs are accepted with the jwt-bearer grant.
    document["authorization_grant_profiles_supported"] = [ID_JAG_PROFILE]
