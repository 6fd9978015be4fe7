"""Reads: resources, clients and tokens, each query in one place."""

import hashlib

from django.conf import settings
from oauth2_provider.models import get_application_model, get_grant_model, get_refresh_token_model

from .models import ProtectedResource
from .prepared import PreparedQuery
from .recent import Recent
from .resource_uri import canonical_resource_uri


class UnknownResource(ValueError):
    """A `resource` the AS does not issue tokens for (RFC 8707 §2: `invalid_target`)."""


def resource_default() -> ProtectedResource | None:
    return resource_get(uri=settings.MCP_AUTH["DEFAULT_RESOURCE"])


def _resource_query(uri):
    return ProtectedResource.objects.filter(uri=uri)[:1]


RESOURCE = PreparedQuery(_resource_query, uri="<a resource uri>")


def resource_get(*, uri: str) -> ProtectedResource | None:
    """Asked on every token request (the token's audience), so compiled once (oauth_app/prepared.py)."""
    try:
        canonical = canonical_resource_uri(uri)
    except ValueError:
        return None
    found = RESOURCE.instances(uri=canonical)
    return found[0] if found else None


# The token endpoint's copy of each resource it found, per process, by URI as asked. Every token request names its
# audience, and resources change only when staff register, edit or delete one. Only resources found are kept, so one
# registered in another process is usable at once; one deleted or renamed there is seen within
# INTROSPECTION_CLIENT_CACHE_SECONDS (5 s), the window introspection already gives a resource moved to another
# client (and a token issued in that window for a deleted resource is refused at introspection: no resource server's
# client covers it). Changes made in this process count at once (receivers.py). Instances are shared between
# threads: read, never modified.
_recent_resources = Recent()


def forget_resources() -> None:
    _recent_resources.forget()


def resource_recent(*, uri: str) -> ProtectedResource | None:
    """resource_get(), answered from this process's copy of the last few seconds (above): the token endpoint's read."""
    resource = _recent_resources.get(uri)
    if resource is None:
        resource = resource_get(uri=uri)
        if resource is not None:
            _recent_resources.keep(uri, resource, seconds=settings.MCP_AUTH["INTROSPECTION_CLIENT_CACHE_SECONDS"])
    return resource


def resources_resolve(*, uris: list[str], recent: bool = False) -> list[ProtectedResource]:
    """The registered resources a request names, or the default one when it names none; with `recent`, read through
    resource_recent() (the token endpoint).

    Raises UnknownResource for any URI that is not registered, and when no default is registered either:
    the AS never issues a token without an audience.
    """
    read = resource_recent if recent else resource_get
    if not uris:
        default = read(uri=settings.MCP_AUTH["DEFAULT_RESOURCE"])
        if default is None:
            raise UnknownResource("no resource was requested and no default resource is registered")
        return [default]
    resolved = []
    for uri in uris:
        resource = read(uri=uri)
        if resource is None:
            raise UnknownResource(f"the resource {uri!r} is not served by this authorization server")
        resolved.append(resource)
    return resolved


def resource_names(*, uris: list[str]) -> list[str]:
    """The names of the registered resources among `uris`, in that order (what people call those servers)."""
    names = dict(ProtectedResource.objects.filter(uri__in=uris).values_list("uri", "name"))
    return [names[uri] for uri in uris if uri in names]


def resource_scopes_all() -> dict[str, str]:
    scopes: dict[str, str] = {}
    for resource in ProtectedResource.objects.only("scopes"):
        scopes.update(resource.scopes)
    return scopes


def registration_duplicate(*, fingerprint: str, ip: str | None, since):
    """The client registered with exactly this metadata from this IP since `since`, if any."""
    from .models import ClientRegistration

    match = (
        ClientRegistration.objects.select_related("application")
        .filter(fingerprint=fingerprint, registered_from=ip, created__gte=since)
        .order_by("-created")
        .first()
    )
    return match.application if match else None


