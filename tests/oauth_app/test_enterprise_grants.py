"""Enterprise-Managed Authorization: ID-JAGs from a trusted IdP exchanged with the jwt-bearer grant (RFC 7523).

The refusals the issue lists are driven end to end in tests/e2e/test_machine_clients.py; these are the rules
around them: who the person becomes, scopes, resources, refresh, connected apps and the admin.
"""

import base64

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from oauth2_provider.models import get_access_token_model

from oauth_app.grants import JWT_BEARER
from oauth_app.grants.services import identity_provider_save, machine_client_create
from oauth_app.models import AuditEvent, Consent, FederatedIdentity, MachineClient, TrustedIdentityProvider
from oauth_app.services import resource_server_register
from tests.jose_keys import ID_JAG_TYP, Signer, id_jag_claims

pytestmark = pytest.mark.django_db

MCP, ISSUER = settings.MCP_SERVER_URL, settings.OAUTH_ISSUER
IDP = "https://idp.example.com"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def idp_key():
    return Signer("ES256")


@pytest.fixture
def idp(rs_credentials, idp_key):
    return identity_provider_save(issuer=IDP, name="Acme SSO", jwks=idp_key.jwks(), provision_users=True)[0]


@pytest.fixture
def enterprise(rs_credentials):
    created, secret = machine_client_create(name="Acme Assistant", grant_type=JWT_BEARER, resource_uris=[MCP])
    return created.application.client_id, secret


class Exchange:
    def __init__(self, client, enterprise, idp_key):
        self.client, self.enterprise, self.key = client, enterprise, idp_key

    def id_jag(self, subject="u-123", **claims):
        values = {"issuer": IDP, "audience": ISSUER, "client_id": self.enterprise[0], "subject": subject,
                  "resource": MCP, **claims}  # fmt: skip
        return self.key.sign(id_jag_claims(**values), typ=ID_JAG_TYP)

    def __call__(self, assertion=None, **data):
        body = {"grant_type": JWT_BEARER, "assertion": assertion or self.id_jag(), **data}
        return self.client.post("/token/", body, HTTP_AUTHORIZATION=basic(*self.enterprise))


@pytest.fixture
def exchange(client, enterprise, idp_key, idp):
    return Exchange(client, enterprise, idp_key)


def introspect(client, rs_credentials, token: str) -> dict:
    return client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic(*rs_credentials)).json()


