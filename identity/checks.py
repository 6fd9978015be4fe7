"""System checks for sign-in settings that would be unsafe or lock everyone out."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security)
def check_sign_in_policy(app_configs, **kwargs):
    identity = settings.IDENTITY
    problems = []
    if identity["LINK_BY_EMAIL"] and not identity["ALLOWED_DOMAINS"]:
        problems.append(
            Warning(
                "OAUTH_UPSTREAM_LINK_BY_EMAIL is on for every email domain.",
                hint="Any configured provider that vouches for an address gets the local account with that address. "
                "Limit it with OAUTH_UPSTREAM_ALLOWED_DOMAINS to the domains your providers own.",
                id="identity.W001",
            )
        )
    if not settings.DEBUG and not identity["MFA_REQUIRED_FOR_STAFF"] and identity["LOCAL_LOGIN"]:
        problems.append(
            Warning(
                "Staff may sign in with a password alone (OAUTH_MFA_REQUIRED_FOR_STAFF=0).",
                hint="Set OAUTH_MFA_REQUIRED_FOR_STAFF=1, or OAUTH_LOCAL_LOGIN=0 to sign in through providers only.",
                id="identity.W002",
            )
        )
    if any("@" in domain or "." not in domain for domain in identity["ALLOWED_DOMAINS"]):
        problems.append(
            Error(
                f"OAUTH_UPSTREAM_ALLOWED_DOMAINS must list domains (example.com), got {identity['ALLOWED_DOMAINS']}.",
                id="identity.E001",
            )
        )
    return problems
