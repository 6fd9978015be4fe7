"""Sign-in URLs: the login page, django-allauth's provider, connection and MFA pages under /accounts/, and the
admin's login sent through them. Included at the root, before the admin."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    # allauth pages this AS does not offer: no local sign-up, no email management, no password reset or password
    # creation by email (a person signed in upstream setting a local password would outlive their upstream account).
    re_path(
        r"^accounts/(signup|email|confirm-email|password/reset|password/set|login/code|reauthenticate/code|"
        r"3rdparty/signup|google/login/token)(/.*)?$",
        views.not_offered,
    ),
    path("accounts/password/change/", RedirectView.as_view(pattern_name="password_change")),
    path("accounts/2fa/continue/", views.continue_after_enrolment, name="identity-continue"),
    path("accounts/", include("allauth.urls")),
    # The admin's own login form would take a password past MFA and OAUTH_LOCAL_LOGIN: staff sign in on the login
    # page like everyone else (allauth's documented guard: anonymous -> login page, signed in but not staff -> 403).
    path("admin/login/", secure_admin_login(admin.site.login)),
]
