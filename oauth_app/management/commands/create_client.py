"""Register a machine client (client credentials) or an enterprise client (jwt-bearer ID-JAGs) and print its id."""

import shlex

from django.core.management.base import BaseCommand, CommandError

from oauth_app.grants import CLIENT_CREDENTIALS, CLIENT_SECRET_BASIC, JWT_BEARER, PRIVATE_KEY_JWT
from oauth_app.grants.jwks import JWKSProblem, load_jwks_file
from oauth_app.grants.services import Refused, machine_client_create

GRANTS = {"client_credentials": CLIENT_CREDENTIALS, "jwt-bearer": JWT_BEARER, JWT_BEARER: JWT_BEARER}


class Command(BaseCommand):
    help = (
        "Register a confidential client for a grant with no browser step: client_credentials (a machine acting on "
        "its own behalf) or jwt-bearer (Enterprise-Managed Authorization: ID-JAGs from a trusted identity "
        "provider). Prints `export OAUTH_CLIENT_ID=...` and, for a client secret, `export OAUTH_CLIENT_SECRET=...` "
        "(shown this once: it is stored hashed). Everything else goes to stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="shown in the admin and, for jwt-bearer, on people's connected apps page")
        parser.add_argument("--grant", required=True, choices=sorted(GRANTS), help="the grant to enable")
        parser.add_argument(
            "--resource",
            action="append",
            dest="resources",
            required=True,
            metavar="URL",
            help="a registered MCP server its tokens may be bound to; repeat for more",
        )
        parser.add_argument(
            "--scope", help="the scopes it may be given, space-separated (default: every scope of those servers)"
        )
        parser.add_argument(
            "--auth",
            choices=[CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT],
            default=CLIENT_SECRET_BASIC,
            help="how it authenticates: a client secret (HTTP Basic or client_secret_post), or RFC 7523 "
            "private_key_jwt with the keys of --jwks-uri or --jwks-file",
        )
        keys = parser.add_mutually_exclusive_group()
        keys.add_argument("--jwks-uri", default="", help="private_key_jwt: where the client publishes its JWKS (https)")
        keys.add_argument("--jwks-file", help="private_key_jwt: a file with the client's public JWKS, stored here")

    def handle(self, *args, name, grant, resources, scope, auth, jwks_uri, jwks_file, **options):
        try:
            jwks = load_jwks_file(jwks_file) if jwks_file else None
            machine, secret = machine_client_create(
                name=name,
                grant_type=GRANTS[grant],
                resource_uris=resources,
                scope=scope,
                auth_method=auth,
                jwks_uri=jwks_uri,
                jwks=jwks,
            )
        except (Refused, JWKSProblem) as refused:
            raise CommandError(str(refused)) from refused
        servers = ", ".join(machine.resources.values_list("uri", flat=True))
        self.stderr.write(
            f"Registered {name} for {machine.get_grant_type_display()}\n  servers: {servers}\n"
            f"  scopes: {machine.scope}\n  authenticates with: {machine.get_auth_method_display()}",
            style_func=self.style.SUCCESS,
        )
        self.stdout.write(f"export OAUTH_CLIENT_ID={shlex.quote(machine.application.client_id)}")
        if secret is not None:
            self.stdout.write(f"export OAUTH_CLIENT_SECRET={shlex.quote(secret)}")
