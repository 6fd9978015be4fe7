"""Two guards around sign-in: staff enrol a second factor first, and a provider's failure is a page."""

import requests
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from . import selectors
from .adapters import upstream_failure
from .views import MFA_NEXT_SESSION_KEY

# What a staff member without a second factor may still reach: enrolment itself, and the way out.
ENROLMENT_URL_NAMES = {
    "mfa_index",
    "mfa_activate_totp",
    "mfa_add_webauthn",
    "mfa_list_webauthn",
    "mfa_generate_recovery_codes",
    "mfa_view_recovery_codes",
    "mfa_download_recovery_codes",
    "mfa_reauthenticate",
    "account_reauthenticate",
    "logout",
    "account_logout",
    "identity-continue",
}


class StaffSecondFactorMiddleware:
    """OAUTH_MFA_REQUIRED_FOR_STAFF: a staff member signed in with a password and without an authenticator app or
    security key is sent to enrol one before any other page (consent and the admin included)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if selectors.second_factor_missing(request=request) and not self._enrolment_page(request):
            if request.method == "GET":
                request.session[MFA_NEXT_SESSION_KEY] = request.get_full_path()
            messages.warning(
                request, "Staff accounts need a second factor. Set up an authenticator app or a security key."
            )
            return redirect("mfa_index")
        return self.get_response(request)

    @staticmethod
    def _enrolment_page(request) -> bool:
        if request.path.startswith("/static/"):
            return True
        try:
            return resolve(request.path_info).url_name in ENROLMENT_URL_NAMES
        except Resolver404:
            return False


# allauth's views that talk to a provider: starting a sign-in (OIDC discovery) and the callback (token, userinfo).
PROVIDER_URL_NAMES = {f"{kind}_{step}" for kind in selectors.KINDS for step in ("login", "callback")}


class UpstreamErrorMiddleware:
    """allauth turns most provider failures into an error (identity/adapters.py renders it); what it lets through,
    e.g. discovery unreachable when a sign-in starts or a discovery document without its endpoints, becomes the
    same page and audit event here instead of a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        match = request.resolver_match
        if match is None or match.url_name not in PROVIDER_URL_NAMES:
            return None
        provider_id = match.kwargs.get("provider_id") or match.url_name.rpartition("_")[0]
        unreachable = isinstance(exception, requests.ConnectionError | requests.Timeout)
        return upstream_failure(
            request,
            provider_id=provider_id,
            provider_name=selectors.provider_name_by_id(provider_id=provider_id),
            reason="provider_unreachable" if unreachable else "provider_error",
            exception=exception,
            next_url=request.POST.get("next") if request.method == "POST" else None,
        )
