"""Client credentials for machine clients staff registered: client secrets and private_key_jwt (RFC 7523 §2.2).

The tokens have no user; introspection names the client as `sub`; they are bound to the resources staff gave the
client and carry at most its scopes. Every other client is refused, each refusal in the audit log with its reason.
"""

import base64
import json

import jwt
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from oauth2_provider.models import get_application_model

from oauth_app.grants import CLIENT_ASSERTION_TYPE, CLIENT_CREDENTIALS, JWT_BEARER
from oauth_app.grants.services import Refused, machine_client_create
from oauth_app.models import AuditEvent, DisabledClient, MachineClient
from oauth_app.services import resource_server_register
from tests.jose_keys import JWKSServer, Signer, client_assertion_claims

pytestmark = pytest.mark.django_db

MCP = settings.MCP_SERVER_URL
ISSUER = settings.OAUTH_ISSUER


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def introspect(client, rs_credentials, token: str) -> dict:
    return client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic(*rs_credentials)).json()


def refusal(client_id: str) -> AuditEvent:
    return AuditEvent.objects.filter(kind="token.refused", client_id=client_id).latest("created")


@pytest.fixture
def machine(rs_credentials):
    client, secret = machine_client_create(
        name="CI job", grant_type=CLIENT_CREDENTIALS, resource_uris=[MCP], scope="mcp"
    )
    return client.application.client_id, secret


@pytest.fixture
def other_server(rs_credentials):
    return resource_server_register(uri="http://127.0.0.1:8002/mcp", name="Other", scopes={"mcp": "Use it"}).resource


def test_a_machine_client_gets_a_token_with_no_user_bound_to_its_server(client, machine, rs_credentials):
    client_id, secret = machine

    response = client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(*machine))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["scope"] == "mcp" and "refresh_token" not in body  # RFC 6749 §4.4.3
    claims = introspect(client, rs_credentials, body["access_token"])
    assert claims["active"] is True and claims["aud"] == MCP
    assert claims["sub"] == client_id == claims["client_id"]
    assert "username" not in claims
    issued = AuditEvent.objects.filter(kind="token.issued", client_id=client_id).get()
    assert issued.detail["grant_type"] == "client_credentials" and issued.actor is None
    assert MachineClient.objects.get(application__client_id=client_id).last_used is not None


def test_client_secret_post_works_too_and_scopes_are_narrowed_to_what_staff_gave(client, machine):
    client_id, secret = machine

    response = client.post(
        "/token/",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
         "resource": MCP, "scope": "mcp notes:write"},
    )  # fmt: skip

    assert response.status_code == 200
    assert response.json()["scope"] == "mcp"  # RFC 6749 §3.3: less than asked, and the response says so


def test_a_scope_staff_did_not_give_is_invalid_scope(client, machine):
    response = client.post(
        "/token/", {"grant_type": "client_credentials", "scope": "notes:write"}, HTTP_AUTHORIZATION=basic(*machine)
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"
    assert refusal(machine[0]).detail["error"] == "invalid_scope"


def test_a_resource_the_client_was_not_given_is_invalid_target(client, machine, other_server):
    given_elsewhere = client.post(
        "/token/",
        {"grant_type": "client_credentials", "resource": other_server.uri},
        HTTP_AUTHORIZATION=basic(*machine),
    )
    unregistered = client.post(
        "/token/",
        {"grant_type": "client_credentials", "resource": "https://nowhere.example/mcp"},
        HTTP_AUTHORIZATION=basic(*machine),
    )

    assert given_elsewhere.status_code == 400 and given_elsewhere.json()["error"] == "invalid_target"
    assert unregistered.status_code == 400 and unregistered.json()["error"] == "invalid_target"
    events = AuditEvent.objects.filter(kind="token.refused", client_id=machine[0]).order_by("created")
    assert [event.detail["reason"] for event in events] == [
        f"this client was not given the resource '{other_server.uri}'",
        "the resource 'https://nowhere.example/mcp' is not served by this authorization server",
    ]


def test_a_client_with_several_servers_must_name_one(client, rs_credentials, other_server):
    created, secret = machine_client_create(
        name="Two", grant_type=CLIENT_CREDENTIALS, resource_uris=[MCP, other_server.uri]
    )
    credentials = basic(created.application.client_id, secret)

    unnamed = client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=credentials)
    named = client.post(
        "/token/", {"grant_type": "client_credentials", "resource": other_server.uri}, HTTP_AUTHORIZATION=credentials
    )

    assert unnamed.status_code == 400 and unnamed.json()["error"] == "invalid_target"
    assert named.status_code == 200


