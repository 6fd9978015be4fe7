import base64
import hashlib
import secrets
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from oauth_app.models import AuditEvent, Consent, DisabledClient
from tests.oauth_app.flow import exchange_code, obtain_code
from tests.oauth_app.introspection import introspect

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def tokens(browser, client, public_client, pkce):
    code = obtain_code(browser, public_client.client_id, pkce)
    response = exchange_code(client, public_client.client_id, code, pkce)
    assert response.status_code == 200, response.content
    return response.json()


def refresh(client, client_id: str, refresh_token: str):
    return client.post(
        "/token/", {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    )


def test_code_exchange_issues_short_lived_bearer_and_refresh_token(tokens):
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == settings.ACCESS_TOKEN_LIFETIME == 3600
    assert tokens["refresh_token"]
    assert tokens["scope"] == "mcp notes:write"  # no `scope` asked: every scope of the server, no offline_access


def test_request_without_resource_is_bound_to_the_mcp_server(client, tokens, rs_credentials):
    # 2025-03-26 clients and Claude Code send no `resource`: the token must still have an audience.
    claims = introspect(client, rs_credentials, tokens["access_token"])

    assert claims["active"] is True
    assert claims["aud"] == settings.MCP_SERVER_URL


def test_resource_is_canonicalised_and_bound(browser, client, public_client, pkce, rs_credentials):
    spelled_differently = settings.MCP_SERVER_URL.replace("http://", "HTTP://") + "/"
    code = obtain_code(browser, public_client.client_id, pkce, resource=spelled_differently)
    response = exchange_code(client, public_client.client_id, code, pkce, resource=spelled_differently)

    assert response.status_code == 200, response.content
    assert introspect(client, rs_credentials, response.json()["access_token"])["aud"] == settings.MCP_SERVER_URL


def test_token_request_cannot_widen_to_another_resource(browser, client, public_client, pkce):
    code = obtain_code(browser, public_client.client_id, pkce)

    response = exchange_code(client, public_client.client_id, code, pkce, resource="https://elsewhere.example/mcp")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_tokens_are_stored_as_checksums_only(tokens):
    access = get_access_token_model().objects.get()
    refresh_row = get_refresh_token_model().objects.get()

    assert access.token == "" and refresh_row.token == ""
    assert tokens["access_token"] not in (access.token_checksum, refresh_row.token_checksum)


def test_wrong_code_verifier_is_invalid_grant(browser, client, public_client, pkce):
    code = obtain_code(browser, public_client.client_id, pkce)
    pkce.verifier = pkce.verifier[::-1]

    response = exchange_code(client, public_client.client_id, code, pkce)

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_authorization_code_is_single_use(browser, client, public_client, pkce):
    code = obtain_code(browser, public_client.client_id, pkce)
    assert exchange_code(client, public_client.client_id, code, pkce).status_code == 200

    replay = exchange_code(client, public_client.client_id, code, pkce)

    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_refresh_rotates_and_keeps_the_audience(client, tokens, public_client, rs_credentials):
    response = refresh(client, public_client.client_id, tokens["refresh_token"])

    assert response.status_code == 200, response.content
    rotated = response.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert introspect(client, rs_credentials, rotated["access_token"])["aud"] == settings.MCP_SERVER_URL


def test_replayed_refresh_token_revokes_the_whole_family(client, tokens, public_client, rs_credentials):
    rotated = refresh(client, public_client.client_id, tokens["refresh_token"]).json()

    replay = refresh(client, public_client.client_id, tokens["refresh_token"])

    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # RFC 9700 §4.14.2: reuse means theft; the legitimate holder's newer tokens die too.
    assert refresh(client, public_client.client_id, rotated["refresh_token"]).status_code == 400
    assert introspect(client, rs_credentials, rotated["access_token"]) == {"active": False}


def test_refresh_tokens_have_a_finite_lifetime():
    assert 0 < settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] <= 90 * 24 * 3600


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"grant_type": "password", "username": "alice", "password": "correct horse battery"},
        {"grant_type": "client_credentials"},
        {"grant_type": "authorization_code", "code": "nope", "redirect_uri": "x", "code_verifier": "y"},
        {"grant_type": "refresh_token", "refresh_token": "nope"},
    ],
    ids=["empty", "password", "client-credentials", "bad-code", "bad-refresh"],
)
def test_bad_token_requests_get_rfc6749_json_errors(client, public_client, data):
    response = client.post("/token/", {"client_id": public_client.client_id, **data})

    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"] in {
        "invalid_request",
        "unsupported_grant_type",
        "invalid_grant",
        "unauthorized_client",
        "invalid_client",
    }


