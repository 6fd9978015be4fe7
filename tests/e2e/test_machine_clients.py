"""Machine and enterprise clients against real processes, with the MCP SDK's own providers:

- `ClientCredentialsOAuthProvider` (client secret) and `PrivateKeyJWTOAuthProvider` (RFC 7523 client assertions,
  the keys published as a JWKS on a loopback port) reach the RS and call `whoami`, which names the client;
- `IdentityAssertionOAuthProvider`, whose assertion provider signs ID-JAGs with a test IdP's key (its JWKS on the
  same loopback server): token, tool call, `whoami` names the person the AS mapped the IdP's `sub` to;
- every refusal the issue lists, each with its RFC 6749/7523/8707 error and an audit row with its reason, among
  them an assertion replayed against the *other* of two AS processes sharing one database.

Everything is set up as an operator would: `create_client`, `add_trusted_idp`, `register_mcp_server`.
"""

import json
import time
import uuid
from dataclasses import dataclass, field

import httpx
import jwt
import pytest
from mcp.client.auth.extensions.client_credentials import (
    ClientCredentialsOAuthProvider,
    PrivateKeyJWTOAuthProvider,
    SignedJWTParameters,
)
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider

from tests.e2e.mcp_client import MemoryStorage, call_json, mcp_session
from tests.e2e.production import serve_as, stop
from tests.e2e.stack import Stack, exports, free_port, stack_environment, throwaway_database
from tests.jose_keys import ID_JAG_TYP, JWKSServer, Signer, client_assertion_claims, id_jag_claims

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class Deployment:
    stack: Stack
    other_worker: str  # a second AS process on the same database
    idp_issuer: str
    idp_key: Signer
    client_key: Signer
    secret_client: dict[str, str]
    jwt_client: str
    enterprise: dict[str, str]
    other_server: str  # a registered MCP server none of these clients was given
    log_path: object
    sent: list[str] = field(default_factory=list)  # secrets and assertions sent: never to be found in the log

    @property
    def issuer(self) -> str:
        return self.stack.issuer

    def id_jag(self, *, subject="emp-42", key=None, typ=ID_JAG_TYP, **claims) -> str:
        """An ID-JAG from the test IdP for the enterprise client and the MCP server; `claims` override."""
        values = {"issuer": self.idp_issuer, "audience": self.issuer, "client_id": self.enterprise["OAUTH_CLIENT_ID"],
                  "subject": subject, "resource": self.stack.server_url, "email": "erin@acme.example"}  # fmt: skip
        values.update(claims)
        raw = (key or self.idp_key).sign(id_jag_claims(**values), typ=typ)
        self.sent.append(raw)
        return raw


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("machine-clients")
    keys = JWKSServer()
    idp_key, client_key = Signer("RS256"), Signer("ES256")
    as_port, rs_port, second_port = free_port(), free_port(), free_port()
    try:
        with throwaway_database(tmp) as database_url, open(tmp / "servers.log", "w") as log:
            stack = Stack.prepared(stack_environment(as_port, rs_port, database_url))
            stack.log = log
            rs_credentials = exports(stack.manage("bootstrap_rs"))
            other_server = f"http://127.0.0.1:{free_port()}/mcp"
            stack.manage("register_mcp_server", other_server, "--name", "Other server")
            mcp = stack.server_url
            secret_client = exports(
                stack.manage(
                    "create_client", "CI job", "--grant", "client_credentials", "--resource", mcp, "--scope", "mcp"
                )
            )
            jwt_client = exports(
                stack.manage(
                    "create_client", "Agent", "--grant", "client_credentials", "--resource", mcp,
                    "--auth", "private_key_jwt", "--jwks-uri", keys.publish("/agent.jwks", client_key.jwks()),
                )
            )["OAUTH_CLIENT_ID"]  # fmt: skip
            enterprise = exports(
                stack.manage("create_client", "Acme Assistant", "--grant", "jwt-bearer", "--resource", mcp)
            )
            stack.manage(
                "add_trusted_idp", keys.origin, "--name", "Acme SSO", "--provision-users",
                "--jwks-uri", keys.publish("/idp.jwks", idp_key.jwks()),
            )  # fmt: skip
            stack.start_as()
            try:
                second = serve_as(stack.env, port=second_port, workers=1, log=log)
                try:
                    stack.start_rs("-m", "mcp_rs", server_url=mcp, credentials=rs_credentials)
                    yield Deployment(
                        stack, f"http://127.0.0.1:{second_port}", keys.origin, idp_key, client_key, secret_client,
                        jwt_client, enterprise, other_server, tmp / "servers.log",
                        sent=[secret_client["OAUTH_CLIENT_SECRET"], enterprise["OAUTH_CLIENT_SECRET"]],
                    )  # fmt: skip
                finally:
                    stop(second)
            finally:
                stack.stop()
    finally:
        keys.close()