def test_an_id_jag_gets_a_token_for_the_person_it_names(client, exchange, rs_credentials, enterprise):
    response = exchange(exchange.id_jag(subject="u-123", email="carol@example.com"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert "refresh_token" not in body  # the IdP was added without --allow-refresh
    person = FederatedIdentity.objects.get(subject="u-123").user
    assert person.username == "carol@example.com" and not person.has_usable_password()
    claims = introspect(client, rs_credentials, body["access_token"])
    assert (claims["username"], claims["sub"], claims["aud"]) == (person.username, str(person.pk), MCP)
    assert set(body["scope"].split()) == {"mcp", "notes:write"}
    issued = AuditEvent.objects.get(kind="token.issued", client_id=enterprise[0])
    assert issued.detail["grant_type"] == JWT_BEARER and issued.detail["idp"] == IDP and issued.actor == person
    assert AuditEvent.objects.filter(kind="identity.linked", actor=person, detail__how="provisioned").exists()


def test_the_same_person_comes_back_as_the_same_user(exchange):
    exchange(exchange.id_jag(subject="u-1", email="dave@example.com"))
    exchange(exchange.id_jag(subject="u-1", email="changed@example.com"))

    assert FederatedIdentity.objects.get().user.username == "dave@example.com"
    assert get_user_model().objects.filter(username__contains="@").count() == 1


def test_scopes_are_the_intersection_of_request_id_jag_server_and_client(exchange):
    narrowed = exchange(exchange.id_jag(scope="mcp"), scope="mcp notes:write")
    nothing_left = exchange(exchange.id_jag(scope="notes:write"), scope="mcp")

    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "mcp"
    assert nothing_left.status_code == 400 and nothing_left.json()["error"] == "invalid_scope"


def test_the_requested_resource_must_be_the_id_jags(exchange, rs_credentials):
    other = resource_server_register(uri="http://127.0.0.1:8002/mcp", name="Other", scopes={"mcp": "x"}).resource

    mismatch = exchange(resource=other.uri)
    same = exchange(resource=MCP + "/")  # another spelling of the same canonical URI

    assert mismatch.status_code == 400 and mismatch.json()["error"] == "invalid_target"
    assert same.status_code == 200


def test_an_id_jag_without_resource_is_bound_to_the_clients_server(exchange):
    assertion = exchange.key.sign(
        id_jag_claims(issuer=IDP, audience=ISSUER, client_id=exchange.enterprise[0], subject="u-9"), typ=ID_JAG_TYP
    )

    response = exchange(assertion)

    assert response.status_code == 200
    assert get_access_token_model().objects.get().resource == [MCP]


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user(username="bob", email="Bob@Example.com", password="pw")


@pytest.mark.parametrize("link_by_email, provision, expect", [(True, False, "bob"), (False, False, None)])
def test_linking_by_email_is_the_idps_choice(exchange, idp, bob, link_by_email, provision, expect):
    TrustedIdentityProvider.objects.filter(pk=idp.pk).update(link_by_email=link_by_email, provision_users=provision)

    response = exchange(exchange.id_jag(subject="b-1", email="bob@example.com"))

    if expect:
        assert response.status_code == 200
        assert FederatedIdentity.objects.get(subject="b-1").user == bob
    else:
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
        assert "no local account is linked to this person" in response.json()["error_description"]


def test_a_staff_account_is_never_linked_by_email(exchange, idp, bob):
    TrustedIdentityProvider.objects.filter(pk=idp.pk).update(link_by_email=True, provision_users=False)
    bob.is_staff = True
    bob.save()
    unverified = exchange(exchange.id_jag(subject="b-2", email="someone@example.com", email_verified=False))

    response = exchange(exchange.id_jag(subject="b-1", email="bob@example.com"))

    assert response.status_code == 400 and "never linked by email" in response.json()["error_description"]
    assert unverified.status_code == 400
    assert not FederatedIdentity.objects.exists()


def test_refresh_only_when_the_idp_allows_it_and_while_it_is_trusted(client, exchange, idp, enterprise):
    TrustedIdentityProvider.objects.filter(pk=idp.pk).update(allow_refresh=True)
    tokens = exchange().json()

    def refresh(refresh_token):
        return client.post(
            "/token/",
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            HTTP_AUTHORIZATION=basic(*enterprise),
        )

    refreshed = refresh(tokens["refresh_token"])
    TrustedIdentityProvider.objects.filter(pk=idp.pk).update(enabled=False)
    after_disabling = refresh(refreshed.json()["refresh_token"])

    assert "refresh_token" in tokens
    assert refreshed.status_code == 200
    assert refreshed.json()["scope"] == tokens["scope"]
    assert after_disabling.status_code == 400 and after_disabling.json()["error"] == "invalid_grant"
    refused = AuditEvent.objects.get(kind="token.refused", client_id=enterprise[0])
    assert refused.detail["reason"] == "the enterprise grant of this refresh token no longer allows refresh"


def test_refresh_requires_offline_access_when_the_setting_says_so(exchange, idp, settings):
    settings.MCP_AUTH = {**settings.MCP_AUTH, "REFRESH_REQUIRES_OFFLINE_ACCESS": True}
    TrustedIdentityProvider.objects.filter(pk=idp.pk).update(allow_refresh=True)

    without = exchange(scope="mcp").json()
    with_it = exchange(scope="mcp offline_access").json()

    assert "refresh_token" not in without
    assert "refresh_token" in with_it and with_it["scope"] == "mcp offline_access"


def test_a_client_secret_client_that_is_not_enabled_for_jwt_bearer_is_unauthorized(client, exchange, rs_credentials):
    machine, secret = machine_client_create(name="CI", grant_type="client_credentials", resource_uris=[MCP])
    assertion = exchange.id_jag()

    response = client.post(
        "/token/",
        {"grant_type": JWT_BEARER, "assertion": assertion},
        HTTP_AUTHORIZATION=basic(machine.application.client_id, secret),
    )

    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


def test_a_private_key_jwt_enterprise_client_authenticates_with_its_assertion(client, idp, idp_key, rs_credentials):
    from oauth_app.grants import CLIENT_ASSERTION_TYPE
    from tests.jose_keys import client_assertion_claims

    client_key = Signer("EdDSA")
    created, _ = machine_client_create(
        name="Keyed", grant_type=JWT_BEARER, resource_uris=[MCP], auth_method="private_key_jwt",
        jwks=client_key.jwks(),
    )  # fmt: skip
    client_id = created.application.client_id
    id_jag = idp_key.sign(
        id_jag_claims(issuer=IDP, audience=ISSUER, client_id=client_id, subject="k-1"), typ=ID_JAG_TYP
    )

    response = client.post(
        "/token/",
        {"grant_type": JWT_BEARER, "assertion": id_jag, "client_assertion_type": CLIENT_ASSERTION_TYPE,
         "client_assertion": client_key.sign(client_assertion_claims(client_id=client_id, audience=ISSUER))},
    )  # fmt: skip

    assert response.status_code == 200, response.content


def test_a_missing_id_jag_is_invalid_request(client, exchange, enterprise):
    missing = client.post("/token/", {"grant_type": JWT_BEARER}, HTTP_AUTHORIZATION=basic(*enterprise))

    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "claims, reason",
    [
        ({"iat": None}, "iat is missing"),
        ({"lifetime": 7200}, "exp is more than 3600 seconds ahead"),
        ({"sub": ""}, "sub is missing"),
        ({"scope": ["mcp"]}, "scope must be a space-separated string"),
        ({"resource": [MCP]}, "resource must be a string"),
        ({"exp": float("nan")}, "exp is missing"),
    ],
)
def test_malformed_id_jags_are_invalid_grant(exchange, claims, reason):
    lifetime = claims.pop("lifetime", 300)
    values = id_jag_claims(
        issuer=IDP, audience=ISSUER, client_id=exchange.enterprise[0], subject="u", lifetime=lifetime
    )
    values.update(claims)
    values = {key: value for key, value in values.items() if value is not None}

    response = exchange(exchange.key.sign(values, typ=ID_JAG_TYP))

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert reason in response.json()["error_description"]


# --- Connected apps, the admin, the command -------------------------------------------------------------------------


def test_connected_apps_show_the_enterprise_grant_and_revoke_it(client, exchange, enterprise, rs_credentials):
    token = exchange(exchange.id_jag(subject="u-7", email="erin@example.com")).json()["access_token"]
    person = FederatedIdentity.objects.get(subject="u-7").user
    client.force_login(person)

    page = client.get("/account/").content.decode()
    application = MachineClient.objects.get(application__client_id=enterprise[0]).application
    client.post(f"/account/apps/{application.pk}/revoke/")

    assert "Acme Assistant" in page and "granted by your organization (Acme SSO)" in page
    assert Consent.objects.filter(user=person).count() == 0
    assert introspect(client, rs_credentials, token) == {"active": False}


def test_add_trusted_idp_command(capsys, rs_credentials, tmp_path, idp_key):
    import json

    path = tmp_path / "idp.jwks"
    path.write_text(json.dumps(idp_key.jwks()))

    call_command(
        "add_trusted_idp", IDP, "--jwks-file", str(path), "--name", "Acme", "--link-by-email", "--allow-refresh"
    )
    call_command("add_trusted_idp", IDP, "--jwks-uri", "https://idp.example.com/jwks", "--name", "Acme SSO")

    out = capsys.readouterr().out
    idp = TrustedIdentityProvider.objects.get()
    assert "Trusted Acme" in out and "Updated Acme SSO" in out
    assert (idp.name, idp.jwks_uri, idp.jwks, idp.link_by_email, idp.allow_refresh) == (
        "Acme SSO", "https://idp.example.com/jwks", None, False, False,
    )  # fmt: skip
    with pytest.raises(CommandError, match="issuer is an https URL"):
        call_command("add_trusted_idp", "http://idp.example.com", "--jwks-uri", "https://x/jwks", "--name", "x")


@pytest.fixture
def staff(client, rs_credentials):
    client.force_login(get_user_model().objects.create_superuser(username="root", password="pw-for-tests"))
    return client


def test_the_admin_creates_a_machine_client_and_shows_its_secret_once(staff):
    from oauth_app.models import ProtectedResource

    page = staff.post(
        "/admin/oauth_app/machineclient/add/",
        {"name": "Reporting bot", "grant_type": "client_credentials", "resources": [ProtectedResource.objects.get().pk],
         "scope": "", "auth_method": "client_secret_basic", "jwks_uri": "", "jwks": ""},
    )  # fmt: skip

    assert page.status_code == 200, page.content[:2000]
    machine = MachineClient.objects.get()
    secret = page.context["client_secret"]
    assert secret in page.content.decode() and machine.application.client_id in page.content.decode()
    assert machine.scope == "mcp notes:write" and machine.application.client_type == "confidential"
    listing = staff.get("/admin/oauth_app/machineclient/").content.decode()
    assert "Reporting bot" in listing and secret not in listing
    assert secret not in staff.get(f"/admin/oauth_app/machineclient/{machine.pk}/change/").content.decode()


def test_the_admin_lists_trusted_idps_and_disabling_one_revokes_its_grants(staff, exchange, idp, rs_credentials):
    token = exchange().json()["access_token"]

    listing = staff.get("/admin/oauth_app/trustedidentityprovider/").content.decode()
    staff.post(
        "/admin/oauth_app/trustedidentityprovider/", {"action": "disable_and_revoke", "_selected_action": [idp.pk]}
    )

    assert "Acme SSO" in listing and IDP in listing
    assert TrustedIdentityProvider.objects.get().enabled is False
    assert introspect(staff, rs_credentials, token) == {"active": False}
    assert exchange().json()["error"] == "invalid_grant"


def test_deleting_a_machine_client_in_the_admin_deletes_its_application_and_tokens(staff, rs_credentials):
    from oauth2_provider.models import get_application_model

    created, secret = machine_client_create(name="Old bot", grant_type="client_credentials", resource_uris=[MCP])
    client_id = created.application.client_id
    staff.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, secret))
    assert get_access_token_model().objects.filter(application__client_id=client_id).exists()

    staff.post("/admin/oauth_app/machineclient/", {"action": "delete_selected", "_selected_action": [created.pk],
                                                    "post": "yes"})  # fmt: skip

    assert not get_application_model().objects.filter(client_id=client_id).exists()
    assert not get_access_token_model().objects.exists()
    assert AuditEvent.objects.filter(kind="client.disabled", client_id=client_id, detail__deleted=True).exists()


