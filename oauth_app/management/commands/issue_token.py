"""Issue an access token without a browser, for developing and testing MCP servers."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from oauth_app import selectors
from oauth_app.services import dev_token_issue


class Command(BaseCommand):
    help = "Print an access token for USER bound to a resource (default: MCP_SERVER_URL). Refused outside DEBUG."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--resource", default=settings.MCP_AUTH["DEFAULT_RESOURCE"])
        parser.add_argument("--scope", default=None, help="space-separated; default: all scopes of the resource")
        parser.add_argument("--lifetime", type=int, default=settings.MCP_AUTH["DEV_TOKEN_LIFETIME"], help="seconds")
        parser.add_argument("--force", action="store_true", help="issue even though DEBUG is off")

    def handle(self, *args, username, resource, scope, lifetime, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "refused: DJANGO_DEBUG is off. Tokens minted by hand skip login and consent; "
                "pass --force if you really mean it."
            )
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        protected = selectors.resource_get(uri=resource)
        if protected is None:
            raise CommandError(f"{resource!r} is not a registered resource (run `manage.py bootstrap_rs`)")
        scopes = scope.split() if scope else sorted(protected.scopes)
        unknown = set(scopes) - set(protected.scopes)
        if unknown:
            raise CommandError(f"{protected.uri} does not accept: {' '.join(sorted(unknown))}")
        if lifetime <= 0:
            raise CommandError("--lifetime must be positive")
        self.stdout.write(dev_token_issue(user=user, resource=protected, scopes=scopes, lifetime=lifetime))