async def test_the_sdks_client_credentials_provider_reaches_the_rs_as_the_client(deployment):
    client_id = deployment.secret_client["OAUTH_CLIENT_ID"]
    provider = ClientCredentialsOAuthProvider(
        server_url=deployment.stack.server_url,
        storage=MemoryStorage(),
        client_id=client_id,
        client_secret=deployment.secret_client["OAUTH_CLIENT_SECRET"],
        issuer=deployment.issuer,
    )

    async with mcp_session(deployment.stack.server_url, auth=provider) as session:
        me = await call_json(session, "whoami")
        echoed = (await session.call_tool("echo", {"message": "nightly build done"})).content[0].text

    assert me["caller"] == "client" and me["username"] is None
    assert me["client_id"] == client_id == me["subject"]
    assert me["audience"] == deployment.stack.server_url and me["scopes"] == ["mcp"]
    assert echoed == f"client {client_id}: nightly build done"


async def test_the_sdks_private_key_jwt_provider_reaches_the_rs(deployment):
    signing = SignedJWTParameters(
        issuer=deployment.jwt_client,
        subject=deployment.jwt_client,
        signing_key=deployment.client_key.pem,
        signing_algorithm="ES256",
    )
    provider = PrivateKeyJWTOAuthProvider(
        server_url=deployment.stack.server_url,
        storage=MemoryStorage(),
        client_id=deployment.jwt_client,
        assertion_provider=signing.create_assertion_provider(),
        issuer=deployment.issuer,
    )

    async with mcp_session(deployment.stack.server_url, auth=provider) as session:
        me = await call_json(session, "whoami")

    assert me["caller"] == "client" and me["client_id"] == deployment.jwt_client == me["subject"]


async def test_the_sdks_identity_assertion_provider_gets_a_token_for_the_mapped_person(deployment):
    audiences = []

    async def fetch_id_jag(audience: str, resource: str) -> str:
        audiences.append((audience, resource))
        return deployment.id_jag(subject="emp-42", audience=audience, resource=resource, scope="mcp")

    provider = IdentityAssertionOAuthProvider(
        server_url=deployment.stack.server_url,
        storage=MemoryStorage(),
        client_id=deployment.enterprise["OAUTH_CLIENT_ID"],
        client_secret=deployment.enterprise["OAUTH_CLIENT_SECRET"],
        issuer=deployment.issuer,
        assertion_provider=fetch_id_jag,
    )

    async with mcp_session(deployment.stack.server_url, auth=provider) as session:
        me = await call_json(session, "whoami")

    assert audiences == [(deployment.issuer, deployment.stack.server_url)]
    assert me["caller"] == "person" and me["username"] == "erin@acme.example"
    assert me["client_id"] == deployment.enterprise["OAUTH_CLIENT_ID"] and me["scopes"] == ["mcp"]


def _token(deployment, data: dict, *, auth=None, worker: str | None = None) -> httpx.Response:
    return httpx.post(f"{worker or deployment.issuer}/token/", data=data, auth=auth, timeout=20)


def _assert_nothing_sent_was_logged(deployment) -> None:
    logged = deployment.log_path.read_text()
    assert "token.refused" in logged  # the audit events are in the servers' log, with their reasons
    for value in deployment.sent:
        assert value not in logged


def _audit(deployment) -> list[dict]:
    return [row["fields"] for row in json.loads(deployment.stack.manage("dumpdata", "oauth_app.AuditEvent"))]


