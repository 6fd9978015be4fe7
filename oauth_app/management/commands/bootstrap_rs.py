"""Register MCP_SERVER_URL as a protected resource and (re)issue its resource server's introspection secret."""

import os
import shlex

from django.core.management.base import BaseCommand

from oauth_app.services import resource_server_bootstrap


class Command(BaseCommand):
    help = (
        "Register MCP_SERVER_URL and give its resource server a confidential client for introspection. "
        "Uses MCP_RS_CLIENT_SECRET when set, otherwise generates a new secret (replacing the old one) and prints "
        "the environment lines `python -m mcp_rs` needs."
    )

    def handle(self, *args, **options):
        client_id, secret = resource_server_bootstrap(client_secret=os.environ.get("MCP_RS_CLIENT_SECRET") or None)
        if os.environ.get("MCP_RS_CLIENT_SECRET"):
            self.stdout.write(f"Resource server client {client_id} now uses the secret from MCP_RS_CLIENT_SECRET.")
            return
        self.stdout.write(f"export MCP_RS_CLIENT_ID={shlex.quote(client_id)}")
        self.stdout.write(f"export MCP_RS_CLIENT_SECRET={shlex.quote(secret)}")
