"""`python -m bench.peer.prepare`: migrate the peer's database, create the person who signs in and its clients; prints
them as JSON (client ids and secrets) for the benchmark."""

import json
import os
import secrets

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer.settings")

import django  # noqa: E402

django.setup()

from allauth.idp.oidc.models import Client  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench.workloads import REDIRECT_URI  # noqa: E402
from tests.e2e.stack import PASSWORD, USERNAME  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    get_user_model().objects.create_user(username=USERNAME, password=PASSWORD)
    public = Client.objects.create(
        name="bench",
        type=Client.Type.PUBLIC,
        scopes="profile",
        default_scopes="profile",
        grant_types="authorization_code\nrefresh_token",
        redirect_uris=REDIRECT_URI,
        skip_consent=True,  # codes are made before the timed part; only the token endpoint is measured
    )
    clients = {"public": public.id}
    for name, hasher in (("cheap", "md5"), ("pbkdf2", "pbkdf2_sha256")):
        secret = secrets.token_urlsafe(48)
        client = Client.objects.create(
            name=f"resource server ({name} secret hash)",
            type=Client.Type.CONFIDENTIAL,
            scopes="profile",
            default_scopes="profile",
            grant_types="client_credentials",
            secret=make_password(secret, hasher=hasher),
        )
        clients[name] = [client.id, secret]
    print(json.dumps(clients))


if __name__ == "__main__":
    main()
