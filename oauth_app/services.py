"""Writes: every state change of this app, keyword-only, each in one transaction."""

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
    set_token_value,
)

from . import audit, prepared, selectors
from .models import (
    AuditEvent,
    ClientRegistration,
    Consent,
    DisabledClient,
    InitialAccessToken,
    ProtectedResource,
    RedeemedAuthorizationCode,
)
from .resource_uri import canonical_resource_uri
from .scopes import resource_scopes_problem

# The scope every MCP server offers, and the demo server's `notes:write` (its `add_note` tool requires it).
MCP_SCOPE = {"mcp": "Use this MCP server's tools, resources and prompts as you"}
DEFAULT_SCOPES = {**MCP_SCOPE, "notes:write": "Add notes in your name"}


@transaction.atomic
def resource_register(*, uri: str, name: str, scopes: dict[str, str], introspection_client=None) -> ProtectedResource:
    """Create or update the protected resource at `uri` (idempotent; `uri` is canonicalised on save)."""
    resource, _ = ProtectedResource.objects.update_or_create(
        uri=canonical_resource_uri(uri),
        defaults={"name": name, "scopes": scopes, "introspection_client": introspection_client},
    )
    return resource


@transaction.atomic
def resource_server_bootstrap(*, client_secret: str | None = None) -> tuple[str, str]:
    """Make the default MCP server known to the AS and give its RS a confidential client to introspect with.

    Returns (client_id, client_secret). Secrets are stored hashed, so an existing one cannot be read back:
    without `client_secret` a fresh one is generated and replaces the old one.
    """
    Application = get_application_model()
    client_id = settings.MCP_AUTH["RS_CLIENT_ID"]
    secret = client_secret or generate_client_secret()
    application, _ = Application.objects.get_or_create(
        client_id=client_id,
        defaults={
            "name": f"{settings.MCP_AUTH['DEFAULT_RESOURCE_NAME']} (resource server)",
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
        },
    )
    application.client_type = Application.CLIENT_CONFIDENTIAL
    application.client_secret = secret  # hashed by ClientSecretField.pre_save
    application.hash_client_secret = True
    application.save()
    existing = selectors.resource_default()
    resource_register(
        uri=settings.MCP_AUTH["DEFAULT_RESOURCE"],
        name=existing.name if existing else settings.MCP_AUTH["DEFAULT_RESOURCE_NAME"],
        # Default scopes a newer release added are offered too; the operator's own scopes and words stay as they
        # are (this runs on every `make run`, so it must never undo an edit made in the admin).
        scopes={**DEFAULT_SCOPES, **(existing.scopes if existing else {})},
        introspection_client=application,
    )
    return client_id, secret


class ResourceServerRefused(ValueError):
    """Registering an MCP server was refused; the message says why, in words an operator can act on."""


@dataclass(frozen=True)
class ResourceServerRegistration:
    resource: ProtectedResource
    client_id: str
    client_secret: str | None  # None: the existing secret was kept (it is stored hashed and cannot be shown again)
    created: bool


CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,100}")  # RFC 3986 unreserved: safe in HTTP Basic and in a shell


def _resource_server_client_id(uri: str) -> str:
    """`mcp-rs-` and a slug of the URI's host, port and path: readable in the admin and in the RS's environment."""
    host_and_path = uri.split("://", 1)[1].split("?", 1)[0]
    return "mcp-rs-" + (re.sub(r"[^a-z0-9]+", "-", host_and_path.lower()).strip("-")[:60] or "server")


def _is_resource_server_client(application) -> bool:
    # A client-credentials client obtains no tokens here unless staff made it a machine or enterprise client
    # (oauth_app/grants/); any other such confidential client exists only to introspect, so re-attaching one to a
    # server hands over no one's access. A machine client is never taken for one.
    Application = get_application_model()
    return (
        application.client_type == Application.CLIENT_CONFIDENTIAL
        and application.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
        and not hasattr(application, "machine_client")
    )


