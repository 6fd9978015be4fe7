"""Writes: upstream providers, the record of how a person signed in, invitations."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.authentication import get_authentication_records
from allauth.socialaccount.models import SocialApp
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oauth_app import audit

from . import selectors
from .models import Invitation, LastSignIn
from .selectors import KINDS

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class ProviderSpec:
    """What an operator says about an upstream provider (the command and the admin both check it here)."""

    kind: str  # openid_connect | github | google
    provider_id: str
    name: str
    client_id: str
    issuer: str = ""


def provider_spec_validate(spec: ProviderSpec) -> None:
    """Raises ValidationError for a provider this AS must not talk to."""
    if spec.kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}")
    if not spec.name or len(spec.name) > 40 or not spec.client_id:
        raise ValidationError("a name (at most 40 characters) and a client ID are required")
    if spec.kind != "openid_connect":
        if spec.provider_id != spec.kind:
            raise ValidationError(f"a {spec.kind} provider's id is {spec.kind!r} (allauth allows one of each)")
        return
    if not spec.provider_id or not spec.provider_id.replace("-", "").replace("_", "").isalnum():
        raise ValidationError("the id must be letters, digits, '-' or '_': it is part of the redirect URI")
    if spec.provider_id in KINDS:
        raise ValidationError(f"{spec.provider_id!r} is reserved for --kind {spec.provider_id}")
    issuer = urlsplit(spec.issuer)
    # OpenID Connect Core §3.1.2.1 / §16.17: the provider is reached over TLS; allauth trusts the ID token it gets
    # from the token endpoint without checking its signature because of that (§3.1.3.7), so plain http only on
    # loopback, for development and tests.
    if issuer.scheme != "https" and not (issuer.scheme == "http" and issuer.hostname in LOOPBACK):
        raise ValidationError("the issuer must be an https URL (http only on loopback)")
    if issuer.query or issuer.fragment or not issuer.hostname:
        raise ValidationError("the issuer must be a URL without query or fragment")


@transaction.atomic
def provider_save(*, spec: ProviderSpec, client_secret: str | None) -> tuple[SocialApp, bool]:
    """Creates or updates the provider `spec.provider_id`; a None secret keeps the stored one."""
    provider_spec_validate(spec)
    if spec.kind == "openid_connect":
        app = SocialApp.objects.select_for_update().filter(provider=spec.kind, provider_id=spec.provider_id).first()
    else:
        app = SocialApp.objects.select_for_update().filter(provider=spec.kind).first()
    created = app is None
    if created:
        if not client_secret:
            raise ValidationError("a client secret is required for a new provider")
        app = SocialApp(provider=spec.kind)
    app.provider_id = spec.provider_id if spec.kind == "openid_connect" else ""
    app.name = spec.name
    app.client_id = spec.client_id
    if client_secret:
        app.secret = client_secret
    if spec.kind == "openid_connect":
        app.settings = {**app.settings, "server_url": spec.issuer.rstrip("/")}
    app.save()
    return app, created


def sign_in_record(*, request, user, sociallogin=None, signup: bool = False) -> LastSignIn:
    """After a complete sign-in (second factor included): remember how, and audit an upstream one."""
    records = get_authentication_records(request, user)
    second_factor = next((record.get("type", "") for record in reversed(records) if record.get("method") == "mfa"), "")
    fields = {"method": LastSignIn.Method.PASSWORD, "provider_id": "", "provider_name": ""}
    if sociallogin is not None:
        provider = sociallogin.provider
        fields = {
            "method": LastSignIn.Method.UPSTREAM,
            "provider_id": provider.sub_id,
            "provider_name": selectors.provider_name(provider),
        }
        audit.record(
            audit.Kind.UPSTREAM_SUCCEEDED,
            actor=user,
            provider=provider.sub_id,
            subject=sociallogin.account.uid,
            new_user=signup,
        )
    last, _ = LastSignIn.objects.update_or_create(
        user=user, defaults={**fields, "second_factor": second_factor, "at": timezone.now()}
    )
    return last


def invitation_accept(*, invitation: Invitation, user) -> None:
    invitation.accepted_by = user
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_by", "accepted_at"])
