"""What a machine or enterprise client may be given: which MCP servers (RFC 8707) and which scopes (RFC 6749 §3.3)."""

from oauthlib.oauth2.rfc6749 import errors

from ..resource_uri import canonical_resource_uri
from ..scopes import OFFLINE_ACCESS


def invalid_target(description: str, request) -> errors.CustomOAuth2Error:
    return errors.CustomOAuth2Error(error="invalid_target", description=description, request=request)


def bound_resources(*, machine_client, requested: list[str], request) -> list:
    """The registered resources the token is bound to: those requested, each one staff gave this client.

    RFC 8707 §2: a resource the client may not have is `invalid_target`. A request that names none is bound to the
    client's resource when it has exactly one (MCP clients of 2025-03-26 send none); a client given several must
    say which, so no token is ever bound to servers nobody asked for.
    """
    allowed = {resource.uri: resource for resource in machine_client.resources.all()}
    if not requested:
        if len(allowed) == 1:
            return list(allowed.values())
        raise invalid_target("this client may use several MCP servers: name one with `resource`", request)
    bound = []
    for uri in requested:
        try:
            canonical = canonical_resource_uri(uri)
        except ValueError:
            raise invalid_target(f"{uri!r} is not an absolute http(s) URI without fragment", request) from None
        if canonical not in allowed:
            from ..selectors import resource_get

            if resource_get(uri=canonical) is None:
                raise invalid_target(f"the resource {uri!r} is not served by this authorization server", request)
            raise invalid_target(f"this client was not given the resource {uri!r}", request)
        if allowed[canonical] not in bound:
            bound.append(allowed[canonical])
    return bound


def granted_scopes(*, requested, machine_client, resources, limit=None, offline_access=False, request) -> list[str]:
    """Requested ∩ what staff gave the client ∩ what the servers offer (∩ `limit`, the ID-JAG's `scope`).

    RFC 6749 §3.3 lets the AS issue less than was asked; the token response's `scope` then says what was given.
    No request scope means everything permitted. `offline_access` (the AS's own scope, a request for a refresh
    token) is kept only where `offline_access` says refresh is allowed. Nothing left is `invalid_scope`.
    """
    offered = {name for resource in resources for name in resource.scopes}
    permitted = offered & machine_client.scopes
    if limit is not None:
        permitted &= set(limit)
    if offline_access:
        permitted.add(OFFLINE_ACCESS)
    wanted = set(requested or []) or (permitted - {OFFLINE_ACCESS})
    granted = wanted & permitted
    if not granted - {OFFLINE_ACCESS}:
        raise errors.InvalidScopeError(
            description="none of the requested scopes may be given to this client for this server", request=request
        )
    return sorted(granted)


def grant_type_allowed(*, request, grant_type: str) -> bool:
    """Whether the authenticated client may use `grant_type`, one of this package's: only with staff's enablement.

    Sets `request.machine_client` for the grant. Every other client (public, self-registered through DCR or CIMD,
    a person's authorization-code client, a resource server's introspection client) is `unauthorized_client`.
    """
    from .selectors import machine_client_get

    request.machine_client = machine_client_get(application=request.client, grant_type=grant_type)
    return request.machine_client is not None
