"""django-allauth's plug points, set in project/settings.py (ACCOUNT_ADAPTER, SOCIALACCOUNT_ADAPTER, MFA_ADAPTER).

The policy of this AS around allauth's flows: no local sign-up, upstream sign-in held to the operator's rules
(identity/policy.py), every upstream failure a clear page and an audit event, staff keep their second factor.
"""

import requests
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base import AuthError
from django.conf import settings
from django.db import transaction

from oauth_app import audit

from . import policy, selectors, services, views

# allauth's "Successfully signed in/out" notes: this AS's pages never showed them, and on the next page that shows
# messages (the admin) they would be stale.
QUIET_MESSAGES = {"account/messages/logged_in.txt", "account/messages/logged_out.txt"}


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "username_password_mismatch": "Your username and password did not match. Please try again.",
    }

    def is_open_for_signup(self, request):
        return False  # local accounts are made by staff (admin, createsuperuser); upstream sign-up has its own rule

    def authenticate(self, request, **credentials):
        if not settings.IDENTITY["LOCAL_LOGIN"]:
            return None  # OAUTH_LOCAL_LOGIN=0: no password is ever checked (the form is refused before this)
        return super().authenticate(request, **credentials)

    def post_login(self, request, user, **kwargs):
        response = super().post_login(request, user, **kwargs)
        sociallogin = (kwargs.get("signal_kwargs") or {}).get("sociallogin")
        services.sign_in_record(request=request, user=user, sociallogin=sociallogin, signup=kwargs.get("signup"))
        return response

    def add_message(self, request, level, message_template=None, *args, **kwargs):
        if message_template not in QUIET_MESSAGES:
            super().add_message(request, level, message_template, *args, **kwargs)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin):
        refusal = policy.upstream_refusal(sociallogin=sociallogin)
        if refusal is None:
            return
        emails = [address.email for address in sociallogin.email_addresses if address.email]
        audit.record(
            audit.Kind.UPSTREAM_REFUSED,
            actor=sociallogin.user if sociallogin.is_existing else None,
            provider=sociallogin.provider.sub_id,
            subject=sociallogin.account.uid,
            reason=refusal.reason,
            email_domains=sorted({email.rpartition("@")[2].lower() for email in emails}),
        )
        raise ImmediateHttpResponse(
            views.sign_in_problem(
                request,
                title="You cannot sign in this way",
                message=refusal.message,
                next_url=sociallogin.state.get("next"),
                status=403,
            )
        )

    def is_open_for_signup(self, request, sociallogin):
        # pre_social_login has already refused what the policy refuses; this is allauth's own gate, kept shut the
        # same way in case a flow reaches sign-up without it.
        return policy.upstream_refusal(sociallogin=sociallogin) is None

    @transaction.atomic
    def save_user(self, request, sociallogin, form=None):
        # The user, its link to (provider, sub) and its email address are written together or not at all.
        user = super().save_user(request, sociallogin, form)
        if settings.IDENTITY["SIGNUP"] == "closed":
            invitation = selectors.invitation_open(  # locked: one invitation, one account
                emails=policy.verified_emails(sociallogin), provider_id=sociallogin.provider.sub_id, for_update=True
            )
            if invitation is None:  # accepted by someone else meanwhile: fail closed, roll the user back
                message = "This invitation has just been used. Ask an administrator for a new one."
                raise ImmediateHttpResponse(
                    views.sign_in_problem(request, title="You cannot sign in this way", message=message, status=403)
                )
            services.invitation_accept(invitation=invitation, user=user)
        return user

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        """allauth's hook for a failed round trip to the provider: cancelled, state not ours, provider error."""
        extra_context = extra_context or {}
        state = extra_context.get("state")
        if error == AuthError.CANCELLED:
            reason = "cancelled"
        elif state is None:
            reason = "state_mismatch"  # no sign-in started in this session has this `state` (RFC 6749 §10.12)
        elif isinstance(exception, requests.ConnectionError | requests.Timeout):
            reason = "provider_unreachable"
        else:
            reason = "provider_error"
        raise ImmediateHttpResponse(
            upstream_failure(
                request,
                provider_id=provider.sub_id,
                provider_name=selectors.provider_name(provider),
                reason=reason,
                exception=exception,
                next_url=(state or {}).get("next"),
            )
        )


FAILURES = {
    "cancelled": ("Sign-in cancelled", "You cancelled signing in at {provider}, so you are not signed in here.", 400),
    "state_mismatch": (
        "Sign-in could not be completed",
        "This answer from {provider} does not belong to a sign-in started in this browser: it expired, was started "
        "in another browser, or was altered. Nothing was changed; start again.",
        400,
    ),
    "provider_unreachable": (
        "{provider} is not answering",
        "{provider} could not be reached, so you are not signed in. Try again in a moment; if it keeps failing, "
        "tell an administrator.",
        502,
    ),
    "provider_error": (
        "Sign-in could not be completed",
        "{provider} answered with an error, so you are not signed in. Try again; if it keeps failing, tell an "
        "administrator.",
        502,
    ),
}


def upstream_failure(request, *, provider_id, provider_name, reason, exception=None, next_url=None):
    """Audit a failed upstream sign-in and answer with a page saying what happened (never the provider's own
    words, which may carry codes or internal addresses)."""
    audit.record(  # also the log line: the exception's type, never its text
        audit.Kind.UPSTREAM_FAILED,
        actor=None,
        provider=provider_id,
        reason=reason,
        exception=type(exception).__name__ if exception is not None else "",
    )
    title, message, status = FAILURES[reason]
    return views.sign_in_problem(
        request,
        title=title.format(provider=provider_name),
        message=message.format(provider=provider_name),
        next_url=next_url,
        status=status,
    )


class MFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator):
        """With OAUTH_MFA_REQUIRED_FOR_STAFF, staff keep at least one authenticator app or security key."""
        user = authenticator.user
        if not settings.IDENTITY["MFA_REQUIRED_FOR_STAFF"] or not (user.is_staff or user.is_superuser):
            return True
        if authenticator.type == Authenticator.Type.RECOVERY_CODES:
            return True
        strong = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
        others = Authenticator.objects.filter(user=user, type__in=strong).exclude(pk=authenticator.pk)
        return others.exists()