def _resource_server_client(*, uri: str, name: str, client_id: str | None):
    """The confidential client a new (or client-less) server's RS introspects with: (application, created)."""
    Application = get_application_model()
    if client_id is None and uri == canonical_resource_uri(settings.MCP_AUTH["DEFAULT_RESOURCE"]):
        client_id = settings.MCP_AUTH["RS_CLIENT_ID"]  # the default server keeps bootstrap_rs's client id
        wanted = [client_id]
    elif client_id is None:
        slug = _resource_server_client_id(uri)
        wanted = [slug, f"{slug}-{checksum(uri)[:8]}"]  # a second spelling when another server's slug collides
    else:
        if not CLIENT_ID.fullmatch(client_id):
            raise ResourceServerRefused(
                f"--client-id {client_id!r}: use 1 to 100 letters, digits and . _ ~ - (no spaces, no URLs)"
            )
        wanted = [client_id]
    for candidate in wanted:
        application = Application.objects.filter(client_id=candidate).first()
        if application is None:
            return Application(
                client_id=candidate,
                name=f"{name} (resource server)",
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
                hash_client_secret=True,
            ), True
        # A resource server client left without a server (its server was deleted) may be taken back, e.g. when the
        # same server is registered again; a client of anything else, or of another server, never.
        if _is_resource_server_client(application) and not application.introspectable_resources.exists():
            return application, False
    raise ResourceServerRefused(
        f"the client id {wanted[-1]!r} already belongs to another application; choose one with --client-id"
    )


@transaction.atomic
def resource_server_register(
    *,
    uri: str,
    name: str | None = None,
    scopes: dict[str, str] | None = None,
    client_id: str | None = None,
    rotate_secret: bool = False,
) -> ResourceServerRegistration:
    """Register (or update) the MCP server at `uri` and give its resource server a confidential client of its own.

    Declarative: `name` and `scopes`, when given, replace what is stored; when omitted, an existing server keeps
    them (a new one needs a name and gets the `mcp` scope). A server keeps its client id for good, and its secret
    unless `rotate_secret`; a new client or a rotated secret is returned once, in clear (it is stored hashed, so
    the old one stops working for introspection at once).
    """
    try:
        canonical = canonical_resource_uri(uri)
    except ValueError as exc:
        raise ResourceServerRefused(f"{uri!r} is not an absolute http(s) URL without fragment or user info") from exc
    resource = ProtectedResource.objects.select_for_update().filter(uri=canonical).first()
    created = resource is None
    name = (name or "").strip() or None
    if created and name is None:
        raise ResourceServerRefused(f"{canonical} is not registered yet: give it a name (--name) for consent pages")
    if scopes is not None:
        if not scopes:
            raise ResourceServerRefused("a server needs at least one scope")
        problem = resource_scopes_problem(scopes)
        if problem:
            raise ResourceServerRefused(problem)
    if created:
        resource = ProtectedResource(uri=canonical, name=name, scopes=scopes or dict(MCP_SCOPE))
    else:
        resource.name = name or resource.name
        resource.scopes = scopes if scopes is not None else resource.scopes

    application = resource.introspection_client
    if application is not None and client_id is not None and client_id != application.client_id:
        raise ResourceServerRefused(
            f"{canonical} already introspects as {application.client_id!r}: a server keeps its client id "
            "(its resource server is configured with it); leave out --client-id"
        )
    new_client = False
    if application is None:
        application, new_client = _resource_server_client(uri=canonical, name=resource.name, client_id=client_id)
    secret = generate_client_secret() if new_client or rotate_secret else None
    if secret is not None:
        application.client_secret = secret  # hashed by ClientSecretField.pre_save
        application.hash_client_secret = True
    if name is not None:
        application.name = f"{name} (resource server)"
    application.save()
    resource.introspection_client = application
    resource.save()
    audit.record(
        audit.Kind.RESOURCE_REGISTERED,
        client_id=application.client_id,
        resource=resource.uri,
        created=created,
        scope=" ".join(sorted(resource.scopes)),
        secret_issued=secret is not None,
        by="manage.py register_mcp_server",
    )
    return ResourceServerRegistration(
        resource=resource, client_id=application.client_id, client_secret=secret, created=created
    )