@pytest.fixture
def authorization_code_confidential_client(rs_credentials):
    Application = get_application_model()
    application = Application(
        name="Web app",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://app.example/cb",
        client_secret="web-app-secret",
    )
    application.save()
    return application.client_id, "web-app-secret"


def test_nothing_else_opens_client_credentials(
    client, public_client, rs_credentials, authorization_code_confidential_client
):
    registered = client.post(
        "/register/",
        json.dumps({"client_name": "DCR", "redirect_uris": ["http://127.0.0.1:9/cb"],
                    "token_endpoint_auth_method": "client_secret_basic"}),
        content_type="application/json",
    ).json()  # fmt: skip
    attempts = {
        "public": {"client_id": public_client.client_id},
        "dcr": {"client_id": registered["client_id"], "client_secret": registered.get("client_secret", "")},
        "resource server": {"client_id": rs_credentials[0], "client_secret": rs_credentials[1]},
        "authorization code": dict(
            zip(("client_id", "client_secret"), authorization_code_confidential_client, strict=True)
        ),
    }

    errors = {}
    for name, credentials in attempts.items():
        response = client.post("/token/", {"grant_type": "client_credentials", **credentials})
        errors[name] = (response.status_code, response.json()["error"])
        assert refusal(credentials["client_id"]).detail["error"] == response.json()["error"]

    assert errors == {
        "public": (401, "invalid_client"),  # RFC 6749 §4.4: confidential clients only
        "dcr": (400, "unauthorized_client"),
        "resource server": (400, "unauthorized_client"),
        "authorization code": (400, "unauthorized_client"),
    }


def test_a_machine_client_cannot_use_the_browser_flow_or_the_other_grant(client, machine, rs_credentials):
    enterprise, secret = machine_client_create(name="Ent", grant_type=JWT_BEARER, resource_uris=[MCP])

    code = client.post(
        "/token/",
        {"grant_type": "authorization_code", "code": "x", "redirect_uri": "https://a/cb", "code_verifier": "v" * 43},
        HTTP_AUTHORIZATION=basic(*machine),
    )
    jwt_bearer_client = client.post(
        "/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(enterprise.application.client_id, secret),
    )

    assert code.status_code == 400 and code.json()["error"] == "unauthorized_client"
    assert jwt_bearer_client.status_code == 400 and jwt_bearer_client.json()["error"] == "unauthorized_client"


