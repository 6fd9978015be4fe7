"""System checks for configuration that would make this AS unsafe or broken."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@register(Tags.security)
def check_issuer_is_https(app_configs, **kwargs):
    """OAuth 2.1 §1.5: every AS endpoint is served over TLS. Plain http is for loopback development only."""
    issuer = urlsplit(settings.OAUTH_ISSUER)
    if issuer.scheme == "https" or issuer.hostname in LOOPBACK:
        return []
    return [
        Error(
            f"OAUTH_ISSUER {settings.OAUTH_ISSUER!r} is not https.",
            hint="Serve the authorization server over https (e.g. behind a TLS proxy) and set OAUTH_ISSUER to it.",
            id="oauth_app.E001",
        )
    ]


@register(Tags.security)
def check_default_resource(app_configs, **kwargs):
    from .resource_uri import canonical_resource_uri

    try:
        canonical_resource_uri(settings.MCP_AUTH["DEFAULT_RESOURCE"])
    except ValueError:
        return [Error("MCP_SERVER_URL is not an absolute http(s) URI without fragment.", id="oauth_app.E002")]
    return []


@register(Tags.security)
def check_introspection_client_cache(app_configs, **kwargs):
    """The introspection client cache is the delay before a rotated secret or a disabled client is refused."""
    seconds = settings.MCP_AUTH["INTROSPECTION_CLIENT_CACHE_SECONDS"]
    if seconds < 0:
        return [Error("OAUTH_INTROSPECTION_CLIENT_CACHE_SECONDS must be 0 or more.", id="oauth_app.E003")]
    if seconds > 60:
        return [
            Warning(
                f"OAUTH_INTROSPECTION_CLIENT_CACHE_SECONDS is {seconds}: a rotated resource server secret or a "
                "disabled client keeps introspecting that long, and a deleted resource keeps getting tokens.",
                hint="Keep it at a few seconds (default 5); it saves one query per introspection, not more.",
                id="oauth_app.W002",
            )
        ]
    return []


def shared_limits(*, workers: int) -> list:
    """The rate limits (oauth_app/throttling.py) count token and registration requests in the default cache. Without
    REDIS_URL that is each process's own memory, so with several workers every limit is multiplied by their number
    (login lockouts live in the database and hold). `manage.py serve` asks again with its --workers."""
    if workers <= 1 or settings.REDIS_URL:
        return []
    return [
        Warning(
            f"{workers} AS workers without REDIS_URL: each counts the token and registration rate limits alone, so "
            f"every limit is {workers} times what is configured.",
            hint="Set REDIS_URL to a Redis that every worker reaches, or run one worker.",
            id="oauth_app.W001",
        )
    ]


@register(Tags.security)
def check_rate_limits_shared(app_configs, **kwargs):
    return shared_limits(workers=settings.AS_WORKERS)


from .grants import checks as grants_checks  # noqa: E402, F401  (machine and enterprise client settings)
