"""DOT scopes backend: the scopes on offer are those of the registered protected resources."""

from oauth2_provider.scopes import BaseScopes

from . import selectors


class ResourceScopes(BaseScopes):
    """Scopes come from ProtectedResource rows, not from a static setting.

    `introspection` and DOT's registration scope are never on offer: resource servers introspect with their
    client credentials, so no client can obtain a token that reads other people's tokens.
    """

    def get_all_scopes(self):
        return selectors.resource_scopes_all()

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return list(selectors.resource_scopes_all())

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        # A request without `scope` gets every scope of the resource it names (or of the default resource).
        requested = getattr(request, "resource", None) if request is not None else None
        uris = [requested] if isinstance(requested, str) else list(requested or [])
        try:
            resources = selectors.resources_resolve(uris=uris)
        except selectors.UnknownResource:
            return []
        return sorted({scope for resource in resources for scope in resource.scopes})
