"""Writes for machine and enterprise clients: each keyword-only, each in one transaction."""

import hashlib
import re

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model

from .. import audit
from ..models import Consent, ProtectedResource
from ..resource_uri import canonical_resource_uri
from . import CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT
from .jwks import JWKSProblem, forget, issuer_problem, jwks_problem, jwks_uri_problem
from .models import FederatedIdentity, MachineClient, TrustedIdentityProvider


class Refused(ValueError):
    """A set-up request staff made was refused; the message says why, in words they can act on."""


def _resources(uris: list[str]) -> list[ProtectedResource]:
    if not uris:
        raise Refused("give at least one MCP server (--resource URL) for the client's tokens")
    resources = []
    for uri in uris:
        try:
            resource = ProtectedResource.objects.filter(uri=canonical_resource_uri(uri)).first()
        except ValueError as exc:
            raise Refused(f"{uri!r} is not an absolute http(s) URL") from exc
        if resource is None:
            raise Refused(f"{uri} is not a registered MCP server (manage.py register_mcp_server registers one)")
        resources.append(resource)
    return resources


def granted_scope(resources, scope: str | None) -> str:
    """What a new client may be given: `scope` if the servers offer all of it, or everything they offer."""
    offered = {name for resource in resources for name in resource.scopes}
    wanted = offered if scope is None else set(scope.split())
    unknown = wanted - offered
    if unknown:
        listed, offered_list = ", ".join(sorted(unknown)), ", ".join(sorted(offered))
        raise Refused(f"{listed}: not a scope of the given server(s), which offer {offered_list}")
    if not wanted:
        raise Refused("the client would have no scope at all")
    return " ".join(sorted(wanted))


def _keys_check(*, auth_method: str, jwks_uri: str, jwks) -> None:
    if auth_method not in (CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT):
        raise Refused(f"--auth must be {CLIENT_SECRET_BASIC} or {PRIVATE_KEY_JWT}")
    if auth_method == PRIVATE_KEY_JWT and bool(jwks_uri) == bool(jwks):
        raise Refused("private_key_jwt needs the client's public keys: --jwks-uri URL or --jwks-file FILE (one)")
    if auth_method == CLIENT_SECRET_BASIC and (jwks_uri or jwks):
        raise Refused("keys are for --auth private_key_jwt; a client secret client has none")
    try:
        if jwks_uri:
            jwks_uri_problem(jwks_uri)
        elif jwks:
            jwks_problem(jwks)
    except JWKSProblem as problem:
        raise Refused(str(problem)) from problem


@transaction.atomic
def machine_client_create(
    *,
    name: str,
    grant_type: str,
    resource_uris: list[str],
    scope: str | None = None,
    auth_method: str = CLIENT_SECRET_BASIC,
    jwks_uri: str = "",
    jwks=None,
    created_by=None,
) -> tuple[MachineClient, str | None]:
    """Register a confidential client and enable `grant_type` for it, for `resource_uris` and at most `scope`
    (default: every scope those servers offer now; servers' scopes added later are not given to it).

    Returns the client and, for a client secret client, its secret, in clear this once: it is stored hashed.
    """
    if grant_type not in MachineClient.Grant.values:
        raise Refused(f"unknown grant {grant_type!r}")
    _keys_check(auth_method=auth_method, jwks_uri=jwks_uri, jwks=jwks)
    resources = _resources(resource_uris)
    machine = MachineClient(
        grant_type=grant_type,
        auth_method=auth_method,
        jwks_uri=jwks_uri,
        jwks=jwks,
        scope=granted_scope(resources, scope),
        created_by=created_by,
    )
    secret = machine_client_register(machine=machine, name=name, resources=resources, by="manage.py create_client")
    return machine, secret


@transaction.atomic
def machine_client_register(*, machine: MachineClient, name: str, resources, by: str) -> str | None:
    """Give a new, validated machine client its confidential application, and save it (the command and the admin).

    Returns the client secret, to show once, for a client secret client. A private_key_jwt client gets a random
    secret nobody is told, so no secret ever authenticates it.
    """
    name = (name or "").strip()
    if not name:
        raise Refused("the client needs a name (shown in the admin and on people's connected apps page)")
    Application = get_application_model()
    secret = generate_client_secret()
    machine.application = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,  # hashed by ClientSecretField.pre_save
        hash_client_secret=True,
        redirect_uris="",
    )
    machine.save()
    machine.resources.set(resources)
    _enabled(machine=machine, actor=machine.created_by, by=by, created=True)
    return secret if machine.auth_method == CLIENT_SECRET_BASIC else None


