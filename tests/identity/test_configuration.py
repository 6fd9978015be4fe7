"""The operator's side: `add_identity_provider`, the provider admin, settings from the environment, system checks,
and the allauth pages this AS does not offer."""

import io
import os
import subprocess
import sys

import pytest
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from identity.checks import check_sign_in_policy

SECRET = "provider-client-secret-" + "s" * 20


def add_provider(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    sys.stdin, saved = io.StringIO(stdin), sys.stdin
    try:
        call_command("add_identity_provider", *args, stdout=out)
    finally:
        sys.stdin = saved
    return out.getvalue()


@pytest.mark.django_db
def test_add_identity_provider_creates_updates_and_prints_the_redirect_uri():
    created = add_provider(
        "--id", "okta", "--name", "Okta", "--issuer", "https://corp.okta.com", "--client-id", "abc",
        "--client-secret", SECRET,
    )  # fmt: skip
    updated = add_provider(
        "--id", "okta", "--name", "Corp Okta", "--issuer", "https://corp.okta.com/", "--client-id", "abc2"
    )  # fmt: skip

    assert "Redirect URI: http://127.0.0.1:8000/accounts/oidc/okta/login/callback/\n" in created
    assert created.startswith("Created") and updated.startswith("Updated") and SECRET not in created + updated
    app = SocialApp.objects.get()
    assert (app.provider, app.provider_id, app.name, app.client_id) == ("openid_connect", "okta", "Corp Okta", "abc2")
    assert app.secret == SECRET and app.settings["server_url"] == "https://corp.okta.com"  # secret kept


@pytest.mark.django_db
def test_github_and_google_need_no_issuer_and_the_secret_can_come_from_stdin():
    github = add_provider(
        "--kind", "github", "--name", "GitHub", "--client-id", "gh", "--client-secret", "-", stdin=SECRET
    )  # fmt: skip
    google = add_provider("--kind", "google", "--name", "Google", "--client-id", "go", "--client-secret", "x")

    assert "Redirect URI: http://127.0.0.1:8000/accounts/github/login/callback/" in github
    assert "Redirect URI: http://127.0.0.1:8000/accounts/google/login/callback/" in google
    assert SocialApp.objects.get(provider="github").secret == SECRET


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--id", "x", "--issuer", "http://idp.example.com"], "must be an https URL"),
        (["--id", "x/y", "--issuer", "https://idp.example.com"], "letters, digits"),
        (["--id", "github", "--issuer", "https://idp.example.com"], "reserved"),
        (["--id", "x"], "needs --id and --issuer"),
        (["--kind", "github", "--id", "gh2"], "id is 'github'"),
    ],
)
def test_add_identity_provider_refuses_unsafe_or_ambiguous_providers(args, error):
    with pytest.raises(CommandError, match=error):
        add_provider(*args, "--name", "X", "--client-id", "c", "--client-secret", "s")
    assert not SocialApp.objects.exists()


@pytest.mark.django_db
def test_admin_manages_providers_with_a_write_only_secret(admin_client):
    form = {"kind": "openid_connect", "provider_id": "entra", "name": "Entra ID", "client_id": "app-1"}
    form["issuer"] = "https://login.microsoftonline.com/tenant/v2.0"

    missing_secret = admin_client.post("/admin/socialaccount/socialapp/add/", form)
    assert missing_secret.status_code == 200 and not SocialApp.objects.exists()
    added = admin_client.post("/admin/socialaccount/socialapp/add/", {**form, "secret": SECRET})
    app = SocialApp.objects.get()
    change_page = admin_client.get(f"/admin/socialaccount/socialapp/{app.pk}/change/")
    renamed = admin_client.post(f"/admin/socialaccount/socialapp/{app.pk}/change/", {**form, "name": "Entra"})

    assert added.status_code == 302 and renamed.status_code == 302
    assert SECRET.encode() not in change_page.content
    assert b"http://127.0.0.1:8000/accounts/oidc/entra/login/callback/" in change_page.content
    app.refresh_from_db()
    assert app.name == "Entra" and app.secret == SECRET


def settings_in_a_process(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OAUTH_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", f"from django.conf import settings; {code}"],
        env={**environment, "DJANGO_SECRET_KEY": "k" * 50, **env},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )


def test_staff_mfa_is_required_by_default_in_production_only():
    code = "print(settings.IDENTITY['MFA_REQUIRED_FOR_STAFF'], settings.IDENTITY['LOCAL_LOGIN'])"
    production = settings_in_a_process(code, DJANGO_DEBUG="0", OAUTH_ISSUER="https://auth.example.com")
    development = settings_in_a_process(code)
    policy = settings_in_a_process(
        "print(settings.IDENTITY['ALLOWED_DOMAINS'], settings.SOCIALACCOUNT_EMAIL_AUTHENTICATION)",
        OAUTH_UPSTREAM_ALLOWED_DOMAINS="Corp.example, @sub.corp.example",
        OAUTH_UPSTREAM_LINK_BY_EMAIL="1",
    )
    wrong = settings_in_a_process("print(settings.IDENTITY)", OAUTH_SIGNUP="invite-only")

    assert production.stdout.split() == ["True", "True"], production.stderr
    assert development.stdout.split() == ["False", "True"], development.stderr
    assert policy.stdout.strip() == "['corp.example', 'sub.corp.example'] True", policy.stderr
    assert wrong.returncode != 0 and "OAUTH_SIGNUP must be 'open' or 'closed'" in wrong.stderr


def test_system_checks_warn_about_risky_sign_in_settings(settings):
    settings.DEBUG = False
    settings.IDENTITY = {**settings.IDENTITY, "LINK_BY_EMAIL": True, "MFA_REQUIRED_FOR_STAFF": False}

    assert [problem.id for problem in check_sign_in_policy(None)] == ["identity.W001", "identity.W002"]

    settings.IDENTITY = {**settings.IDENTITY, "ALLOWED_DOMAINS": ["corp.example"], "MFA_REQUIRED_FOR_STAFF": True}
    assert check_sign_in_policy(None) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/accounts/signup/",
        "/accounts/email/",
        "/accounts/password/reset/",
        "/accounts/password/set/",
        "/accounts/3rdparty/signup/",
        "/accounts/google/login/token/",
    ],
)
def test_allauth_pages_this_server_does_not_offer(client, path):
    page = client.get(path)

    assert page.status_code == 404 and b"Accounts are managed by an administrator" in page.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "account_page"),
    [
        ("/accounts/2fa/", True),
        ("/accounts/2fa/webauthn/", True),
        ("/accounts/3rdparty/", True),
        ("/accounts/reauthenticate/", False),
        ("/accounts/inactive/", False),
    ],
)
def test_allauth_pages_wear_the_look_of_the_others(client, user, path, account_page):
    client.force_login(user)

    page = client.get(path)

    assert page.status_code == 200 and b"oauth_app/site.css" in page.content
    assert (b'<nav class="account">' in page.content) is account_page
    assert b"Menu:" not in page.content  # allauth's plain layout is not used
