"""Set up the test provider's data: `users` creates its people; `client URI...` registers the AS as a
confidential OIDC client with those redirect URIs and prints `client_id client_secret`."""

import os
import secrets
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.identity.upstream.settings")
django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from oauth2_provider.models import get_application_model  # noqa: E402

from tests.identity.upstream.people import PASSWORD, PEOPLE  # noqa: E402
from tests.identity.upstream.validator import UNVERIFIED_GROUP  # noqa: E402


def users() -> None:
    unverified, _ = Group.objects.get_or_create(name=UNVERIFIED_GROUP)
    for username, (email, verified) in PEOPLE.items():
        user = User.objects.create_user(username=username, email=email, password=PASSWORD)
        if not verified:
            user.groups.add(unverified)


def client(redirect_uris: list[str]) -> None:
    Application = get_application_model()
    secret = secrets.token_urlsafe(32)
    application = Application.objects.create(
        name="MCP authorization server",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(redirect_uris),
        client_secret=secret,
        algorithm=Application.RS256_ALGORITHM,
    )
    print(application.client_id, secret)


if __name__ == "__main__":
    {"users": lambda: users(), "client": lambda: client(sys.argv[2:])}[sys.argv[1]]()