@transaction.atomic
def machine_client_update(*, machine: MachineClient, changed: list[str], by=None) -> None:
    """Staff changed a machine client in the admin (already validated by the model's clean()).

    Moving a client to private_key_jwt replaces its secret with one nobody is told: the old secret stops working.
    """
    if "auth_method" in changed and machine.auth_method == PRIVATE_KEY_JWT:
        machine.application.client_secret = generate_client_secret()
        machine.application.save(update_fields=["client_secret"])
    if "jwks_uri" in changed and machine.jwks_uri:
        forget(machine.jwks_uri)
    _enabled(machine=machine, actor=by, by="admin", created=False, changed=changed)


@transaction.atomic
def machine_client_delete(*, machine: MachineClient, by=None) -> None:
    """Staff deleted a machine client: its application goes with it (and so its tokens), rather than staying
    behind as a confidential client that could later pass for a resource server's introspection client."""
    application = machine.application
    audit.record(audit.Kind.CLIENT_DISABLED, actor=by, client_id=application.client_id, deleted=True, by="admin")
    application.delete()


def _enabled(*, machine: MachineClient, actor, by: str, created: bool, **detail) -> None:
    audit.record(
        audit.Kind.GRANT_ENABLED,
        actor=actor,
        client_id=machine.application.client_id,
        resource=" ".join(machine.resources.values_list("uri", flat=True)),
        grant_type=machine.grant_type,
        auth_method=machine.auth_method,
        scope=machine.scope,
        created=created,
        by=by,
        **detail,
    )


def machine_client_used(*, machine_client: MachineClient) -> None:
    MachineClient.objects.filter(pk=machine_client.pk).update(last_used=timezone.now())


def identity_provider_recorded(*, identity_provider: TrustedIdentityProvider, created: bool, by) -> None:
    """Staff saved an identity provider in the admin: forget its cached keys, and say so in the audit log."""
    if identity_provider.jwks_uri:
        forget(identity_provider.jwks_uri)
    audit.record(
        audit.Kind.IDP_TRUSTED,
        actor=by,
        idp=identity_provider.issuer,
        created=created,
        enabled=identity_provider.enabled,
        link_by_email=identity_provider.link_by_email,
        provision_users=identity_provider.provision_users,
        allow_refresh=identity_provider.allow_refresh,
        by="admin",
    )


@transaction.atomic
def identity_provider_save(
    *,
    issuer: str,
    name: str,
    jwks_uri: str = "",
    jwks=None,
    link_by_email: bool = False,
    provision_users: bool = False,
    allow_refresh: bool = False,
) -> tuple[TrustedIdentityProvider, bool]:
    """Trust the identity provider `issuer` (or update it: every option is set as given). Returns (idp, created)."""
    try:
        issuer_problem(issuer)
    except JWKSProblem as problem:
        raise Refused(str(problem)) from problem
    name = (name or "").strip()
    if not name:
        raise Refused("the identity provider needs a name (--name), shown to people on their connected apps page")
    if bool(jwks_uri) == bool(jwks):
        raise Refused("give the identity provider's public keys: --jwks-uri URL or --jwks-file FILE (one)")
    _keys_check(auth_method=PRIVATE_KEY_JWT, jwks_uri=jwks_uri, jwks=jwks)
    idp, created = TrustedIdentityProvider.objects.update_or_create(
        issuer=issuer,
        defaults={
            "name": name,
            "jwks_uri": jwks_uri,
            "jwks": jwks,
            "link_by_email": link_by_email,
            "provision_users": provision_users,
            "allow_refresh": allow_refresh,
            "enabled": True,
        },
    )
    if jwks_uri:
        forget(jwks_uri)
    audit.record(
        audit.Kind.IDP_TRUSTED,
        idp=issuer,
        created=created,
        link_by_email=link_by_email,
        provision_users=provision_users,
        allow_refresh=allow_refresh,
        by="manage.py add_trusted_idp",
    )
    return idp, created


@transaction.atomic
def identity_provider_disable(*, identity_provider: TrustedIdentityProvider, by=None) -> int:
    """Stop trusting an identity provider: its ID-JAGs and refreshes are refused, the tokens it granted revoked."""
    from ..services import _tokens_revoke

    identity_provider.enabled = False
    identity_provider.save(update_fields=["enabled"])
    count = 0
    for consent in Consent.objects.filter(identity_provider=identity_provider).select_related("user", "application"):
        count += _tokens_revoke(application=consent.application, user=consent.user)
    audit.record(audit.Kind.TOKEN_REVOKED, actor=by, idp=identity_provider.issuer, by="admin", tokens=count)
    return count


