"""Register one of your own MCP servers with this AS and give its resource server introspection credentials."""

import shlex

from django.core.management.base import BaseCommand, CommandError

from oauth_app.services import ResourceServerRefused, resource_server_register


def parse_scope(value: str) -> tuple[str, str]:
    """`name=words shown on consent`, or a bare `name` shown as itself. The name ends at the first `=`."""
    name, sep, words = value.partition("=")
    if sep and not words.strip():
        raise CommandError(f"--scope {value!r}: no words after '='; write name=words, or the name alone")
    return name, words.strip() if sep else name


class Command(BaseCommand):
    help = (
        "Register (or update) the MCP server at URL and give its resource server a confidential client of its own. "
        "Prints `export MCP_RS_CLIENT_ID=...` and, for a new client or with --rotate-secret, "
        '`export MCP_RS_CLIENT_SECRET=...`, so that `eval "$(python manage.py register_mcp_server ...)"` '
        "configures the RS. Everything else goes to stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument("url", help="the server's canonical URI, e.g. https://notes.example.com/mcp")
        parser.add_argument("--name", help="shown to people on the consent page (required for a new server)")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            metavar='NAME="WORDS"',
            help="a scope the server accepts, with the words shown on consent; repeat for more. On an update the "
            "given scopes replace the stored ones; without --scope they are kept (a new server gets `mcp`)",
        )
        parser.add_argument(
            "--rotate-secret",
            action="store_true",
            help="issue a new client secret; the old one stops working for introspection at once",
        )
        parser.add_argument("--client-id", help="client id for a new server's RS (default: mcp-rs-<host-and-path>)")

    def handle(self, *args, url, name, scopes, rotate_secret, client_id, **options):
        parsed = None
        if scopes is not None:
            parsed = {}
            for value in scopes:
                scope, words = parse_scope(value)
                if scope in parsed:
                    raise CommandError(f"--scope {scope!r} is given twice")
                parsed[scope] = words
        try:
            registration = resource_server_register(
                uri=url, name=name, scopes=parsed, client_id=client_id, rotate_secret=rotate_secret
            )
        except ResourceServerRefused as refused:
            raise CommandError(str(refused)) from refused

        resource = registration.resource
        scope_list = ", ".join(f"{scope} ({words})" for scope, words in sorted(resource.scopes.items()))
        self.stderr.write(
            f"{'Registered' if registration.created else 'Updated'} {resource.name} at {resource.uri}\n"
            f"  scopes: {scope_list}\n  its resource server introspects as {registration.client_id}",
            style_func=self.style.SUCCESS,  # stderr defaults to the error style; this is news, not an error
        )
        self.stdout.write(f"export MCP_RS_CLIENT_ID={shlex.quote(registration.client_id)}")
        if registration.client_secret is not None:
            self.stdout.write(f"export MCP_RS_CLIENT_SECRET={shlex.quote(registration.client_secret)}")
        else:
            self.stderr.write(
                "The client secret is unchanged: it is stored hashed and cannot be shown again. Keep the "
                "MCP_RS_CLIENT_SECRET you have, or run again with --rotate-secret for a new one (the old one then "
                "stops working at once).",
                style_func=self.style.WARNING,
            )
