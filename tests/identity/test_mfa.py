"""Second factors for local accounts (allauth.mfa): TOTP enrolment and sign-in with a code computed here, recovery
codes, rate limits, and OAUTH_MFA_REQUIRED_FOR_STAFF. WebAuthn runs in Chromium (tests/browser/test_sign_in.py)."""

import html
import re

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model

from identity.models import LastSignIn
from tests.identity.flows import events, sign_in, totp

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "staff-password-for-tests"


@pytest.fixture
def mfa_required(settings):
    settings.IDENTITY = {**settings.IDENTITY, "MFA_REQUIRED_FOR_STAFF": True}  # the production default


@pytest.fixture
def staff(db):
    return User.objects.create_user(username="root", email="root@corp.example", password=PASSWORD, is_staff=True)


def log_in(client, username: str, password: str = PASSWORD, next_url: str = "/admin/"):
    return client.post("/accounts/login/", {"username": username, "password": password, "next": next_url})


def enrol_totp(client) -> str:
    """The person opens the activation page (confirming their password first: allauth asks again before any
    change to second factors), types the secret into their app and confirms with its code."""
    page = client.get("/accounts/2fa/totp/activate/")
    if page.status_code == 302 and page["Location"].startswith("/accounts/reauthenticate/"):
        assert client.post(page["Location"], {"password": PASSWORD}).status_code == 302
        page = client.get("/accounts/2fa/totp/activate/")
    secret = html.unescape(re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7=]+)"', page.content.decode())[1])
    activated = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret)})
    assert activated.status_code == 302 and activated["Location"] == "/accounts/2fa/recovery-codes/"
    return secret


def test_staff_enrol_totp_before_anything_else_then_sign_in_with_a_code(
    client, mfa_required, staff, django_capture_on_commit_callbacks
):
    assert log_in(client, "root")["Location"] == "/admin/"

    gated = client.get("/admin/")
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals the new authenticator on commit
        secret = enrol_totp(client)
    codes_page = client.get("/accounts/2fa/recovery-codes/").content.decode()
    back = client.get("/accounts/2fa/continue/")

    assert gated.status_code == 302 and gated["Location"] == "/accounts/2fa/"
    assert re.search(r"\b\d{8}\b", codes_page)  # recovery codes, shown once
    assert back["Location"] == "/admin/" and client.get("/admin/").status_code == 200
    assert {event.detail["type"] for event in events("mfa.added")} == {"totp", "recovery_codes"}

    client.logout()
    stage = log_in(client, "root")
    wrong = client.post("/accounts/2fa/authenticate/", {"code": f"{(int(totp(secret)) + 1) % 10**6:06}"})
    right = client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})

    assert stage["Location"] == "/accounts/2fa/authenticate/"
    assert wrong.status_code == 200 and b"Incorrect code" in wrong.content
    assert right.status_code == 302 and right["Location"] == "/admin/"
    assert int(client.session["_auth_user_id"]) == staff.pk
    assert LastSignIn.objects.get(user=staff).description == "password and authenticator app"
    assert [event.detail["type"] for event in events("mfa.failed")] == ["totp"]
    assert events("mfa.succeeded")[-1].actor == staff


def test_the_gate_shows_why_and_keeps_everything_else_shut(client, mfa_required, staff, public_client, pkce):
    from tests.oauth_app.flow import authorize_url

    log_in(client, "root")

    consent = client.get(authorize_url(public_client.client_id, pkce), follow=True)

    assert consent.redirect_chain[-1][0] == "/accounts/2fa/"
    assert b"Staff accounts need a second factor" in consent.content
    assert b"Continue to where you were going" in consent.content


def test_a_recovery_code_signs_in_once(client, staff):
    log_in(client, "root")
    enrol_totp(client)
    codes = re.findall(r"\b\d{8}\b", client.get("/accounts/2fa/recovery-codes/").content.decode())
    client.logout()

    log_in(client, "root")
    first = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    client.logout()
    log_in(client, "root")
    again = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})

    assert first.status_code == 302 and LastSignIn.objects.get(user=staff).second_factor == "recovery_codes"
    assert again.status_code == 200 and "_auth_user_id" not in client.session


def test_second_factor_codes_are_rate_limited(client, staff):
    log_in(client, "root")
    secret = enrol_totp(client)
    client.logout()
    log_in(client, "root")

    for _ in range(10):
        client.post("/accounts/2fa/authenticate/", {"code": "000000" if totp(secret) != "000000" else "111111"})
    limited = client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})

    assert limited.status_code == 200 and "_auth_user_id" not in client.session
    assert b"Too many failed" in limited.content


def test_staff_cannot_remove_their_last_second_factor_when_required(client, mfa_required, staff):
    log_in(client, "root")
    enrol_totp(client)

    refused = client.post("/accounts/2fa/totp/deactivate/")

    assert refused.status_code == 200 and b"cannot deactivate" in refused.content
    assert Authenticator.objects.filter(user=staff, type="totp").exists()


def test_people_who_are_not_staff_are_not_gated(client, mfa_required, user, public_client, pkce):
    from tests.oauth_app.flow import authorize_url

    client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery"})

    assert client.get(authorize_url(public_client.client_id, pkce)).status_code == 200  # the consent page


def test_staff_signed_in_upstream_rely_on_the_provider(client, mfa_required, corp):
    sign_in(client, "carol")
    User.objects.filter(username="carol").update(is_staff=True)

    assert client.get("/admin/").status_code == 200


def test_admin_shows_second_factors_but_never_their_secrets_and_audits_a_reset(client, staff, admin_user):
    log_in(client, "root")
    secret = enrol_totp(client)
    client.force_login(admin_user)
    totp_row = Authenticator.objects.get(user=staff, type="totp")

    page = client.get(f"/admin/mfa/authenticator/{totp_row.pk}/change/")
    deleted = client.post(f"/admin/mfa/authenticator/{totp_row.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200 and secret.encode() not in page.content and b"root" in page.content
    assert deleted.status_code == 302 and not Authenticator.objects.filter(pk=totp_row.pk).exists()
    reset = events("mfa.removed")[-1]
    assert reset.actor == admin_user and reset.detail == {"type": "totp", "user": "root"}


def test_a_second_factor_is_asked_after_an_upstream_sign_in_too(client, corp):
    sign_in(client, "carol")
    client.logout()
    carol = User.objects.get(username="carol")
    Authenticator.objects.create(user=carol, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"})

    answer = sign_in(client, "carol")

    assert answer["Location"] == "/accounts/2fa/authenticate/" and "_auth_user_id" not in client.session
    assert client.post("/accounts/2fa/authenticate/", {"code": totp("JBSWY3DPEHPK3PXP")}).status_code == 302
    assert LastSignIn.objects.get(user=carol).description == "Corp SSO (corp) and authenticator app"
