"""The people's side: remembered consent, connected apps and revoke, disabled clients, the audit log."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from oauth_app.models import AuditEvent, Consent
from oauth_app.services import client_disable
from tests.html_forms import form_fields
from tests.oauth_app.flow import authorize_url, exchange_code, obtain_code, redirect_params
from tests.oauth_app.introspection import introspect

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, user, rs_credentials):
    client.force_login(user)
    return client


def approve(browser, url, *, remember: bool):
    page = browser.get(url)
    fields, _ = form_fields(page.content.decode(), "authorizationForm")
    return browser.post(url, {**fields, "allow": "Authorize", **({"remember": "1"} if remember else {})})


def kinds() -> list[str]:
    return list(AuditEvent.objects.order_by("created", "pk").values_list("kind", flat=True))


def test_remembered_consent_skips_the_page_for_the_same_request(browser, public_client, pkce):
    url = authorize_url(public_client.client_id, pkce)
    assert "code" in redirect_params(approve(browser, url, remember=True))

    again = browser.get(url)

    assert again.status_code == 302 and "code" in redirect_params(again)
    assert kinds().count("consent.granted") == 2


def test_consent_not_remembered_asks_again(browser, public_client, pkce):
    url = authorize_url(public_client.client_id, pkce)
    approve(browser, url, remember=False)

    assert browser.get(url).status_code == 200


def test_wider_request_asks_again(browser, public_client, pkce, rs_credentials):
    from oauth_app.selectors import resource_default

    resource = resource_default()
    resource.scopes = {**resource.scopes, "mcp:admin": "Administer the server"}
    resource.save()
    approve(browser, authorize_url(public_client.client_id, pkce, scope="mcp"), remember=True)

    wider = browser.get(authorize_url(public_client.client_id, pkce, scope="mcp mcp:admin"))

    assert wider.status_code == 200 and b"Administer the server" in wider.content
    assert browser.get(authorize_url(public_client.client_id, pkce, scope="mcp")).status_code == 302


def test_connected_apps_lists_the_client_resource_scopes_and_use(browser, client, public_client, pkce):
    code = obtain_code(browser, public_client.client_id, pkce)
    exchange_code(client, public_client.client_id, code, pkce)

    page = browser.get("/account/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Test MCP client" in html and "http://127.0.0.1:8001/mcp" in html and "<code>mcp</code>" in html
    assert Consent.objects.get().last_used is not None
    assert b"/account/" in browser.get("/").content  # linked from the home page


def test_revoke_removes_tokens_and_remembered_consent(browser, client, public_client, pkce, rs_credentials):
    url = authorize_url(public_client.client_id, pkce)
    code = redirect_params(approve(browser, url, remember=True))["code"]
    tokens = exchange_code(client, public_client.client_id, code, pkce).json()

    response = browser.post(f"/account/apps/{public_client.pk}/revoke/")

    assert response.status_code == 302
    assert introspect(client, rs_credentials, tokens["access_token"]) == {"active": False}
    refresh = client.post(
        "/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": public_client.client_id},
    )
    assert refresh.status_code == 400
    assert not Consent.objects.exists()
    assert browser.get(url).status_code == 200  # asks again
    assert "token.revoked" in kinds()


def test_people_cannot_revoke_someone_elses_app(client, public_client, rs_credentials, django_user_model):
    mallory = django_user_model.objects.create_user(username="mallory", password="pw")
    client.force_login(mallory)

    assert client.post(f"/account/apps/{public_client.pk}/revoke/").status_code == 404
    assert client.get(f"/account/apps/{public_client.pk}/revoke/").status_code == 405


def test_disabled_client_is_unknown_and_its_tokens_die(browser, client, public_client, pkce, rs_credentials):
    code = obtain_code(browser, public_client.client_id, pkce)
    tokens = exchange_code(client, public_client.client_id, code, pkce).json()

    client_disable(application=public_client)

    assert introspect(client, rs_credentials, tokens["access_token"]) == {"active": False}
    assert browser.get(authorize_url(public_client.client_id, pkce)).status_code == 400
    assert "client.disabled" in kinds()


def test_audit_log_records_the_security_events(client, user, public_client, pkce, rs_credentials):
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"}, HTTP_USER_AGENT="pytest-agent")
    client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery"})
    code = obtain_code(client, public_client.client_id, pkce)
    tokens = exchange_code(client, public_client.client_id, code, pkce).json()
    exchange_code(client, public_client.client_id, code, pkce)  # replay
    client.post(
        "/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": public_client.client_id},
    )
    denied_url = authorize_url(public_client.client_id, pkce)
    fields, _ = form_fields(client.get(denied_url).content.decode(), "authorizationForm")
    client.post(denied_url, fields)
    client.post("/register/", "{}", content_type="application/json")
    client.post("/introspect/", {"token": "x"})

    recorded = kinds()
    for kind in [
        "login.failed",
        "login.succeeded",
        "consent.granted",
        "token.issued",
        "token.replay_detected",
        "consent.denied",
        "registration.refused",
        "introspection.refused",
    ]:
        assert kind in recorded, (kind, recorded)
    failed = AuditEvent.objects.get(kind="login.failed")
    assert failed.actor_name == "alice" and failed.user_agent == "pytest-agent" and failed.ip == "127.0.0.1"
    issued = AuditEvent.objects.get(kind="token.issued")
    assert issued.client_id == public_client.client_id and issued.resource == "http://127.0.0.1:8001/mcp"
    assert not any(tokens["access_token"] in str(event.detail) for event in AuditEvent.objects.all())


def test_client_registration_is_audited_with_its_source(client, rs_credentials):
    import json

    client.post("/register/", json.dumps({"redirect_uris": ["http://127.0.0.1:1/cb"]}), content_type="application/json")

    sources = [event.detail["source"] for event in AuditEvent.objects.filter(kind="client.registered")]
    assert "dcr" in sources and "manual" in sources  # the RS's own client, created by bootstrap


def test_audit_events_are_append_only_and_pruned_by_retention(user):
    from oauth_app import audit

    audit.record(audit.Kind.LOGIN_SUCCEEDED, actor=user)
    event = AuditEvent.objects.get()
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    AuditEvent.objects.filter(pk=event.pk).update(created=timezone.now() - timedelta(days=400))
    audit.record(audit.Kind.LOGIN_SUCCEEDED, actor=user)

    out = io.StringIO()
    call_command("prune_audit", stdout=out)

    assert "deleted 1" in out.getvalue() and AuditEvent.objects.count() == 1


# --- Incremental consent: a client that asks for more than the person already approved ---------------------


def scope_lines(html: str) -> dict[str, str]:
    """Each scope on the consent page (its <code> name) with the text of its list item."""
    items = re.findall(r"<li>(.*?)</li>", html.split('<ul class="scopes">', 1)[1].split("</ul>", 1)[0], re.S)
    return {re.search(r"<code>(.*?)</code>", item).group(1): item for item in items}


def test_a_wider_request_marks_the_new_permission_and_says_what_was_approved(browser, public_client, pkce):
    approve(browser, authorize_url(public_client.client_id, pkce, scope="mcp"), remember=True)

    page = browser.get(authorize_url(public_client.client_id, pkce, scope="mcp notes:write"))

    html = page.content.decode()
    assert page.status_code == 200
    lines = scope_lines(html)
    assert '<span class="badge new">New</span>' in lines["notes:write"]
    assert "New" not in lines["mcp"]
    assert "You already allowed this application to:" in html
    assert "Use this MCP server&#x27;s tools, resources and prompts as you <code>mcp</code>." in html


def test_approving_the_wider_request_with_remember_skips_the_page_next_time(browser, public_client, pkce):
    approve(browser, authorize_url(public_client.client_id, pkce, scope="mcp"), remember=True)
    wider = authorize_url(public_client.client_id, pkce, scope="mcp notes:write")
    assert "code" in redirect_params(approve(browser, wider, remember=True))

    again = browser.get(wider)

    assert again.status_code == 302 and "code" in redirect_params(again)
    consent = Consent.objects.get()
    assert consent.scopes == consent.remembered_scopes == "mcp notes:write"


def test_a_first_request_marks_nothing_new(browser, public_client, pkce):
    html = browser.get(authorize_url(public_client.client_id, pkce, scope="mcp notes:write")).content.decode()

    assert "badge new" not in html and "already allowed" not in html


def test_remembered_consent_covers_only_what_was_approved_with_remember(browser, public_client, pkce):
    approve(browser, authorize_url(public_client.client_id, pkce, scope="mcp"), remember=False)
    approve(browser, authorize_url(public_client.client_id, pkce, scope="notes:write"), remember=True)

    consent = Consent.objects.get()
    assert consent.scopes == "mcp notes:write" and consent.remembered_scopes == "notes:write"
    assert browser.get(authorize_url(public_client.client_id, pkce, scope="notes:write")).status_code == 302
    asks = browser.get(authorize_url(public_client.client_id, pkce, scope="mcp"))
    assert asks.status_code == 200  # approved once, never remembered
    assert "badge new" not in asks.content.decode()  # but not new either


def test_an_approval_without_remember_keeps_what_was_remembered_before(browser, public_client, pkce):
    approve(browser, authorize_url(public_client.client_id, pkce, scope="mcp"), remember=True)
    approve(browser, authorize_url(public_client.client_id, pkce, scope="mcp notes:write"), remember=False)

    assert browser.get(authorize_url(public_client.client_id, pkce, scope="mcp")).status_code == 302
    asks = browser.get(authorize_url(public_client.client_id, pkce, scope="mcp notes:write"))
    assert asks.status_code == 200 and "badge new" not in asks.content.decode()
    assert b"notes:write" in browser.get("/account/").content  # connected apps shows everything approved
