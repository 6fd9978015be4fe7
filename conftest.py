"""Small fixtures shared by the Django tests (the e2e tests have their own, in tests/e2e/conftest.py)."""

import base64
import hashlib
import secrets

import pytest
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_application_model

from oauth_app.services import resource_server_bootstrap

REDIRECT_URI = "http://127.0.0.1:33418/callback"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="alice", password="correct horse battery")


@pytest.fixture
def rs_credentials(db) -> tuple[str, str]:
    """The default MCP server registered, with its RS's (client_id, client_secret) for introspection."""
    return resource_server_bootstrap()


@pytest.fixture
def public_client(rs_credentials):
    Application = get_application_model()
    return Application.objects.create(
        name="Test MCP client",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
    )


class Pkce:
    def __init__(self):
        self.verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(self.verifier.encode()).digest()
        self.challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
def pkce() -> Pkce:
    return Pkce()


@pytest.fixture(scope="session")
def upstream_provider(tmp_path_factory):
    """A real OpenID Connect provider (django-oauth-toolkit, tests/identity/upstream/) in a process of its own,
    shared by every test that signs in upstream."""
    from tests.identity.provider import running_provider

    with running_provider(tmp_path_factory.mktemp("upstream")) as provider:
        yield provider


@pytest.fixture(autouse=True)
def fast_user_passwords(settings):
    """PBKDF2 for people's passwords is right in production and only slows tests; client secrets keep theirs."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "oauth_app.hashers.ClientSecretHasher",
    ]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters live in the cache, introspection clients and the token endpoint's resources in this
    process: each test starts with none."""
    from django.core.cache import cache

    from oauth_app.introspection import forget_clients
    from oauth_app.selectors import forget_resources

    cache.clear()
    forget_clients()
    forget_resources()
    yield
    cache.clear()
    forget_clients()
    forget_resources()