# --- Concurrency (PostgreSQL; SQLite serialises writers) ----------------------------------------------------------

transactional = pytest.mark.django_db(transaction=True)  # the live server's threads see committed rows only
needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")


def post_concurrently(url: str, bodies: list[dict], auth) -> list:
    import concurrent.futures

    import httpx

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(lambda body: httpx.post(url, data=body, auth=auth, timeout=30), bodies))


@transactional
@needs_postgresql
def test_one_id_jag_sent_eight_times_at_once_gives_one_token(live_server, exchange, enterprise):
    assertion = exchange.id_jag(subject="c-1")

    responses = post_concurrently(
        f"{live_server.url}/token/", [{"grant_type": JWT_BEARER, "assertion": assertion}] * 8, enterprise
    )

    assert sorted(response.status_code for response in responses) == [200] + [400] * 7
    assert {r.json()["error_description"] for r in responses if r.status_code == 400} == {
        "ID-JAG refused: its jti was used before (a replay)"
    }
    assert get_access_token_model().objects.count() == 1


@transactional
@needs_postgresql
def test_eight_id_jags_for_a_new_person_at_once_make_one_user(live_server, exchange, enterprise):
    bodies = [{"grant_type": JWT_BEARER, "assertion": exchange.id_jag(subject="c-2", email="gus@example.com")}
              for _ in range(8)]  # fmt: skip

    responses = post_concurrently(f"{live_server.url}/token/", bodies, enterprise)

    assert [response.status_code for response in responses] == [200] * 8, [r.text for r in responses]
    assert FederatedIdentity.objects.filter(subject="c-2").count() == 1
    assert get_user_model().objects.filter(email="gus@example.com").count() == 1