def test_every_refusal_has_its_error_and_an_audit_row_naming_the_reason(deployment):
    d = deployment
    enterprise = (d.enterprise["OAUTH_CLIENT_ID"], d.enterprise["OAUTH_CLIENT_SECRET"])
    machine = (d.secret_client["OAUTH_CLIENT_ID"], d.secret_client["OAUTH_CLIENT_SECRET"])
    public = httpx.post(f"{d.issuer}/register/", json={"client_name": "P", "redirect_uris": ["http://127.0.0.1:9/cb"]})
    confidential = httpx.post(
        f"{d.issuer}/register/",
        json={"client_name": "C", "redirect_uris": ["http://127.0.0.1:9/cb"],
              "token_endpoint_auth_method": "client_secret_basic"},
    ).json()  # fmt: skip
    dcr_public, dcr_confidential = (
        public.json()["client_id"],
        (confidential["client_id"], confidential["client_secret"]),
    )
    now = int(time.time())
    unsigned = {"iss": d.idp_issuer, "sub": "emp-42", "aud": d.issuer, "client_id": enterprise[0],
                "jti": uuid.uuid4().hex, "iat": now, "exp": now + 300, "resource": d.stack.server_url}  # fmt: skip
    id_jag = {
        "wrong typ": d.id_jag(typ="JWT"),
        "wrong aud": d.id_jag(audience="https://another-as.example"),
        "client_id mismatch": d.id_jag(client_id="another-client"),
        "unregistered resource": d.id_jag(resource="https://unregistered.example/mcp"),
        "expired": d.id_jag(lifetime=-600),
        "alg none": jwt.encode(unsigned, None, algorithm="none", headers={"typ": ID_JAG_TYP}),
        "HS256": jwt.encode(
            unsigned, "a-shared-secret-nobody-should-use!", algorithm="HS256", headers={"typ": ID_JAG_TYP}
        ),  # fmt: skip
        "unknown issuer": d.id_jag(issuer="https://unknown-idp.example"),
        "key not in the JWKS": d.id_jag(key=Signer("RS256")),
    }
    d.sent.extend(id_jag.values())
    cases = {  # name: (request data, HTTP Basic credentials, status, error, words of the reason)
        **{name: ({"grant_type": JWT_BEARER, "assertion": raw}, enterprise, 400, "invalid_grant", words)
           for name, raw, words in [
               ("wrong typ", id_jag["wrong typ"], "typ must be oauth-id-jag+jwt"),
               ("wrong aud", id_jag["wrong aud"], "aud must be this authorization server's issuer"),
               ("client_id mismatch", id_jag["client_id mismatch"], "client_id is not the authenticated client"),
               ("expired", id_jag["expired"], "the JWT has expired"),
               ("alg none", id_jag["alg none"], "the signing algorithm 'none' is not accepted"),
               ("HS256", id_jag["HS256"], "the signing algorithm 'HS256' is not accepted"),
               ("unknown issuer", id_jag["unknown issuer"], "is not a trusted identity provider"),
               ("key not in the JWKS", id_jag["key not in the JWKS"], "of the identity provider's JWKS verifies"),
           ]},
        "unregistered resource": ({"grant_type": JWT_BEARER, "assertion": id_jag["unregistered resource"]},
                                  enterprise, 400, "invalid_target", "is not served by this authorization server"),
        "public client, jwt-bearer": ({"grant_type": JWT_BEARER, "assertion": d.id_jag(), "client_id": dcr_public},
                                      None, 401, "invalid_client", ""),
        "DCR client, jwt-bearer": ({"grant_type": JWT_BEARER, "assertion": d.id_jag()}, dcr_confidential,
                                   400, "unauthorized_client", ""),
        "public client, client_credentials": ({"grant_type": "client_credentials", "client_id": dcr_public},
                                              None, 401, "invalid_client", ""),
        "DCR client, client_credentials": ({"grant_type": "client_credentials"}, dcr_confidential,
                                           400, "unauthorized_client", ""),
        "resource not given": ({"grant_type": "client_credentials", "resource": d.other_server}, machine,
                               400, "invalid_target", "this client was not given the resource"),
    }  # fmt: skip

    answers = {name: _token(d, data, auth=auth) for name, (data, auth, *_) in cases.items()}

    rows = [row for row in _audit(d) if row["kind"] == "token.refused"]
    for name, (data, auth, status, error, words) in cases.items():
        answer = answers[name]
        assert (answer.status_code, answer.json()["error"]) == (status, error), (name, answer.text)
        assert words in answer.json().get("error_description", ""), (name, answer.text)
        claimed = auth[0] if auth else data.get("client_id")
        matching = [row for row in rows if row["client_id"] == claimed and row["detail"]["error"] == error
                    and row["detail"]["reason"] == answer.json().get("error_description", "")]  # fmt: skip
        assert matching, (name, answer.text)
        if data["grant_type"] == JWT_BEARER and auth == enterprise:
            expected_idp = "https://unknown-idp.example" if name == "unknown issuer" else d.idp_issuer
            assert {row["detail"]["idp"] for row in matching} == {expected_idp}, name
    _assert_nothing_sent_was_logged(d)  # secrets and assertions are never logged, refused or not


def test_an_assertion_is_accepted_once_across_two_as_processes(deployment):
    d = deployment
    enterprise = (d.enterprise["OAUTH_CLIENT_ID"], d.enterprise["OAUTH_CLIENT_SECRET"])
    id_jag = d.id_jag(subject="emp-7", email="frank@acme.example")
    client_assertion = d.client_key.sign(client_assertion_claims(client_id=d.jwt_client, audience=d.issuer), kid=None)
    d.sent.append(client_assertion)
    with_assertion = {"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
                      "client_assertion": client_assertion}  # fmt: skip

    first = _token(d, {"grant_type": JWT_BEARER, "assertion": id_jag}, auth=enterprise)
    replayed = _token(d, {"grant_type": JWT_BEARER, "assertion": id_jag}, auth=enterprise, worker=d.other_worker)
    first_client_assertion = _token(d, with_assertion, worker=d.other_worker)
    replayed_client_assertion = _token(d, with_assertion)

    assert first.status_code == 200 and first_client_assertion.status_code == 200
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")
    assert replayed.json()["error_description"] == "ID-JAG refused: its jti was used before (a replay)"
    assert (replayed_client_assertion.status_code, replayed_client_assertion.json()["error"]) == (401, "invalid_client")
    assert replayed_client_assertion.json()["error_description"].endswith("its jti was used before (a replay)")
    reasons = {(row["client_id"], row["detail"].get("reason")) for row in _audit(d) if row["kind"] == "token.refused"}
    assert (enterprise[0], "ID-JAG refused: its jti was used before (a replay)") in reasons
    assert (d.jwt_client, "client assertion refused: its jti was used before (a replay)") in reasons
    _assert_nothing_sent_was_logged(d)
