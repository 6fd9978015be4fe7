"""The operator's side: clients with provenance, use and live tokens; revoke and disable; IATs; the audit log."""

import pytest
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_access_token_model, get_application_model

from oauth_app.models import AuditEvent, DisabledClient, InitialAccessToken
from oauth_app.selectors import resource_default
from oauth_app.services import dev_token_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, rs_credentials):
    admin_user = get_user_model().objects.create_superuser(username="root", password="pw-for-tests")
    client.force_login(admin_user)
    return client


@pytest.fixture
def token(user, public_client):
    raw = dev_token_issue(user=user, resource=resource_default(), scopes=["mcp"], lifetime=600)
    get_access_token_model().objects.update(application=public_client)
    return raw


def test_application_list_shows_provenance_and_live_tokens(staff, public_client, token):
    page = staff.get("/admin/oauth2_provider/application/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "live tokens" in html.lower() and "registration source" in html.lower()
    assert '<td class="field-live_tokens">1</td>' in html
    assert token not in html


def test_application_change_page_shows_no_secret(staff, rs_credentials):
    rs_app = get_application_model().objects.get(client_id=rs_credentials[0])

    page = staff.get(f"/admin/oauth2_provider/application/{rs_app.pk}/change/")

    assert page.status_code == 200
    assert rs_app.client_secret not in page.content.decode() and rs_credentials[1] not in page.content.decode()


def test_revoke_all_tokens_action(staff, public_client, token):
    response = staff.post(
        "/admin/oauth2_provider/application/",
        {"action": "revoke_all_tokens", "_selected_action": [public_client.pk]},
    )

    assert response.status_code == 302
    assert not get_access_token_model().objects.exists()


def test_disable_action(staff, public_client, token):
    staff.post(
        "/admin/oauth2_provider/application/", {"action": "disable_clients", "_selected_action": [public_client.pk]}
    )

    assert DisabledClient.objects.filter(application=public_client).exists()
    assert not get_access_token_model().objects.exists()
    assert AuditEvent.objects.filter(kind="client.disabled", client_id=public_client.client_id).exists()


def test_initial_access_token_is_shown_once_and_stored_as_a_checksum(staff):
    page = staff.post("/admin/oauth_app/initialaccesstoken/add/", {"label": "Cursor rollout", "max_uses": 3})

    assert page.status_code == 200
    raw = page.context["raw_token"]
    assert raw in page.content.decode()
    stored = InitialAccessToken.objects.get()
    assert stored.token_checksum != raw and raw not in stored.token_checksum
    assert raw not in staff.get("/admin/oauth_app/initialaccesstoken/").content.decode()
    assert raw not in staff.get(f"/admin/oauth_app/initialaccesstoken/{stored.pk}/change/").content.decode()


def test_audit_log_admin_is_read_only_filterable_and_searchable(staff, user):
    from oauth_app import audit

    audit.record(audit.Kind.LOGIN_FAILED, actor_name="mallory")
    event = AuditEvent.objects.get(kind="login.failed")

    listing = staff.get("/admin/oauth_app/auditevent/?kind__exact=login.failed&q=mallory")
    assert listing.status_code == 200 and "mallory" in listing.content.decode()
    assert staff.get("/admin/oauth_app/auditevent/add/").status_code == 403
    assert staff.post(f"/admin/oauth_app/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff.post(f"/admin/oauth_app/auditevent/{event.pk}/change/", {"kind": "x"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).kind == "login.failed"
