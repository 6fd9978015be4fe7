"""Reads: the providers on the login page, redirect URIs, invitations, how people signed in."""

from allauth.account.authentication import get_authentication_records
from allauth.account.utils import filter_users_by_email
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from allauth.socialaccount.adapter import get_adapter as get_socialaccount_adapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from .models import Invitation, LastSignIn

KINDS = ("openid_connect", "github", "google")


def login_providers(*, request) -> list[dict]:
    """One entry per configured provider, in name order: what the login page turns into "Sign in with NAME"."""
    providers = [
        {"id": provider.sub_id, "name": provider_name(provider), "login_url": provider.get_login_url(request)}
        for provider in get_socialaccount_adapter(request).list_providers(request)
        if provider.id in KINDS
    ]
    return sorted(providers, key=lambda provider: provider["name"].lower())


def provider_name(provider) -> str:
    """The operator's name for a provider (its SocialApp's), e.g. "Okta"; allauth's name when it has none."""
    return provider.app.name if provider.app is not None and provider.app.name else provider.name


def provider_name_by_id(*, provider_id: str) -> str:
    app = SocialApp.objects.filter(Q(provider_id=provider_id) | Q(provider=provider_id, provider_id="")).first()
    return app.name if app is not None else provider_id


def provider_redirect_uri(*, kind: str, provider_id: str) -> str:
    """The redirect URI to register at the provider: on OAUTH_ISSUER, the public origin of this AS."""
    if kind == "openid_connect":
        path = reverse("openid_connect_callback", kwargs={"provider_id": provider_id})
    else:
        path = reverse(f"{kind}_callback")
    return settings.OAUTH_ISSUER + path


def users_with_emails_exist(*, emails) -> bool:
    return any(filter_users_by_email(email) for email in emails)


def invitation_open(*, emails, provider_id: str, for_update: bool = False) -> Invitation | None:
    if not emails:
        return None
    invitations = Invitation.objects.select_for_update() if for_update else Invitation.objects
    return (
        invitations.filter(email__in=list(emails), accepted_at__isnull=True)
        .filter(Q(provider_id="") | Q(provider_id=provider_id))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )


def last_sign_in(*, user) -> LastSignIn | None:
    return LastSignIn.objects.filter(user=user).first()


def signed_in_upstream(*, request) -> bool:
    """Whether this session's sign-in went through an upstream provider (allauth's record of the session)."""
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "socialaccount" for record in records)


def second_factor_missing(*, request) -> bool:
    """OAUTH_MFA_REQUIRED_FOR_STAFF: staff signed in with a password (or any way but upstream, fail closed) who have
    no authenticator app or security key yet."""
    user = request.user
    if not settings.IDENTITY["MFA_REQUIRED_FOR_STAFF"] or not user.is_authenticated:
        return False
    if not (user.is_staff or user.is_superuser) or signed_in_upstream(request=request):
        return False
    return not is_mfa_enabled(user, [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN])