def test_a_disabled_machine_client_is_unknown(client, machine):
    DisabledClient.objects.create(application=get_application_model().objects.get(client_id=machine[0]))

    response = client.post("/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(*machine))

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_basic_and_body_naming_different_clients_is_invalid_client_not_a_500(client, machine, public_client):
    response = client.post(
        "/token/",
        {"grant_type": "client_credentials", "client_id": public_client.client_id},
        HTTP_AUTHORIZATION=basic(*machine),
    )

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


# --- private_key_jwt ----------------------------------------------------------------------------------------------


@pytest.fixture
def signer():
    return Signer("RS256")


@pytest.fixture
def jwt_client(rs_credentials, signer):
    created, secret = machine_client_create(
        name="Agent", grant_type=CLIENT_CREDENTIALS, resource_uris=[MCP], auth_method="private_key_jwt",
        jwks=signer.jwks(),
    )  # fmt: skip
    assert secret is None
    return created.application.client_id


def assertion_request(client, assertion: str, **extra):
    data = {"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion, "resource": MCP, **extra}  # fmt: skip
    return client.post("/token/", data)


@pytest.mark.parametrize(
    "audience",
    [ISSUER, ISSUER + "/", f"{ISSUER}/token/", f"{ISSUER}/token"],
    ids=["issuer", "issuer/", "token/", "token"],
)
def test_private_key_jwt_accepts_the_issuer_or_the_token_endpoint_as_audience(
    client, jwt_client, signer, rs_credentials, audience
):
    response = assertion_request(client, signer.sign(client_assertion_claims(client_id=jwt_client, audience=audience)))

    assert response.status_code == 200, response.content
    claims = introspect(client, rs_credentials, response.json()["access_token"])
    assert claims["sub"] == jwt_client and "username" not in claims


@pytest.mark.parametrize("alg", ["PS256", "ES256", "EdDSA"])
def test_private_key_jwt_with_each_allowed_algorithm(client, rs_credentials, alg):
    key = Signer(alg)
    created, _ = machine_client_create(
        name=alg, grant_type=CLIENT_CREDENTIALS, resource_uris=[MCP], auth_method="private_key_jwt", jwks=key.jwks()
    )
    client_id = created.application.client_id

    response = assertion_request(client, key.sign(client_assertion_claims(client_id=client_id, audience=ISSUER)))

    assert response.status_code == 200, response.content


def _hs256(client_id):
    return jwt.encode(client_assertion_claims(client_id=client_id, audience=ISSUER), "s" * 32, algorithm="HS256")


def _none(client_id):
    return jwt.encode(client_assertion_claims(client_id=client_id, audience=ISSUER), None, algorithm="none")


REFUSED_ASSERTIONS = {
    "wrong audience": (lambda s, c: s.sign(client_assertion_claims(client_id=c, audience="https://other.example")),
                       "aud must be this authorization server's issuer or its token endpoint, alone"),
    "two audiences": (lambda s, c: s.sign(client_assertion_claims(client_id=c, audience=[ISSUER, "https://x"])),
                      "aud must be this authorization server's issuer or its token endpoint, alone"),
    "expired": (lambda s, c: s.sign(client_assertion_claims(client_id=c, audience=ISSUER, lifetime=-120)),
                "the JWT has expired"),
    "lives too long": (lambda s, c: s.sign(client_assertion_claims(client_id=c, audience=ISSUER, lifetime=3600)),
                       "exp is more than 300 seconds ahead"),
    "no jti": (lambda s, c: s.sign({**client_assertion_claims(client_id=c, audience=ISSUER), "jti": None}),
               "jti is missing (or not a string of at most 255 characters)"),
    "iss is not sub": (lambda s, c: s.sign(client_assertion_claims(client_id=c, audience=ISSUER, iss="someone")),
                       "iss and sub must both be the client id"),
    "alg none": (lambda s, c: _none(c), "algorithm 'none' is not accepted (only RS256, PS256, ES256, EdDSA)"),
    "HS256": (lambda s, c: _hs256(c), "algorithm 'HS256' is not accepted (only RS256, PS256, ES256, EdDSA)"),
    "key not in the JWKS": (lambda s, c: Signer().sign(client_assertion_claims(client_id=c, audience=ISSUER)),
                            "key {kid!r} of the client's JWKS verifies the signature"),
    "an ID-JAG for a client assertion": (
        lambda s, c: s.sign(client_assertion_claims(client_id=c, audience=ISSUER), typ="oauth-id-jag+jwt"),
        "typ 'oauth-id-jag+jwt' is not that of a client assertion (JWT or client-authentication+jwt)",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSED_ASSERTIONS))
def test_private_key_jwt_refusals_are_invalid_client_with_the_reason_in_the_audit_log(client, jwt_client, signer, case):
    make, reason = REFUSED_ASSERTIONS[case]
    assertion = make(signer, jwt_client)

    response = assertion_request(client, assertion)

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    recorded = refusal(jwt_client).detail
    kid = jwt.get_unverified_header(assertion).get("kid")
    assert recorded["reason"].endswith(reason.format(kid=kid)), recorded["reason"]
    assert recorded["client_auth"] == "private_key_jwt"
    assert assertion not in json.dumps(recorded)


def test_a_client_assertion_is_accepted_once(client, jwt_client, signer):
    assertion = signer.sign(client_assertion_claims(client_id=jwt_client, audience=ISSUER))

    first, again = assertion_request(client, assertion), assertion_request(client, assertion)

    assert first.status_code == 200
    assert again.status_code == 401 and again.json()["error_description"].endswith("its jti was used before (a replay)")


def test_a_private_key_jwt_client_has_no_secret_and_one_method_per_request(client, jwt_client, signer):
    Application = get_application_model()
    guessed = client.post("/token/", {"grant_type": "client_credentials", "client_id": jwt_client, "client_secret": ""})
    assertion = signer.sign(client_assertion_claims(client_id=jwt_client, audience=ISSUER))
    both = assertion_request(client, assertion, client_secret="x")
    other_id = assertion_request(
        client, signer.sign(client_assertion_claims(client_id=jwt_client, audience=ISSUER)), client_id="someone-else"
    )

    assert guessed.status_code == 401
    assert Application.objects.get(client_id=jwt_client).client_secret  # set, hashed, and told to nobody
    assert both.status_code == 401 and "one authentication method" in both.json()["error_description"]
    assert other_id.status_code == 401 and other_id.json()["error_description"].endswith(
        "client_id is not the assertion's sub"
    )


def test_a_jwks_uri_is_fetched_once_and_cached(client, rs_credentials, signer):
    server = JWKSServer()
    try:
        uri = server.publish("/agent.jwks", signer.jwks())
        created, _ = machine_client_create(
            name="Agent",
            grant_type=CLIENT_CREDENTIALS,
            resource_uris=[MCP],
            auth_method="private_key_jwt",
            jwks_uri=uri,
        )
        client_id = created.application.client_id

        statuses = [
            assertion_request(
                client, signer.sign(client_assertion_claims(client_id=client_id, audience=ISSUER))
            ).status_code
            for _ in range(3)
        ]
    finally:
        server.close()

    assert statuses == [200, 200, 200]
    assert server.fetches == {"/agent.jwks": 1}


@pytest.mark.parametrize(
    "uri, issuer, problem",
    [
        ("http://keys.example.com/jwks", "http://127.0.0.1:8000", "a JWKS URI must be https"),
        ("http://127.0.0.1:9/jwks", "https://auth.example.com", "an http JWKS URI is accepted only while OAUTH_ISSUER"),
        ("ftp://keys.example.com/jwks", "http://127.0.0.1:8000", "a JWKS URI must be https"),
    ],
)
def test_jwks_uris_are_https_except_loopback_while_the_issuer_is_loopback(
    settings, rs_credentials, uri, issuer, problem
):
    settings.OAUTH_ISSUER = issuer

    with pytest.raises(Refused, match=problem):
        machine_client_create(
            name="x", grant_type=CLIENT_CREDENTIALS, resource_uris=[MCP], auth_method="private_key_jwt", jwks_uri=uri
        )


def test_an_https_jwks_uri_on_a_private_address_is_never_fetched(client, rs_credentials, signer):
    created, _ = machine_client_create(
        name="x", grant_type=CLIENT_CREDENTIALS, resource_uris=[MCP], auth_method="private_key_jwt",
        jwks_uri="https://127.0.0.1:9/jwks",
    )  # fmt: skip
    client_id = created.application.client_id

    response = assertion_request(client, signer.sign(client_assertion_claims(client_id=client_id, audience=ISSUER)))

    assert response.status_code == 401
    assert response.json()["error_description"] == (
        "client assertion refused: the client's keys are unavailable: the JWKS could not be fetched"
    )


@pytest.mark.parametrize(
    "jwks, problem",
    [
        ({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "symmetric (oct) keys are never accepted"),
        ("private", "the JWKS holds private key material"),
        ({"keys": []}, "no usable signing key"),
        ({"not": "a jwks"}, 'a JWKS is a JSON object with a "keys" array'),
    ],
)
def test_a_jwks_holds_public_asymmetric_signing_keys_only(rs_credentials, signer, jwks, problem):
    if jwks == "private":
        jwks = {"keys": [{**signer.jwk, **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signer.key))}]}

    with pytest.raises(Refused) as refused:
        machine_client_create(
            name="x", grant_type=CLIENT_CREDENTIALS, resource_uris=[MCP], auth_method="private_key_jwt", jwks=jwks
        )

    assert problem in str(refused.value)


# --- The command --------------------------------------------------------------------------------------------------


def test_create_client_prints_the_id_and_secret_as_export_lines(capsys, rs_credentials):
    call_command("create_client", "Nightly CI", "--grant", "client_credentials", "--resource", MCP, "--scope", "mcp")

    lines = capsys.readouterr().out.splitlines()
    assert [line.split("=")[0] for line in lines] == ["export OAUTH_CLIENT_ID", "export OAUTH_CLIENT_SECRET"]
    client_id = lines[0].split("=", 1)[1]
    machine = MachineClient.objects.get(application__client_id=client_id)
    assert (machine.grant_type, machine.scope, machine.application.name) == ("client_credentials", "mcp", "Nightly CI")
    assert machine.application.client_type == "confidential"
    assert machine.application.registration_source == "manual"
    assert lines[1].split("=", 1)[1] not in machine.application.client_secret  # stored hashed


def test_create_client_with_a_jwks_file_prints_no_secret(capsys, tmp_path, rs_credentials, signer):
    path = tmp_path / "agent.jwks.json"
    path.write_text(json.dumps(signer.jwks()))

    call_command(
        "create_client", "Agent", "--grant", "client_credentials", "--resource", MCP,
        "--auth", "private_key_jwt", "--jwks-file", str(path),
    )  # fmt: skip

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("export OAUTH_CLIENT_ID=")
    assert MachineClient.objects.get().jwks == signer.jwks()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--resource", "https://nowhere.example/mcp"], "is not a registered MCP server"),
        (["--resource", MCP, "--scope", "admin"], "admin: not a scope of the given server(s)"),
        (["--resource", MCP, "--auth", "private_key_jwt"], "private_key_jwt needs the client's public keys"),
        (["--resource", MCP, "--jwks-uri", "https://keys.example/jwks"], "keys are for --auth private_key_jwt"),
    ],
)
def test_create_client_refuses_what_it_cannot_do_safely(rs_credentials, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("create_client", "x", "--grant", "client_credentials", *args)

    assert not MachineClient.objects.exists()


def test_a_machine_client_is_never_taken_for_a_resource_servers_client(machine):
    from oauth_app.services import ResourceServerRefused

    with pytest.raises(ResourceServerRefused, match="already belongs to another application"):
        resource_server_register(uri="http://127.0.0.1:8009/mcp", name="Nine", client_id=machine[0])


# --- Metadata -----------------------------------------------------------------------------------------------------


def test_metadata_lists_the_grants_the_jwt_authentication_and_the_id_jag_profile(client, rs_credentials):
    document = client.get("/.well-known/oauth-authorization-server").json()

    assert {"client_credentials", JWT_BEARER} <= set(document["grant_types_supported"])
    assert {"client_secret_basic", "private_key_jwt"} <= set(document["token_endpoint_auth_methods_supported"])
    assert document["token_endpoint_auth_signing_alg_values_supported"] == ["RS256", "PS256", "ES256", "EdDSA"]
    assert document["authorization_grant_profiles_supported"] == ["urn:ietf:params:oauth:grant-profile:id-jag"]


# --- System checks ------------------------------------------------------------------------------------------------


def test_a_clock_skew_beyond_five_minutes_fails_the_system_check(settings):
    from oauth_app.grants.checks import check_assertion_settings

    assert check_assertion_settings(None) == []
    settings.MCP_AUTH = {**settings.MCP_AUTH, "ASSERTION_LEEWAY": 900, "JWKS_CACHE_SECONDS": 7 * 86400}

    assert [problem.id for problem in check_assertion_settings(None)] == ["oauth_app.E010", "oauth_app.W010"]


def test_an_http_jwks_uri_left_from_development_is_flagged_once_the_issuer_is_public(settings, rs_credentials):
    from oauth_app.grants.checks import check_jwks_uris_fit_the_issuer

    machine_client_create(
        name="dev", grant_type=CLIENT_CREDENTIALS, resource_uris=[MCP], auth_method="private_key_jwt",
        jwks_uri="http://127.0.0.1:9/jwks",
    )  # fmt: skip
    assert check_jwks_uris_fit_the_issuer(None, databases=["default"]) == []
    settings.OAUTH_ISSUER = "https://auth.example.com"

    assert [problem.id for problem in check_jwks_uris_fit_the_issuer(None, databases=["default"])] == ["oauth_app.W011"]
