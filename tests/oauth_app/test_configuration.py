import pytest
from django.conf import settings

from oauth_app.checks import check_issuer_is_https, check_rate_limits_shared
from oauth_app.resource_uri import canonical_resource_uri


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("http://127.0.0.1:8001/mcp", "http://127.0.0.1:8001/mcp"),
        ("HTTPS://MCP.Example.com:443/mcp/", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com/", "https://mcp.example.com"),
        ("http://[::1]:8001/mcp", "http://[::1]:8001/mcp"),
    ],
)
def test_canonical_resource_uri(spelling, canonical):
    assert canonical_resource_uri(spelling) == canonical


@pytest.mark.parametrize(
    "bad", ["mcp.example.com", "https://mcp.example.com#frag", "ftp://x/y", "https://user@host/mcp", "urn:x:y"]
)
def test_invalid_resource_uris_are_refused(bad):
    with pytest.raises(ValueError):
        canonical_resource_uri(bad)


def test_public_http_issuer_fails_the_system_check(settings):
    settings.OAUTH_ISSUER = "http://auth.example.com"

    assert [error.id for error in check_issuer_is_https(None)] == ["oauth_app.E001"]


@pytest.mark.parametrize("issuer", ["https://auth.example.com", "http://127.0.0.1:8000", "http://localhost:9000"])
def test_https_or_loopback_issuer_passes(settings, issuer):
    settings.OAUTH_ISSUER = issuer

    assert check_issuer_is_https(None) == []


@pytest.mark.parametrize(
    ("workers", "redis_url", "ids"),
    [
        (2, "", ["oauth_app.W001"]),  # each worker would count the rate limits alone
        (2, "redis://127.0.0.1:6379/0", []),
        (1, "", []),
    ],
)
def test_several_workers_without_a_shared_cache_are_warned_of(settings, workers, redis_url, ids):
    settings.AS_WORKERS = workers
    settings.REDIS_URL = redis_url

    assert [warning.id for warning in check_rate_limits_shared(None)] == ids


def test_rfc9700_settings_are_on():
    provider = settings.OAUTH2_PROVIDER
    assert provider["PKCE_REQUIRED"] is True
    assert provider["ROTATE_REFRESH_TOKEN"] is True and provider["REFRESH_TOKEN_REUSE_PROTECTION"] is True
    assert provider["COMPLIANT_BCP_RFC9700_TOKEN_STORAGE"] is True
    assert provider["OIDC_ISS_ENDPOINT"] == settings.OAUTH_ISSUER


def test_settings_refuse_an_issuer_with_a_path(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "OAUTH_ISSUER": "https://auth.example.com/tenant"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR
    )

    assert result.returncode != 0
    assert "OAUTH_ISSUER must be an http(s) origin with no path" in result.stderr


def test_settings_refuse_debug_off_without_a_secret_key():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"} | {"DJANGO_DEBUG": "0"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR
    )

    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr
