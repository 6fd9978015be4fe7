"""Trust an enterprise identity provider's ID-JAGs (MCP Enterprise-Managed Authorization)."""

from django.core.management.base import BaseCommand, CommandError

from oauth_app.grants.jwks import JWKSProblem, load_jwks_file
from oauth_app.grants.services import Refused, identity_provider_save


class Command(BaseCommand):
    help = (
        "Trust the identity provider ISSUER: ID-JAGs it signs (with a key of its JWKS) are exchanged for tokens by "
        "the clients enabled for jwt-bearer (manage.py create_client NAME --grant jwt-bearer). Running it again "
        "updates the provider: every option is set as given, so a flag left out is switched off."
    )

    def add_arguments(self, parser):
        parser.add_argument("issuer", help="the IdP's issuer identifier, exactly as in its ID-JAGs' `iss`")
        parser.add_argument("--name", required=True, help="shown to people on their connected apps page")
        keys = parser.add_mutually_exclusive_group(required=True)
        keys.add_argument("--jwks-uri", default="", help="where the IdP publishes its signing keys (https)")
        keys.add_argument("--jwks-file", help="a file with the IdP's public JWKS, stored here")
        parser.add_argument(
            "--link-by-email",
            action="store_true",
            help="link a person seen for the first time to the one local user with the ID-JAG's email (never a "
            "staff or superuser account)",
        )
        parser.add_argument(
            "--provision-users", action="store_true", help="create a local user for a person not known here yet"
        )
        parser.add_argument(
            "--allow-refresh",
            action="store_true",
            help="issue refresh tokens on its ID-JAGs (default: none; the client gets a new ID-JAG instead)",
        )

    def handle(self, *args, issuer, name, jwks_uri, jwks_file, link_by_email, provision_users, allow_refresh, **kw):
        try:
            idp, created = identity_provider_save(
                issuer=issuer,
                name=name,
                jwks_uri=jwks_uri,
                jwks=load_jwks_file(jwks_file) if jwks_file else None,
                link_by_email=link_by_email,
                provision_users=provision_users,
                allow_refresh=allow_refresh,
            )
        except (Refused, JWKSProblem) as refused:
            raise CommandError(str(refused)) from refused
        unknown = {
            (True, True): "linked by email to a local user, else a new user",
            (True, False): "linked by email to a local user, else refused",
            (False, True): "given a new local user",
            (False, False): "refused unless staff link them in the admin",
        }[(link_by_email, provision_users)]
        self.stdout.write(
            f"{'Trusted' if created else 'Updated'} {idp.name} ({idp.issuer})\n"
            f"  a person seen for the first time is {unknown}\n"
            f"  refresh tokens: {'yes' if allow_refresh else 'no (clients come back with a new ID-JAG)'}",
            style_func=self.style.SUCCESS,
        )