def test_revoked_access_token_introspects_inactive(client, tokens, public_client, rs_credentials):
    response = client.post(
        "/revoke_token/",
        {"token": tokens["access_token"], "token_type_hint": "access_token", "client_id": public_client.client_id},
    )

    assert response.status_code == 200
    assert introspect(client, rs_credentials, tokens["access_token"]) == {"active": False}


def test_replayed_code_revokes_what_the_first_exchange_issued(browser, client, public_client, pkce, rs_credentials):
    code = obtain_code(browser, public_client.client_id, pkce)
    first = exchange_code(client, public_client.client_id, code, pkce).json()

    replay = exchange_code(client, public_client.client_id, code, pkce)

    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert introspect(client, rs_credentials, first["access_token"]) == {"active": False}
    assert refresh(client, public_client.client_id, first["refresh_token"]).status_code == 400


def test_code_for_one_registered_resource_cannot_be_exchanged_for_another(browser, client, public_client, pkce):
    from oauth_app.services import resource_register

    other = resource_register(uri="https://other.example/mcp", name="Other", scopes={"mcp": "x"})
    code = obtain_code(browser, public_client.client_id, pkce)  # bound to MCP_SERVER_URL

    response = exchange_code(client, public_client.client_id, code, pkce, resource=other.uri)

    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def statements(captured) -> list[str]:
    """The SQL a request ran (the test's transaction turns the request's own into SAVEPOINT ... RELEASE)."""
    return [query["sql"] for query in captured]


def writes_in_one_block(sql: list[str]) -> bool:
    """Every INSERT, UPDATE and DELETE ran inside one atomic block (between its SAVEPOINT and RELEASE; in production
    one transaction, one commit)."""
    opened = [i for i, q in enumerate(sql) if q.startswith("SAVEPOINT")]
    released = [i for i, q in enumerate(sql) if q.startswith("RELEASE SAVEPOINT")]
    writes = [i for i, q in enumerate(sql) if q.split(" ", 1)[0] in {"INSERT", "UPDATE", "DELETE"}]
    return bool(opened and writes) and all(opened[0] < i < released[-1] for i in writes)


def work(sql: list[str]) -> list[str]:
    """The queries that cost: no savepoints, and not the ten-minutely sweep of old redeemed-code records."""
    return [
        q
        for q in sql
        if not q.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
        and not q.startswith('DELETE FROM "oauth_app_redeemedauthorizationcode"')
    ]


def test_a_code_exchange_reads_the_grant_once_and_writes_in_one_transaction(browser, client, public_client, pkce):
    first, code = (obtain_code(browser, public_client.client_id, pkce) for _ in range(2))
    client.logout()
    assert exchange_code(client, public_client.client_id, first, pkce).status_code == 200  # reads the resource

    with CaptureQueriesContext(connection) as captured:
        assert exchange_code(client, public_client.client_id, code, pkce).status_code == 200

    sql = statements(captured)
    # 22 before: the grant read 4 times, the client checked twice, the disabled mark in a query of its own, the
    # resource on every request, ...
    assert len(work(sql)) == 9, "\n".join(sql)
    assert sum('FROM "oauth2_provider_grant"' in q and q.startswith("SELECT") for q in sql) == 1
    assert not any('FROM "oauth_app_protectedresource"' in q for q in sql)  # seen a moment ago in this process
    assert sum('"oauth_app_disabledclient"' in q for q in sql) == 1  # read with the client
    assert writes_in_one_block(sql)  # tokens, the code's deletion, the redemption record, audit event, last use
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.TOKEN_ISSUED, client_id=public_client.client_id).exists()


