"""Grants with no browser step, each only for a confidential client that staff pre-registered for it.

- `client_credentials.py`: OAuth client credentials (RFC 6749 §4.4; MCP's OAuth Client Credentials extension): a
  machine client acting on its own behalf. Its tokens have no user.
- `jwt_bearer.py`: Enterprise-Managed Authorization (MCP's SEP-990): an Identity Assertion JWT Authorization Grant
  (ID-JAG) from a trusted identity provider, exchanged with the RFC 7523 §2.1 `jwt-bearer` grant for a token of
  the person it names.
- `client_assertion.py`: `private_key_jwt` client authentication (RFC 7523 §2.2), for either grant.
- `jose.py`: the JWT checks both assertions share (compact JWS only, algorithm allow-list, signature by a key of
  the issuer's JWKS), on jwcrypto, django-oauth-toolkit's JOSE library.
- `jwks.py`: fetching JWKS documents through DOT's SSRF-guarded fetcher, and caching them.
- `replay.py`: the `jti` replay store every AS worker shares (the database).
- `models.py`, `services.py`, `selectors.py`: machine clients, trusted identity providers, linked identities and
  used assertions; their writes and reads.
- `refusals.py`: the audit event of every refused request for these grants, with its reason.

The rest of the AS reaches this package through small hooks: the validator (`MCPOAuth2Validator`:
client authentication, `validate_grant_type`, refresh), the oauthlib server class (`S256OnlyServer` installs the
grants), the token view (refusals), introspection (`sub` of a token with no user) and the metadata view.
"""

CLIENT_CREDENTIALS = "client_credentials"
# RFC 7523 §2.1: the grant type of a JWT used as an authorization grant; the ID-JAG is one (SEP-990).
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The grants this package adds; no client may use one unless staff enabled it for that client.
GRANT_TYPES = (CLIENT_CREDENTIALS, JWT_BEARER)

# RFC 7523 §2.2: `client_assertion_type` of a JWT used for client authentication.
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PRIVATE_KEY_JWT = "private_key_jwt"
CLIENT_SECRET_BASIC = "client_secret_basic"

# draft-ietf-oauth-identity-assertion-authz-grant: the ID-JAG's `typ` header, and the profile this AS lists in
# RFC 8414 `authorization_grant_profiles_supported` (MCP Enterprise-Managed Authorization, stable).
ID_JAG_TYP = "oauth-id-jag+jwt"
ID_JAG_PROFILE = "urn:ietf:params:oauth:grant-profile:id-jag"

# Asymmetric signatures only (RFC 8725 §3.1, §3.2): never `none`, and never HMAC, whose key would be a secret the
# verifier shares with the signer (and, for a public JWKS, with everyone).
SIGNING_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
