"""System checks for machine and enterprise client settings that would be unsafe (imported by oauth_app.checks)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

MAX_LEEWAY = 300  # five minutes of clock skew is already generous: a longer one stretches every assertion's life


@register(Tags.security)
def check_assertion_settings(app_configs, **kwargs):
    problems = []
    leeway = settings.MCP_AUTH["ASSERTION_LEEWAY"]
    if not 0 <= leeway <= MAX_LEEWAY:
        problems.append(
            Error(
                f"OAUTH_ASSERTION_LEEWAY is {leeway}: it must be 0 to {MAX_LEEWAY} seconds.",
                hint="Keep the AS's clock right (NTP) rather than widening the window in which an expired "
                "client assertion or ID-JAG is still accepted.",
                id="oauth_app.E010",
            )
        )
    if settings.MCP_AUTH["JWKS_CACHE_SECONDS"] > 86400:
        problems.append(
            Warning(
                "OAUTH_JWKS_CACHE_SECONDS is more than a day: a key a client or identity provider withdrew (for "
                "one, a leaked key) would still be trusted that long.",
                id="oauth_app.W010",
            )
        )
    return problems


@register(Tags.security, Tags.database)
def check_jwks_uris_fit_the_issuer(app_configs, databases=None, **kwargs):
    """`manage.py check --database default`: an http JWKS URI left from development is refused at use once the
    issuer is public; say so before clients and IdPs find out."""
    from ..checks import LOOPBACK
    from .models import MachineClient, TrustedIdentityProvider

    if not databases or urlsplit(settings.OAUTH_ISSUER).hostname in LOOPBACK:
        return []
    problems = []
    for model in (MachineClient, TrustedIdentityProvider):
        for pk in model.objects.filter(jwks_uri__startswith="http:").values_list("pk", flat=True):
            problems.append(
                Warning(
                    f"{model._meta.verbose_name} {pk} has an http JWKS URI: it is never fetched while OAUTH_ISSUER "
                    "is not loopback, so its assertions are all refused.",
                    hint="Publish the keys at an https URL, or store them (admin, or --jwks-file).",
                    id="oauth_app.W011",
                )
            )
    return problems