class PersonRefused(ValueError):
    """The ID-JAG's person cannot be mapped to a local user; the message says why (an `invalid_grant`)."""


USERNAME = re.compile(r"[\w.@+-]+")


def _free_username(*, email: str | None, subject: str, issuer: str) -> str:
    User = get_user_model()
    base = email if email and USERNAME.fullmatch(email) and len(email) <= 140 else re.sub(r"[^\w.@+-]", "-", subject)
    base = base[:140] or "user"
    if not User.objects.filter(username__iexact=base).exists():
        return base
    return f"{base[:130]}-{hashlib.sha256(f'{issuer} {subject}'.encode()).hexdigest()[:8]}"


@transaction.atomic
def federated_identity_resolve(
    *, identity_provider: TrustedIdentityProvider, subject: str, email: str | None, email_verified
) -> FederatedIdentity:
    """The local user an identity provider's (issuer, `sub`) is, linked on first sight per the provider's policy.

    Known pair: its user. Otherwise, with `link_by_email`, the one local user with that email (never a staff or
    superuser account, never when several share it, never when the IdP says the email is unverified); then,
    with `provision_users`, a new user with no password. Else PersonRefused.
    """
    identity = _federated_identity(identity_provider=identity_provider, subject=subject)
    if identity is None:
        # First sight of this person: one request at a time per identity provider links or provisions (a row lock
        # on PostgreSQL, SQLite's write lock otherwise), and a request that waited finds the link the first made.
        TrustedIdentityProvider.objects.select_for_update().filter(pk=identity_provider.pk).first()
        identity = _federated_identity(identity_provider=identity_provider, subject=subject)
    if identity is not None:
        if not identity.user.is_active:
            raise PersonRefused("the local account linked to this person is inactive")
        return identity
    User = get_user_model()
    user, how = None, None
    if identity_provider.link_by_email and email and email_verified is not False:
        matches = list(User.objects.filter(email__iexact=email)[:2])
        if len(matches) > 1:
            raise PersonRefused("several local accounts have this email; staff must link the person in the admin")
        if matches:
            user, how = matches[0], "email"
            if user.is_staff or user.is_superuser:
                raise PersonRefused("a staff account is never linked by email; staff must link it in the admin")
            if not user.is_active:
                raise PersonRefused("the local account with this email is inactive")
    if user is None and not identity_provider.provision_users:
        raise PersonRefused(
            "no local account is linked to this person, and this identity provider may neither link accounts by "
            "email nor provision users"
        )
    try:
        with transaction.atomic():
            if user is None:
                username = _free_username(email=email, subject=subject, issuer=identity_provider.issuer)
                user, how = User.objects.create_user(username=username, email=email or ""), "provisioned"
            identity = FederatedIdentity.objects.create(identity_provider=identity_provider, subject=subject, user=user)
    except IntegrityError as exc:
        # Another request took the username (another person's) or linked this person in between: nothing of
        # this attempt is kept (the savepoint), and the link is used if it now exists; else the client retries.
        identity = _federated_identity(identity_provider=identity_provider, subject=subject)
        if identity is None:
            raise PersonRefused("the person could not be linked just now; ask for a new ID-JAG") from exc
        return identity
    audit.record(audit.Kind.IDENTITY_LINKED, actor=user, idp=identity_provider.issuer, how=how)
    return identity


def _federated_identity(*, identity_provider: TrustedIdentityProvider, subject: str) -> FederatedIdentity | None:
    return (
        FederatedIdentity.objects.select_related("user")
        .filter(identity_provider=identity_provider, subject=subject)
        .first()
    )


@transaction.atomic
def enterprise_grant_record(
    *, identity: FederatedIdentity, machine_client: MachineClient, resources, scopes: list[str]
) -> None:
    """An ID-JAG gave `identity`'s person a token for the client: record it as the person's connected app (with
    the identity provider that granted it, and nothing remembered), and when each was last used."""
    now = timezone.now()
    for resource in resources:
        consent, _ = Consent.objects.select_for_update().get_or_create(
            user=identity.user, application=machine_client.application, resource=resource, defaults={"scopes": ""}
        )
        consent.scopes = " ".join(sorted({*consent.scopes.split(), *scopes}))
        consent.identity_provider = identity.identity_provider
        consent.save()
    FederatedIdentity.objects.filter(pk=identity.pk).update(last_used=now)
    TrustedIdentityProvider.objects.filter(pk=identity.identity_provider_id).update(last_used=now)
    MachineClient.objects.filter(pk=machine_client.pk).update(last_used=now)