def test_staff_add_an_identity_provider_in_the_admin(staff):
    form = staff.get("/admin/oauth_app/trustedidentityprovider/add/")
    refused = staff.post(
        "/admin/oauth_app/trustedidentityprovider/add/",
        {"issuer": "http://idp.example.com", "name": "Plain", "jwks_uri": "https://idp.example.com/keys",
         "jwks": "", "enabled": "on", "identities-TOTAL_FORMS": "0", "identities-INITIAL_FORMS": "0"},
    )  # fmt: skip
    added = staff.post(
        "/admin/oauth_app/trustedidentityprovider/add/",
        {"issuer": IDP, "name": "Acme SSO", "jwks_uri": "https://idp.example.com/keys", "jwks": "",
         "link_by_email": "on", "enabled": "on", "identities-TOTAL_FORMS": "0", "identities-INITIAL_FORMS": "0"},
    )  # fmt: skip

    assert form.status_code == 200
    assert refused.status_code == 200 and "issuer is an https URL" in refused.content.decode()
    assert added.status_code == 302, added.content[:3000]
    idp = TrustedIdentityProvider.objects.get()
    assert (idp.issuer, idp.link_by_email, idp.provision_users) == (IDP, True, False)
    assert AuditEvent.objects.filter(kind="idp.trusted", detail__idp=IDP, detail__by="admin").exists()
    assert staff.get(f"/admin/oauth_app/trustedidentityprovider/{idp.pk}/change/").status_code == 200
