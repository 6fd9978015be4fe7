"""Who may sign in through an upstream provider: the operator's policy, decided before anything is created.

Each rule fails closed. A refusal names its reason (for the audit log) and what to tell the person.
"""

from dataclasses import dataclass

from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.conf import settings

from . import selectors


@dataclass(frozen=True)
class Refusal:
    reason: str  # domain | email_in_use | signup_closed
    message: str


def verified_emails(sociallogin: SocialLogin) -> list[str]:
    """The addresses the provider itself says are verified (OIDC `email_verified`, GitHub's verified emails)."""
    return [address.email.lower() for address in sociallogin.email_addresses if address.verified and address.email]


def upstream_refusal(*, sociallogin: SocialLogin) -> Refusal | None:
    """None if this upstream sign-in may go on, else why not. Runs after allauth looked the identity up (by
    (provider, sub), and by verified email when OAUTH_UPSTREAM_LINK_BY_EMAIL=1), before any user is created."""
    provider = selectors.provider_name(sociallogin.provider)
    allowed = settings.IDENTITY["ALLOWED_DOMAINS"]
    verified = verified_emails(sociallogin)
    if allowed and not any(email.rpartition("@")[2] in allowed for email in verified):
        # An unverified address proves nothing about the domain: anyone can type one at many providers.
        return Refusal(
            "domain",
            f"Only people with a verified email address at {', '.join(allowed)} may sign in here, and {provider} "
            "did not give one.",
        )
    if sociallogin.state.get("process") == AuthProcess.CONNECT or sociallogin.is_existing:
        return None  # a known link, a link by verified email (allowed by settings), or a signed-in person linking
    emails = {address.email.lower() for address in sociallogin.email_addresses if address.email}
    if selectors.users_with_emails_exist(emails=emails):
        # Not linked by email (OAUTH_UPSTREAM_LINK_BY_EMAIL is off, or the provider did not verify the address):
        # a second account with the same address would be confusing, and linking is the owner's decision.
        return Refusal(
            "email_in_use",
            f"An account here already uses the email address {provider} gave. Sign in to that account (with your "
            f"password) and connect {provider} from your account page, or ask an administrator.",
        )
    if (
        settings.IDENTITY["SIGNUP"] == "closed"
        and selectors.invitation_open(emails=verified, provider_id=sociallogin.provider.sub_id) is None
    ):
        return Refusal(
            "signup_closed",
            "This server signs in only people an administrator has added or invited. Ask an administrator to "
            "invite your email address.",
        )
    return None
