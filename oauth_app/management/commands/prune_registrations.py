"""Delete self-registered clients that never completed a flow (got no token) within a configurable time."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from oauth_app.services import registrations_prune


class Command(BaseCommand):
    help = "Delete dynamically registered clients that obtained no token within --hours of registering."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=settings.MCP_AUTH["REGISTRATION_UNUSED_HOURS"])

    def handle(self, *args, hours, **options):
        deleted = registrations_prune(unused_for=timedelta(hours=hours))
        self.stdout.write(f"deleted {deleted} unused self-registered client(s) older than {hours} h")