def test_a_refresh_checks_the_client_once_and_writes_in_one_transaction(client, tokens, public_client):
    with CaptureQueriesContext(connection) as captured:
        assert refresh(client, public_client.client_id, tokens["refresh_token"]).status_code == 200

    sql = statements(captured)
    # 24 before, 19 with DOT's rotation: the token read again under lock twice, its access token deleted through
    # Django's collector (a read, an UPDATE, the DELETE), every column saved, in a savepoint; the resource read.
    assert len(work(sql)) == 8, "\n".join(sql)
    assert sum('"oauth_app_disabledclient"' in q for q in sql) == 1  # read with the client
    assert not any(
        q.startswith('SELECT "oauth2_provider_accesstoken"') and "token_checksum" in q.split("WHERE")[-1] for q in sql
    )  # fmt: skip  (the new token is not read back to announce it)
    assert writes_in_one_block(sql)
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.TOKEN_REFRESHED)
    assert event.actor.username == "alice" and event.detail["resource_name"] == "Demo MCP server"


def test_dots_app_authorized_signal_still_carries_the_issued_token(browser, client, public_client, pkce):
    from oauth2_provider.signals import app_authorized

    received = []

    def receiver(sender, request, token, **kwargs):
        received.append(token)

    app_authorized.connect(receiver)
    try:
        code = obtain_code(browser, public_client.client_id, pkce)
        issued = exchange_code(client, public_client.client_id, code, pkce).json()
        refreshed = refresh(client, public_client.client_id, issued["refresh_token"]).json()
    finally:
        app_authorized.disconnect(receiver)

    assert [token.token_checksum for token in received] == [
        hashlib.sha256(issued["access_token"].encode()).hexdigest(),
        hashlib.sha256(refreshed["access_token"].encode()).hexdigest(),
    ]
    assert all(token.user.username == "alice" and token.application == public_client for token in received)


def test_a_refresh_deletes_the_access_token_it_replaces_keeping_the_family(
    client, tokens, public_client, rs_credentials
):
    rotated = refresh(client, public_client.client_id, tokens["refresh_token"]).json()

    # DOT's RefreshToken.revoke(), done in two statements: the old access token is gone, the old refresh token is
    # marked used and unlinked, and the new pair descends from it in the same family (what replay revokes).
    assert introspect(client, rs_credentials, tokens["access_token"]) == {"active": False}
    assert not get_access_token_model().objects.filter(token_checksum=checksum(tokens["access_token"])).exists()
    RefreshToken = get_refresh_token_model()
    old = RefreshToken.objects.get(token_checksum=checksum(tokens["refresh_token"]))
    new = RefreshToken.objects.get(token_checksum=checksum(rotated["refresh_token"]))
    assert old.revoked is not None and old.access_token_id is None
    assert new.revoked is None and new.token_family == old.token_family
    assert new.access_token.source_refresh_token_id == old.pk
    assert introspect(client, rs_credentials, rotated["access_token"])["active"] is True


def test_a_refresh_token_past_its_lifetime_is_refused(client, tokens, public_client):
    # DOT's sliding lifetime: REFRESH_TOKEN_EXPIRE_SECONDS after its access token expired.
    lifetime = settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"]
    instance = get_refresh_token_model().objects.get(token_checksum=checksum(tokens["refresh_token"]))
    instance.access_token.expires = timezone.now() - timedelta(seconds=lifetime + 1)
    instance.access_token.save()

    response = refresh(client, public_client.client_id, tokens["refresh_token"])

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_refresh_token_works_for_its_own_client_only(client, tokens, public_client):
    other = type(public_client).objects.create(
        name="Another client", client_type="public", authorization_grant_type="authorization-code",
        redirect_uris=public_client.redirect_uris,
    )  # fmt: skip

    stolen = refresh(client, other.client_id, tokens["refresh_token"])

    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert refresh(client, public_client.client_id, tokens["refresh_token"]).status_code == 200  # not spent


def test_a_disabled_client_cannot_refresh(client, tokens, public_client):
    DisabledClient.objects.create(application=public_client)  # the mark alone, tokens left in place

    response = refresh(client, public_client.client_id, tokens["refresh_token"])

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert get_refresh_token_model().objects.get(token_checksum=checksum(tokens["refresh_token"])).revoked is None


