"""Audit log retention: delete events older than OAUTH_AUDIT_RETENTION_DAYS."""

from django.conf import settings
from django.core.management.base import BaseCommand

from oauth_app.services import audit_prune


class Command(BaseCommand):
    help = "Delete audit events older than --days (default: OAUTH_AUDIT_RETENTION_DAYS)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.MCP_AUTH["AUDIT_RETENTION_DAYS"])

    def handle(self, *args, days, **options):
        self.stdout.write(f"deleted {audit_prune(older_than_days=days)} audit event(s) older than {days} days")
