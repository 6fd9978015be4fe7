"""Canonical form of resource indicators (RFC 8707 §2, MCP "Canonical Server URI")."""

from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_resource_uri(uri: str) -> str:
    """Lowercase scheme and host, no default port, no trailing slash.

    The MCP spec asks servers to accept upper-case scheme and host and to prefer the form without a trailing
    slash, so two spellings of one server compare equal. Raises ValueError for a URI that is not an absolute
    http(s) URI without fragment or userinfo.
    """
    parts = urlsplit(uri.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"not an absolute http(s) resource URI: {uri!r}")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port  # raises ValueError on a malformed port
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, parts.query, ""))