@pytest.mark.parametrize(
    "data",
    [{"grant_type": "client_credentials"}, {"grant_type": "refresh_token", "refresh_token": "x"}],
    ids=["client-credentials", "refresh"],
)
def test_a_nul_in_a_basic_auth_client_id_is_invalid_client(client, rs_credentials, data):
    # HTTP Basic is decoded past the NUL middleware; PostgreSQL can neither compare nor store a NUL. Not a 500, and
    # a refused client_credentials request is still audited.
    credentials = base64.b64encode(b"bad\x00client:secret").decode()

    response = client.post("/token/", data, HTTP_AUTHORIZATION=f"Basic {credentials}")

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    refused = AuditEvent.objects.filter(kind=AuditEvent.Kind.TOKEN_REFUSED).first()
    if data["grant_type"] == "client_credentials":
        assert refused is not None and refused.client_id == "bad\ufffdclient"


def checksum(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def use_memory():
    from oauth_app import services

    yield services
    services._first_use_recorded.clear()
    services._last_use_written.clear()


def test_frequent_tokens_write_a_clients_use_once_a_minute(
    client, tokens, public_client, use_memory, monkeypatch, django_capture_on_commit_callbacks
):
    def consent_writes(refresh_token):
        with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
            response = refresh(client, public_client.client_id, refresh_token)
        writes = [q for q in statements(captured) if q.startswith(("UPDATE",)) and "oauth_app_c" in q.split("SET")[0]]
        return response.json()["refresh_token"], writes

    refresh_token, first = consent_writes(tokens["refresh_token"])
    written = Consent.objects.get().last_used
    refresh_token, second = consent_writes(refresh_token)

    assert len(first) == 1 and second == []  # within the minute: last use already written by this process
    assert Consent.objects.get().last_used == written
    monkeypatch.setattr(use_memory, "LAST_USE_RESOLUTION_SECONDS", 0)
    _, third = consent_writes(refresh_token)
    assert len(third) == 1 and Consent.objects.get().last_used > written
    assert not any("oauth_app_clientregistration" in q for q in first + second + third)  # a refresh is no first use


# --- The new tokens' rows, and their values --------------------------------------------------------------------


def test_the_validator_writes_the_token_rows_dots_own_methods_write(user, public_client):
    """MCPOAuth2Validator writes the new tokens with prepared.insert() in its own copy of DOT's two methods; for the
    same request, every column but the key and the token value matches what DOT's methods write, so a DOT upgrade
    that adds or fills a column fails here."""
    from oauth2_provider.oauth2_validators import OAuth2Validator
    from oauthlib.common import Request

    from oauth_app.validator import MCPOAuth2Validator

    def rows(validator, family_from=None):
        request = Request("https://as.example/token/")
        request.user, request.client, request.resource = user, public_client, [settings.MCP_SERVER_URL]
        expires = timezone.now().replace(microsecond=0) + timedelta(hours=1)
        token = {"scope": "mcp notes:write", "access_token": secrets.token_urlsafe(32)}
        access = validator._create_access_token(expires, request, token, source_refresh_token=family_from)
        refresh_value = secrets.token_urlsafe(32)
        refresh_token = validator._create_refresh_token(request, refresh_value, access, family_from)
        access.raw, refresh_token.raw = token["access_token"], refresh_value
        return access, refresh_token

    def columns(instance, *, skip):
        fresh = type(instance).objects.get(pk=instance.pk)  # what the database holds
        return {f.attname: getattr(fresh, f.attname) for f in fresh._meta.concrete_fields if f.name not in skip}

    dots_access, dots_refresh = rows(OAuth2Validator())
    ours_access, ours_refresh = rows(MCPOAuth2Validator())
    skip = {"id", "token", "token_checksum", "created", "updated", "source_refresh_token"}
    assert columns(ours_access, skip=skip) == columns(dots_access, skip=skip)
    assert columns(ours_refresh, skip={*skip, "access_token", "token_family"}) == columns(
        dots_refresh, skip={*skip, "access_token", "token_family"}
    )
    # The links and checksums each wrote are its own, and right.
    assert get_refresh_token_model().objects.get(pk=ours_refresh.pk).access_token_id == ours_access.pk
    for instance in (ours_access, ours_refresh):
        stored = type(instance).objects.get(pk=instance.pk)
        assert stored.token_checksum == instance.token_checksum == hashlib.sha256(instance.raw.encode()).hexdigest()
        assert stored.token == ""  # RFC 9700 storage: the checksum only
    # A rotation keeps the family and links the new access token to the refresh token it came from.
    dots_next, dots_next_refresh = rows(OAuth2Validator(), family_from=dots_refresh)
    ours_next, ours_next_refresh = rows(MCPOAuth2Validator(), family_from=ours_refresh)
    assert ours_next_refresh.token_family == ours_refresh.token_family
    assert dots_next_refresh.token_family == dots_refresh.token_family
    assert get_access_token_model().objects.get(pk=ours_next.pk).source_refresh_token_id == ours_refresh.pk


def test_tokens_are_256_random_bits_each(tokens, client, public_client):
    refreshed = refresh(client, public_client.client_id, tokens["refresh_token"]).json()
    values = [tokens["access_token"], tokens["refresh_token"], refreshed["access_token"], refreshed["refresh_token"]]

    assert len(set(values)) == 4
    for value in values:  # base64url of 32 bytes: RFC 6750's b64token syntax
        assert len(base64.urlsafe_b64decode(value + "=")) == 32 and value.isascii()


# --- The token endpoint's copy of the resources --------------------------------------------------------------------


def resource_deleted_behind_this_process(uri: str) -> None:
    """The admin or `manage.py` deleting a resource in another process: a raw DELETE, whose signals this process
    never hears."""
    from oauth_app.models import ProtectedResource

    resource = ProtectedResource.objects.get(uri=uri)
    with connection.cursor() as cursor:  # what the admin's delete cascades to, then the resource
        cursor.execute(f"DELETE FROM {Consent._meta.db_table} WHERE resource_id = %s", [resource.pk])  # noqa: S608
        cursor.execute(f"DELETE FROM {ProtectedResource._meta.db_table} WHERE id = %s", [resource.pk])  # noqa: S608


def test_a_resource_deleted_elsewhere_gets_no_tokens_after_the_cache_window(
    browser, client, public_client, pkce, settings
):
    from oauth_app.services import resource_register

    settings.MCP_AUTH = {**settings.MCP_AUTH, "INTROSPECTION_CLIENT_CACHE_SECONDS": 1}
    other = resource_register(uri="https://other.example/mcp", name="Other", scopes={"mcp": "x"})
    codes = [obtain_code(browser, public_client.client_id, pkce, resource=other.uri) for _ in range(3)]
    assert exchange_code(client, public_client.client_id, codes[0], pkce, resource=other.uri).status_code == 200

    resource_deleted_behind_this_process(other.uri)
    within = exchange_code(client, public_client.client_id, codes[1], pkce, resource=other.uri)
    time.sleep(1.05)
    after = exchange_code(client, public_client.client_id, codes[2], pkce, resource=other.uri)

    assert within.status_code == 200  # the documented window: it was read from the database < 1 s ago
    assert after.status_code == 400 and after.json()["error"] == "invalid_target"


def test_a_resource_deleted_in_this_process_gets_no_tokens_at_once(browser, client, public_client, pkce):
    from oauth_app.models import ProtectedResource
    from oauth_app.services import resource_register

    other = resource_register(uri="https://other.example/mcp", name="Other", scopes={"mcp": "x"})
    codes = [obtain_code(browser, public_client.client_id, pkce, resource=other.uri) for _ in range(2)]
    assert exchange_code(client, public_client.client_id, codes[0], pkce, resource=other.uri).status_code == 200

    ProtectedResource.objects.get(pk=other.pk).delete()  # the admin's delete, in this process
    refused = exchange_code(client, public_client.client_id, codes[1], pkce, resource=other.uri)

    assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"


def test_a_resource_renamed_in_this_process_is_named_so_in_the_next_event(client, tokens, public_client):
    from oauth_app.models import ProtectedResource

    resource = ProtectedResource.objects.get(uri=settings.MCP_SERVER_URL)
    resource.name = "Renamed server"
    resource.save()

    assert refresh(client, public_client.client_id, tokens["refresh_token"]).status_code == 200
    assert AuditEvent.objects.get(kind=AuditEvent.Kind.TOKEN_REFRESHED).detail["resource_name"] == "Renamed server"
