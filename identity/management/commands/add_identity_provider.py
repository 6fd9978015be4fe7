"""Create or update an upstream identity provider and print the redirect URI to register at it."""

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from identity import selectors, services


class Command(BaseCommand):
    help = (
        "Create or update an upstream identity provider people can sign in with: any OpenID Connect provider by "
        "its issuer (Okta, Entra ID, Keycloak, Google Workspace, ...), or GitHub or Google (--kind). Prints the "
        "redirect URI to register at the provider."
    )

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=["oidc", "github", "google"], default="oidc")
        parser.add_argument("--id", dest="provider_id", help="Its id, part of the redirect URI (OIDC; else the kind)")
        parser.add_argument("--name", required=True, help='Shown on the login page: "Sign in with NAME"')
        parser.add_argument("--issuer", default="", help="OIDC: the issuer URL, e.g. https://example.okta.com")
        parser.add_argument("--client-id", required=True)
        parser.add_argument(
            "--client-secret",
            help="The client secret; '-' reads it from standard input (keeps it out of the shell history). "
            "Omit it when updating a provider to keep the stored one.",
        )

    def handle(self, *args, **options):
        kind = "openid_connect" if options["kind"] == "oidc" else options["kind"]
        if kind == "openid_connect" and not (options["provider_id"] and options["issuer"]):
            raise CommandError("an OpenID Connect provider needs --id and --issuer")
        secret = options["client_secret"]
        if secret == "-":
            secret = sys.stdin.readline().strip()
        spec = services.ProviderSpec(
            kind=kind,
            provider_id=options["provider_id"] or kind,
            name=options["name"],
            client_id=options["client_id"],
            issuer=options["issuer"] if kind == "openid_connect" else "",
        )
        try:
            app, created = services.provider_save(spec=spec, client_secret=secret or None)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"{'Created' if created else 'Updated'} identity provider {spec.provider_id} ({app.name}).")
        self.stdout.write(f"Redirect URI: {selectors.provider_redirect_uri(kind=kind, provider_id=spec.provider_id)}")
