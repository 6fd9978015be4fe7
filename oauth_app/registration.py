"""Client registration policy, for RFC 7591 registrations (and the redirect URIs of CIMD documents).

What a self-registered client may claim is the AS's decision (RFC 7591 §2, §5). The rules here are the ones MCP
clients need and no more: Claude, ChatGPT, Cursor and VS Code must all register; `http://evil.example/cb` must not.
"""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_HOSTS = {"localhost"}
FORBIDDEN_SCHEMES = {"javascript", "data", "file", "vbscript", "about", "blob", "filesystem", "ftp", "ws", "wss"}
# RFC 8252 §7.1: a private-use scheme is a reverse-DNS name (com.example.app) or, as MCP clients use, a plain
# application name (cursor, vscode, claude): letters first, then letters, digits, "+", "-" or ".".
PRIVATE_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*$")


def private_schemes() -> set[str]:
    """The private-use schemes this AS accepts: OAUTH_REDIRECT_URI_SCHEMES, minus http(s). DOT checks redirects
    against the same list, so a scheme must be named there to be usable at all."""
    from oauth2_provider.settings import oauth2_settings

    return {scheme.lower() for scheme in oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES} - {"http", "https"}


APPLICATION_TYPES = {"native", "web"}
STRING_FIELDS = (
    "client_name",
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "software_id",
    "software_version",
    "scope",
)
URL_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
MAX_REDIRECT_URIS = 10
MAX_STRING = 500


class RegistrationRefused(ValueError):
    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` may not be a redirect URI, or None when it may.

    - https to any host;
    - http only to a loopback host, any port (RFC 8252 §7.3: native apps listen on a port chosen at run time);
    - a private-use scheme (RFC 8252 §7.1) the operator allows: cursor://, vscode://, claude:// by default, and
      reverse-DNS ones such as com.example.app:/cb once added to OAUTH_REDIRECT_URI_SCHEMES;
    - never javascript:, data:, file: and the like, never a fragment (RFC 6749 §3.1.2), never userinfo.
    """
    if not isinstance(uri, str) or not uri or len(uri) > 2000 or any(c.isspace() or c == "\x00" for c in uri):
        return "a redirect URI must be a non-empty string without spaces or NUL characters"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return f"{uri!r} is not a valid URI"
    scheme = parts.scheme.lower()
    if "#" in uri:
        return "redirect URIs must not contain a fragment"
    if "@" in parts.netloc:
        return "redirect URIs must not contain user information"
    if scheme == "https":
        return None if parts.hostname else "https redirect URIs need a host"
    if scheme == "http":
        return None if is_loopback(parts.hostname) else "http redirect URIs are allowed only on loopback (use https)"
    if not scheme or scheme in FORBIDDEN_SCHEMES or not PRIVATE_SCHEME.match(scheme):
        return f"the scheme of {uri!r} is not allowed"
    if scheme not in private_schemes():
        return f"the private-use scheme {scheme!r} is not enabled on this server (OAUTH_REDIRECT_URI_SCHEMES)"
    return None


@dataclass(frozen=True)
class ClientMetadata:
    """The RFC 7591 metadata this AS stores, validated."""

    redirect_uris: list[str]
    application_type: str
    client_uri: str
    logo_uri: str
    software_id: str
    software_version: str
    contacts: list[str]
    scope: str


def client_metadata_validate(metadata: dict, *, offered_scopes: set[str]) -> ClientMetadata:
    """Check the metadata a client registers with; raise RegistrationRefused with the RFC 7591 §3.2.2 error."""
    redirect_uris = metadata.get("redirect_uris")
    if not isinstance(redirect_uris, list) or not redirect_uris:
        raise RegistrationRefused("invalid_redirect_uri", "redirect_uris must be a non-empty array")
    if len(redirect_uris) > MAX_REDIRECT_URIS:
        raise RegistrationRefused("invalid_redirect_uri", f"at most {MAX_REDIRECT_URIS} redirect_uris")
    for uri in redirect_uris:
        problem = redirect_uri_problem(uri)
        if problem:
            raise RegistrationRefused("invalid_redirect_uri", problem)
    for field in STRING_FIELDS:
        value = metadata.get(field, "")
        if not isinstance(value, str) or len(value) > MAX_STRING or "\x00" in value:
            raise RegistrationRefused("invalid_client_metadata", f"{field} must be a string of at most {MAX_STRING}")
    for field in URL_FIELDS:
        value = metadata.get(field, "")
        if value and urlsplit(value).scheme != "https":
            raise RegistrationRefused("invalid_client_metadata", f"{field} must be an https URL")
    unknown_scopes = set(metadata.get("scope", "").split()) - offered_scopes
    if unknown_scopes:
        raise RegistrationRefused("invalid_client_metadata", f"unknown scope: {' '.join(sorted(unknown_scopes))}")
    application_type = metadata.get("application_type", "native")
    if not isinstance(application_type, str) or application_type not in APPLICATION_TYPES:
        raise RegistrationRefused("invalid_client_metadata", "application_type must be native or web")
    contacts = metadata.get("contacts", [])
    if (
        not isinstance(contacts, list)
        or len(contacts) > 10
        or not all(isinstance(c, str) and len(c) <= 200 for c in contacts)
    ):
        raise RegistrationRefused("invalid_client_metadata", "contacts must be an array of at most 10 strings")
    return ClientMetadata(
        redirect_uris=redirect_uris,
        application_type=application_type,
        client_uri=metadata.get("client_uri", ""),
        logo_uri=metadata.get("logo_uri", ""),
        software_id=metadata.get("software_id", ""),
        software_version=metadata.get("software_version", ""),
        contacts=contacts,
        scope=metadata.get("scope", ""),
    )