def self_registered_client_count() -> int:
    Application = get_application_model()
    return Application.objects.filter(registration_source=Application.RegistrationSource.DCR).count()


def initial_access_token_usable(*, raw: str) -> bool:
    from django.db.models import F, Q
    from django.utils import timezone

    from .models import InitialAccessToken

    return (
        InitialAccessToken.objects.filter(token_checksum=hashlib.sha256(raw.encode()).hexdigest())
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
        .exists()
    )


def consent_remembered(*, user, client_id: str, resources, scopes) -> bool:
    """Whether the person asked to remember approving this client for these resources, covering these scopes."""
    from .models import Consent

    consents = Consent.objects.filter(user=user, application__client_id=client_id, resource__in=resources).exclude(
        remembered_scopes=""
    )
    covered = {consent.resource_id for consent in consents if consent.covers(scopes)}
    return bool(resources) and covered == {resource.pk for resource in resources}


def consent_approved_scopes(*, user, client_id: str, resources) -> set[str]:
    """The scopes the person already approved for this client on every one of these resources (remembered or
    not): what the consent page does not mark as new."""
    from .models import Consent

    consents = Consent.objects.filter(user=user, application__client_id=client_id, resource__in=resources)
    approved = {consent.resource_id: set(consent.scopes.split()) for consent in consents}
    if not resources or set(approved) != {resource.pk for resource in resources}:
        return set()
    return set.intersection(*approved.values())


def connected_apps(*, user):
    """The clients a person authorized, or their organization's IdP granted (an ID-JAG): consent per client and
    resource, with first and last use."""
    from .models import Consent

    return (
        Consent.objects.filter(user=user)
        .select_related("application", "resource", "identity_provider")
        .order_by("-updated")
    )


def _code_grant_query(code, application_id):
    return get_grant_model().objects.select_related("user").filter(code=code, application_id=application_id)[:1]


CODE_GRANT = PreparedQuery(_code_grant_query, code="<an authorization code>", application_id=-314159)


def code_grant(*, code: str, application):
    """The authorization code `code` of `application`, with its person, or None. Compiled once."""
    found = CODE_GRANT.instances(code=code, application_id=application.pk)
    return found[0] if found else None


def _live_refresh_token_query(checksum):
    tokens = get_refresh_token_model().objects.select_related("access_token", "user", "application")
    return tokens.filter(token_checksum=checksum, revoked__isnull=True)[:1]


LIVE_REFRESH_TOKEN = PreparedQuery(_live_refresh_token_query, checksum="<a refresh token checksum>")


def refresh_token_live(*, token: str):
    """The unrevoked refresh token `token` (DOT keeps its SHA-256), with its access token, person and client read in
    the same query: all a refresh asks about it. None for any other token, live or not. Compiled once."""
    found = LIVE_REFRESH_TOKEN.instances(checksum=hashlib.sha256(token.encode()).hexdigest())
    return found[0] if found else None


def _disabled_client_query(application_id):
    from .models import DisabledClient

    return DisabledClient.objects.filter(application_id=application_id).values_list("pk")[:1]


DISABLED_CLIENT = PreparedQuery(_disabled_client_query, application_id=-271828)


def _client_query(client_id):
    return get_application_model().objects.select_related("disabled").filter(client_id=client_id)[:1]


CLIENT = PreparedQuery(_client_query, client_id="<a client id>")


def client_with_disabled(*, client_id: str):
    """(the client `client_id`, whether staff disabled it), in one query compiled once, or None when no client has
    that id: the first thing every token request asks."""
    found = CLIENT.instances(client_id=client_id)
    if not found:
        return None
    return found[0], getattr(found[0], "disabled", None) is not None


def client_is_disabled(*, application) -> bool:
    """Asked on every token request (and authorization request), so compiled once (oauth_app/prepared.py)."""
    return bool(DISABLED_CLIENT.rows(application_id=application.pk))
