"""Signal receivers: django-allauth's events that belong in the audit log (links and second factors).

Upstream sign-ins themselves are recorded by identity/adapters.py (success, refusal, failure), where the outcome
is decided.
"""

from allauth.mfa import signals as mfa_signals
from allauth.socialaccount import signals as socialaccount_signals
from django.dispatch import receiver

from oauth_app import audit


@receiver(socialaccount_signals.social_account_added)
def upstream_linked(sender, request, sociallogin, **kwargs):
    """A provider identity joined to an existing user: connected from the account page, or by verified email."""
    account = sociallogin.account
    audit.record(audit.Kind.UPSTREAM_LINKED, actor=sociallogin.user, provider=account.provider, subject=account.uid)


@receiver(socialaccount_signals.social_account_removed)
def upstream_unlinked(sender, request, socialaccount, **kwargs):
    audit.record(
        audit.Kind.UPSTREAM_UNLINKED,
        actor=socialaccount.user,
        provider=socialaccount.provider,
        subject=socialaccount.uid,
    )


@receiver(mfa_signals.authenticator_added)
def second_factor_added(sender, request, user, authenticator, **kwargs):
    audit.record(audit.Kind.MFA_ADDED, actor=user, type=authenticator.type)


@receiver(mfa_signals.authenticator_removed)
def second_factor_removed(sender, request, user, authenticator, **kwargs):
    audit.record(audit.Kind.MFA_REMOVED, actor=user, type=authenticator.type)


@receiver(mfa_signals.authenticator_reset)
def second_factor_reset(sender, request, user, authenticator, **kwargs):
    audit.record(audit.Kind.MFA_RESET, actor=user, type=authenticator.type)  # e.g. new recovery codes


@receiver(mfa_signals.authenticator_used)
def second_factor_used(sender, request, user, authenticator, reauthenticated=False, **kwargs):
    audit.record(audit.Kind.MFA_SUCCEEDED, actor=user, type=authenticator.type, reauthentication=reauthenticated)


@receiver(mfa_signals.authentication_failed)
def second_factor_failed(sender, request, user, authenticator=None, **kwargs):
    audit.record(audit.Kind.MFA_FAILED, actor=user, type=getattr(authenticator, "type", ""))
