"""A real OpenID Connect provider for the tests: django-oauth-toolkit with OIDC on, in a process of its own.

Configured from the environment by tests/identity/provider.py: its issuer, its SQLite file and an RSA key made at
test time. It has users of its own (seeded by `python -m tests.identity.upstream.seed`) and shows DOT's own login
and consent pages.
"""

import os
from pathlib import Path

DEBUG = False
SECRET_KEY = "upstream-provider-for-tests-only"  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.identity.upstream.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["UPSTREAM_DATABASE"]}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "/static/"
LOGIN_URL = "/login/"
# Its own cookie names: cookies ignore ports, and the AS under test also runs on 127.0.0.1 in the same browser.
SESSION_COOKIE_NAME = "upstream_sessionid"
CSRF_COOKIE_NAME = "upstream_csrftoken"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # test users only: fast
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": os.environ["UPSTREAM_RSA_PRIVATE_KEY"],
    "OIDC_ISS_ENDPOINT": os.environ["UPSTREAM_ISSUER"],
    "PKCE_REQUIRED": True,  # so the tests show the AS sends PKCE to its providers
    "SCOPES": {"openid": "OpenID Connect", "profile": "Your name and username", "email": "Your email address"},
    "OAUTH2_VALIDATOR_CLASS": "tests.identity.upstream.validator.ClaimsValidator",
}
