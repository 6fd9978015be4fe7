"""Client ID Metadata Documents (MCP 2026-07-28's preferred registration): DOT fetches and validates them; this
module adds our redirect URI policy and the trust shown on the consent page."""

from urllib.parse import urlsplit

from django.http.request import validate_host
from oauth2_provider.cimd import CIMDError, SafeMetadataFetcher, is_cimd_client_id
from oauth2_provider.settings import oauth2_settings

from .registration import redirect_uri_problem


def document_policy_check(metadata: dict) -> None:
    """The redirect URI rules of RFC 7591 registrations hold for CIMD documents too (DOT itself accepts http to
    any host there). Raises CIMDError, which DOT turns into "unknown client" and a failure backoff."""
    for uri in metadata.get("redirect_uris") or []:
        problem = redirect_uri_problem(uri)
        if problem:
            raise CIMDError(f"redirect URI refused: {problem}")


class PolicyMetadataFetcher(SafeMetadataFetcher):
    """DOT's SSRF-hardened fetcher (https only, public addresses only, size and time bounded), plus our policy."""

    def fetch(self, client_id):
        metadata, max_age = super().fetch(client_id)
        document_policy_check(metadata)
        return metadata, max_age


def client_host(client_id: str) -> str | None:
    """The host a CIMD client_id names (what people should judge the client by), or None for other clients."""
    return urlsplit(client_id).hostname if is_cimd_client_id(client_id) else None


def host_is_trusted(host: str | None) -> bool:
    """Whether the operator trusts this client host (OAUTH_CIMD_TRUSTED_HOSTS, the list DOT's allowlist uses)."""
    return host is not None and validate_host(host, oauth2_settings.CIMD_ALLOWED_HOSTS)
