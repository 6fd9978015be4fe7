"""The login page (allauth's login view with this AS's policy and look) and the pages that say why not."""

from allauth.account.views import LoginView as AllauthLoginView
from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from . import selectors

MFA_NEXT_SESSION_KEY = "identity_mfa_next"


class LoginView(AllauthLoginView):
    """One button per upstream provider ("Sign in with NAME"), then the username/password form unless
    OAUTH_LOCAL_LOGIN=0. Both keep `next`, so the person lands back on the consent page that sent them here."""

    template_name = "account/login.html"

    def post(self, request, *args, **kwargs):
        if not settings.IDENTITY["LOCAL_LOGIN"]:
            return sign_in_problem(
                request,
                title="Password sign-in is turned off",
                message="This server signs people in through their organisation's identity provider only.",
                next_url=self.get_next_url(),
                status=403,
            )
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["providers"] = selectors.login_providers(request=self.request)
        context["local_login"] = settings.IDENTITY["LOCAL_LOGIN"]
        context["next"] = self.get_next_url() or ""
        return context


def safe_next(request, next_url: str | None) -> str | None:
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return None


def sign_in_problem(request, *, title: str, message: str, next_url: str | None = None, status: int = 400):
    """A page that says what went wrong and offers to try again, back towards where the person was going."""
    login_url = reverse("login")
    next_url = safe_next(request, next_url)
    if next_url:
        login_url += "?" + urlencode({"next": next_url})
    context = {"title": title, "message": message, "try_again_url": login_url}
    return render(request, "identity/sign_in_problem.html", context, status=status)


def not_offered(request, *args, **kwargs):
    """allauth pages this AS does not offer: local sign-up, email management, password reset by email."""
    return sign_in_problem(
        request,
        title="Not available here",
        message="This server does not offer this. Accounts are managed by an administrator: ask one for help.",
        status=404,
    )


def continue_after_enrolment(request):
    """Back to where a staff member was going when OAUTH_MFA_REQUIRED_FOR_STAFF sent them to enrol."""
    next_url = safe_next(request, request.session.pop(MFA_NEXT_SESSION_KEY, None))
    return HttpResponseRedirect(next_url or reverse("home"))