@transaction.atomic
def dev_token_issue(*, user, resource: ProtectedResource, scopes: list[str], lifetime: int) -> str:
    """Issue an access token for `user` and `resource` without a browser flow; returns the raw token.

    For developing and testing MCP servers (the seed's "simple auth provider"). The token is stored hashed
    like every other and belongs to a dedicated public client, so it shows up (and can be revoked) in the admin.
    """
    Application = get_application_model()
    application, _ = Application.objects.get_or_create(
        client_id="dev-token-issuer",
        defaults={
            "name": "Development tokens (manage.py issue_token)",
            "client_type": Application.CLIENT_PUBLIC,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": "",
        },
    )
    raw = secrets.token_urlsafe(32)
    token = get_access_token_model()(
        user=user,
        application=application,
        expires=timezone.now() + timedelta(seconds=lifetime),
        scope=" ".join(scopes),
        resource=[resource.uri],
    )
    set_token_value(token, raw)
    token.save()
    return raw


def checksum(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()  # how DOT keys codes' records and tokens at rest


REDEEMED_CODES_PRUNE_EVERY = 600  # seconds between sweeps of stale redeemed-code records, per process
_redeemed_codes_next_prune = 0.0


def authorization_code_redeemed(*, code: str, access_token: str, token_family=None) -> None:
    """Record which tokens `code` produced (the access token, and the refresh-token family if one was issued);
    every ten minutes, forget records older than any token they could revoke (their horizon is 30 days by default,
    so sweeping on every exchange bought nothing but a query)."""
    global _redeemed_codes_next_prune
    now = time.monotonic()
    if now >= _redeemed_codes_next_prune:
        _redeemed_codes_next_prune = now + REDEEMED_CODES_PRUNE_EVERY
        lifetime = max(settings.REFRESH_TOKEN_LIFETIME, settings.ACCESS_TOKEN_LIFETIME)
        RedeemedAuthorizationCode.objects.filter(redeemed_at__lt=timezone.now() - timedelta(seconds=lifetime)).delete()
    record = RedeemedAuthorizationCode(
        code_checksum=checksum(code), token_family=token_family, access_token_checksum=checksum(access_token)
    )
    prepared.insert(record)


def token_issued(
    *, user, application, resource: list[str], resource_names: list[str] | None, scope: str, refreshed: bool, **detail
) -> None:
    """A grant issued tokens: the audit event (with `detail`: the grant type, an ID-JAG's IdP) and the client's first
    and last use, written by the validator inside the transaction that issued them (all or nothing), from the
    objects it already holds."""
    if resource_names:
        detail["resource_name"] = ", ".join(resource_names)
    audit.record(
        audit.Kind.TOKEN_REFRESHED if refreshed else audit.Kind.TOKEN_ISSUED,
        actor=user,
        client_id=application.client_id,
        resource=" ".join(resource),
        scope=scope,
        **detail,
    )
    client_token_used(application=application, user=user, first_use_possible=not refreshed)


def refresh_token_spend(*, refresh_token) -> bool:
    """Rotation's first step (RFC 9700 §4.14.2): mark `refresh_token` used and delete the access token issued with
    it, as DOT's RefreshToken.revoke() does. False when another request spent it first.

    The UPDATE is both the lock and the test: of concurrent refreshes with one token, one updates the row; the
    others wait for its commit, then find it revoked and update nothing. (DOT's revoke() reads the row with
    SELECT ... FOR UPDATE twice, then saves every column, in a savepoint: five statements instead of two.)
    """
    spent = (
        get_refresh_token_model()
        .objects.filter(pk=refresh_token.pk, revoked__isnull=True)
        .update(revoked=timezone.now(), access_token=None)
    )
    if spent and refresh_token.access_token_id is not None:
        row_delete(model=get_access_token_model(), pk=refresh_token.access_token_id, cleared=(type(refresh_token),))
    return bool(spent)


def row_delete(*, model, pk, cleared: tuple = ()) -> int:
    """Delete one row by primary key in one DELETE; returns how many rows went (0 or 1).

    Django's collector first reads the row to find what refers to it, then nulls or deletes those, then deletes it:
    three statements and most of a millisecond of Python for an access token. Here the caller names the models
    whose references it has already cleared (an access token's refresh token, nulled by the rotation's UPDATE); a
    model anything else refers to (a swapped model, another app's relation) still goes through the collector.
    """
    if any(rel.related_model not in cleared for rel in model._meta.related_objects):
        return model.objects.filter(pk=pk).delete()[1].get(model._meta.label, 0)
    connection = connections[router.db_for_write(model)]
    table, column = (connection.ops.quote_name(name) for name in (model._meta.db_table, model._meta.pk.column))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {column} = %s", [pk])  # noqa: S608 (names from the model)
        return cursor.rowcount


def authorization_code_replayed(*, code: str) -> bool:
    """A redeemed code came back: revoke everything its first exchange issued (RFC 6749 §4.1.2)."""
    redeemed = RedeemedAuthorizationCode.objects.filter(code_checksum=checksum(code)).first()
    if redeemed is None:
        return False
    get_refresh_token_model().revoke_family(redeemed.token_family)  # a no-op without a family
    if redeemed.access_token_checksum:  # the first access token, also when no refresh token came with it
        get_access_token_model().objects.filter(token_checksum=redeemed.access_token_checksum).delete()
    audit.record(audit.Kind.REPLAY_DETECTED, grant="authorization_code", family=str(redeemed.token_family or ""))
    return True


def refresh_token_replayed(*, refresh_token: str) -> bool:
    """A rotated (revoked) refresh token came back: revoke its whole family (RFC 9700 §4.14.2)."""
    RefreshToken = get_refresh_token_model()
    used = RefreshToken.objects.filter(token_checksum=checksum(refresh_token), revoked__isnull=False).first()
    if used is None:
        return False
    RefreshToken.revoke_family(used.token_family)
    audit.record(
        audit.Kind.REPLAY_DETECTED,
        actor=used.user,
        client_id=used.application.client_id if used.application else "",
        grant="refresh_token",
        family=str(used.token_family),
    )
    return True


def client_registration_record(*, application, metadata, ip: str | None, fingerprint: str) -> ClientRegistration:
    return ClientRegistration.objects.create(
        application=application,
        application_type=metadata.application_type,
        client_uri=metadata.client_uri,
        logo_uri=metadata.logo_uri,
        software_id=metadata.software_id,
        software_version=metadata.software_version,
        contacts=metadata.contacts,
        scope=metadata.scope,
        registered_from=ip,
        fingerprint=fingerprint,
    )


# What this process has written of clients' use, so that frequent tokens skip the UPDATEs that would change nothing
# or next to nothing. Remembered only once committed; per process, bounded; forgetting only costs an UPDATE.
# - Clients whose first use is recorded (or was found recorded): a first use happens once.
# - (client, person) -> when the consent's last use was written: "last used" is shown to the minute (connected
#   apps, the admin), so a client refreshing often writes it once a minute per process, not on every token.
_first_use_recorded: set = set()
_last_use_written: dict = {}
USE_MEMORY = 10_000
LAST_USE_RESOLUTION_SECONDS = 60


def client_token_used(*, application, user, first_use_possible: bool = True) -> None:
    """Called on every token issued or refreshed: the client's first and last use. A refresh is never a first use
    (a token came before it), and neither is a token of a client whose first use is already recorded."""
    now = timezone.now()
    if first_use_possible and application.pk not in _first_use_recorded:
        ClientRegistration.objects.filter(application=application, first_token_at__isnull=True).update(
            first_token_at=now
        )
        transaction.on_commit(lambda: _remember(_first_use_recorded.add, application.pk))
    last_use = (application.pk, user.pk) if user is not None else None
    written = _last_use_written.get(last_use)
    if last_use is not None and (written is None or time.monotonic() - written >= LAST_USE_RESOLUTION_SECONDS):
        Consent.objects.filter(application=application, user=user).update(last_used=now)
        transaction.on_commit(lambda: _remember(_last_use_written.__setitem__, last_use, time.monotonic()))


def _remember(store, *args) -> None:
    memory = store.__self__
    if len(memory) >= USE_MEMORY:
        memory.clear()
    store(*args)


def initial_access_token_save(*, token: InitialAccessToken, created_by=None) -> str:
    """Give a new RFC 7591 initial access token its value; returns it, to show once (only a checksum is kept)."""
    raw = secrets.token_urlsafe(32)
    token.token_checksum = checksum(raw)
    token.created_by = created_by
    token.save()
    return raw


def initial_access_token_create(*, label: str, created_by=None, expires_at=None, max_uses=None) -> str:
    token = InitialAccessToken(label=label, expires_at=expires_at, max_uses=max_uses)
    return initial_access_token_save(token=token, created_by=created_by)


def initial_access_token_spend(*, raw: str) -> None:
    InitialAccessToken.objects.filter(token_checksum=checksum(raw)).update(uses=F("uses") + 1)


@transaction.atomic
def registrations_prune(*, unused_for: timedelta) -> int:
    """Delete self-registered clients that never obtained a token within `unused_for` of registering."""
    Application = get_application_model()
    stale = Application.objects.filter(
        registration_source=Application.RegistrationSource.DCR,
        created__lt=timezone.now() - unused_for,
    ).exclude(registration__first_token_at__isnull=False)
    count = stale.count()
    stale.delete()
    return count


@transaction.atomic
def consent_record(*, user, application, resources, scopes, remembered: bool) -> None:
    """The person approved `application` for `resources` and `scopes` (remembered or for this request only).

    Approvals add up: the stored scopes are the union of everything approved for this client and resource (tokens
    from an earlier, narrower approval stay valid, so connected apps must keep showing it), and the remembered
    scopes the union of the approvals made with "Remember this decision". An approval without it never makes
    earlier scopes remembered, nor forgets those remembered before; revoking in connected apps clears both.
    """
    for resource in resources:
        consent, _ = Consent.objects.select_for_update().get_or_create(
            user=user, application=application, resource=resource, defaults={"scopes": ""}
        )
        consent.scopes = " ".join(sorted({*consent.scopes.split(), *scopes}))
        if remembered:
            consent.remembered_scopes = " ".join(sorted({*consent.remembered_scopes.split(), *scopes}))
        consent.save()
        audit.record(
            audit.Kind.CONSENT_GRANTED,
            actor=user,
            client_id=application.client_id,
            resource=resource.uri,
            scope=" ".join(sorted(scopes)),
            remembered=remembered,
        )


def _tokens_revoke(*, application, user=None) -> int:
    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    owned = {"application": application, **({"user": user} if user is not None else {})}
    revoked = RefreshToken.objects.filter(revoked__isnull=True, **owned).update(revoked=timezone.now())
    deleted, _ = AccessToken.objects.filter(**owned).delete()
    return revoked + deleted


@transaction.atomic
def client_authorization_revoke(*, user, application) -> int:
    """Connected apps → Revoke: the person's tokens for the client and their remembered consent go."""
    count = _tokens_revoke(application=application, user=user)
    Consent.objects.filter(user=user, application=application).delete()
    audit.record(
        audit.Kind.TOKEN_REVOKED, actor=user, client_id=application.client_id, by="connected apps", tokens=count
    )
    return count


@transaction.atomic
def client_tokens_revoke_all(*, application, by=None) -> int:
    count = _tokens_revoke(application=application)
    audit.record(audit.Kind.TOKEN_REVOKED, actor=by, client_id=application.client_id, by="admin", tokens=count)
    return count


@transaction.atomic
def client_disable(*, application, by=None) -> None:
    """Switch a client off: every token revoked, and the authorize and token endpoints treat it as unknown."""
    DisabledClient.objects.get_or_create(application=application, defaults={"disabled_by": by})
    client_tokens_revoke_all(application=application, by=by)
    audit.record(audit.Kind.CLIENT_DISABLED, actor=by, client_id=application.client_id)


def audit_prune(*, older_than_days: int) -> int:
    """Retention: delete audit events older than `older_than_days` (a queryset delete, not per-row delete())."""
    deleted, _ = AuditEvent.objects.filter(created__lt=timezone.now() - timedelta(days=older_than_days)).delete()
    return deleted
