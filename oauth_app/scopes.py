"""Scopes: those of the registered protected resources, plus the AS's own `offline_access`.

The DOT scopes backend lives here, with the rules a resource's scope names follow.
"""

import re

from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings

from . import selectors

# MCP 2026-07-28 "Refresh Tokens" (SEP-2207): clients MAY ask for `offline_access` when the AS lists it in its
# RFC 8414 `scopes_supported`. It asks for a refresh token, not for anything at a resource server, so it is a
# scope of the AS, accepted with any resource and never one of a resource's scopes (the spec says resource
# servers SHOULD NOT advertise it).
OFFLINE_ACCESS = "offline_access"
AS_SCOPES = {OFFLINE_ACCESS: "Stay connected when you are away (keep access after this session, until you revoke it)"}

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), printable ASCII without space, '"' and '\'.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
MAX_SCOPE_LENGTH = 100


def reserved_scopes() -> set[str]:
    """Names no resource may use: the AS's own scopes, `introspection` (resource servers introspect with their
    client credentials, so no token may carry it) and DOT's registration-management scope."""
    return {*AS_SCOPES, "introspection", oauth2_settings.DCR_REGISTRATION_SCOPE}


def resource_scopes_problem(scopes) -> str | None:
    """Why `scopes` ({name: words shown on consent}) cannot be a resource's scopes, or None when it can."""
    if not isinstance(scopes, dict):
        return 'scopes must be an object of {"scope": "words shown on consent"}'
    for name, words in scopes.items():
        if not isinstance(name, str) or not SCOPE_TOKEN.fullmatch(name) or len(name) > MAX_SCOPE_LENGTH:
            return (
                f"{name!r} is not a scope name: printable ASCII without spaces, quotes or backslashes "
                f"(RFC 6749 §3.3), at most {MAX_SCOPE_LENGTH} characters"
            )
        if name in reserved_scopes():
            return f"{name!r} is reserved by the authorization server and cannot be a resource's scope"
        if not isinstance(words, str) or not words.strip():
            return f"the scope {name!r} needs words to show on the consent page"
    return None


def scope_words(resources) -> dict[str, str]:
    """What each scope offered with `resources` means, in the words their servers chose (and the AS's own)."""
    words: dict[str, str] = {}
    for resource in resources:
        words.update(resource.scopes)
    return {**words, **AS_SCOPES}


class ResourceScopes(BaseScopes):
    """Scopes come from ProtectedResource rows, not from a static setting, plus `offline_access`.

    `introspection` and DOT's registration scope are never on offer: resource servers introspect with their
    client credentials, so no client can obtain a token that reads other people's tokens. The available scopes
    are also RFC 8414 `scopes_supported` (DOT's metadata view reads them from here).
    """

    def get_all_scopes(self):
        return {**selectors.resource_scopes_all(), **AS_SCOPES}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return list(self.get_all_scopes())

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        # A request without `scope` gets every scope of the resource it names (or of the default resource), and
        # not `offline_access`: a client that wants it says so (OAUTH_REFRESH_REQUIRES_OFFLINE_ACCESS).
        requested = getattr(request, "resource", None) if request is not None else None
        uris = [requested] if isinstance(requested, str) else list(requested or [])
        try:
            resources = selectors.resources_resolve(uris=uris)
        except selectors.UnknownResource:
            return []
        return sorted({scope for resource in resources for scope in resource.scopes})
