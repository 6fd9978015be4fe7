"""What a production deployment gets: a clean `check --deploy`, framing and CORS locked down, secure cookies."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.oauth_app.flow import authorize_url

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-production-secret-key-" + "x" * 40,
    "OAUTH_ISSUER": "https://auth.example.com",
    "MCP_SERVER_URL": "https://mcp.example.com/mcp",
}


def manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**os.environ, **PRODUCTION},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )


def test_check_deploy_reports_nothing_for_an_https_production_setup():
    result = manage("check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_cookies_are_secure_httponly_and_samesite():
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0)"
    )
    result = manage("shell", "--no-imports", "-c", code)

    assert result.stdout.split() == ["True", "True", "True", "Lax", "True", "True"], result.stderr


def test_non_https_public_issuer_is_refused_outside_debug():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env={**os.environ, **PRODUCTION, "OAUTH_ISSUER": "http://auth.example.com"},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )

    assert result.returncode != 0 and "oauth_app.E001" in result.stderr


@pytest.mark.parametrize("page", ["login", "consent"])
def test_login_and_consent_pages_cannot_be_framed(client, user, public_client, pkce, page):
    if page == "consent":
        client.force_login(user)
    response = client.get("/accounts/login/" if page == "login" else authorize_url(public_client.client_id, pkce))

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/.well-known/oauth-authorization-server", True),
        ("/token/", True),
        ("/register/", True),
        ("/revoke_token/", True),
        ("/authorize/", False),
        ("/introspect/", False),
        ("/accounts/login/", False),
    ],
)
def test_cors_only_where_browser_clients_need_it(client, path, allowed):
    response = client.options(path, HTTP_ORIGIN="https://inspector.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")

    assert (response.get("Access-Control-Allow-Origin") == "*") is allowed
    assert "Access-Control-Allow-Credentials" not in response
