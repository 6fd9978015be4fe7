"""Upstream sign-in against a real OpenID Connect provider process: accounts, the operator's policies, and every
way it can fail. The AS runs in this process (Django's test client is its browser); the provider runs in its own
(tests/identity/upstream/), reached over HTTP by allauth and by an httpx "browser" for its login and consent pages.
"""

import logging
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.test import Client

from identity.models import Invitation, LastSignIn
from identity.services import ProviderSpec, provider_save
from oauth_app.logs import JsonFormatter
from tests.e2e.stack import free_port
from tests.html_forms import form_fields
from tests.identity.flows import click_sign_in_with, events, sign_in
from tests.identity.provider import sign_in_at_provider
from tests.oauth_app.flow import authorize_url

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_login_page_has_a_button_per_provider_that_keeps_next(client, corp, public_client, pkce):
    consent_url = authorize_url(public_client.client_id, pkce)
    page = client.get(consent_url, follow=True)

    html = page.content.decode()
    assert page.redirect_chain[-1][0].startswith("/accounts/login/?next=")
    assert "Sign in with Corp SSO" in html and 'name="username"' in html and 'name="password"' in html
    fields, _ = form_fields(html, "provider-corp")
    assert fields["next"] == consent_url and fields["process"] == "login"


def test_first_sign_in_creates_a_linked_user_and_later_ones_find_it(client, corp, public_client, pkce):
    consent_url = authorize_url(public_client.client_id, pkce)

    landed = sign_in(client, "carol", next_url=consent_url)

    assert landed.status_code == 302 and landed["Location"] == consent_url  # back to the client's consent page
    carol = User.objects.get(username="carol")
    assert carol.email == "carol@corp.example" and not carol.has_usable_password()
    link = SocialAccount.objects.get(user=carol)
    assert link.provider == "corp" and link.uid == link.extra_data["userinfo"]["sub"]
    assert client.get(consent_url).status_code == 200  # signed in as carol: the consent page
    assert LastSignIn.objects.get(user=carol).description == "Corp SSO (corp)"
    [succeeded] = events("upstream.succeeded")
    assert succeeded.actor == carol and succeeded.detail == {"provider": "corp", "subject": link.uid, "new_user": True}

    client.logout()
    again = sign_in(client, "carol")

    assert again.status_code == 302 and User.objects.filter(username__startswith="carol").count() == 1
    assert events("upstream.succeeded")[-1].detail["new_user"] is False


def test_a_taken_username_gets_a_number_never_the_other_account(client, corp):
    other = User.objects.create_user(username="carol", email="carol@elsewhere.example", password="pw")

    sign_in(client, "carol")

    new = User.objects.get(email="carol@corp.example")
    assert re.fullmatch(r"carol\d+", new.username) and int(client.session["_auth_user_id"]) == new.pk != other.pk


@pytest.mark.parametrize(
    ("username", "allowed"), [("carol", True), ("dave", False), ("erin", False)]
)  # corp.example verified; other.example; corp.example but unverified
def test_email_domain_policy(client, corp, settings, username, allowed):
    settings.IDENTITY = {**settings.IDENTITY, "ALLOWED_DOMAINS": ["corp.example"]}

    answer = sign_in(client, username, next_url="/account/")

    if allowed:
        assert answer.status_code == 302 and User.objects.filter(username=username).exists()
        return
    assert answer.status_code == 403 and b"verified email address at corp.example" in answer.content
    assert b'href="/accounts/login/?next=%2Faccount%2F"' in answer.content  # try again, towards the same place
    assert not User.objects.filter(username=username).exists() and not SocialAccount.objects.exists()
    assert "_auth_user_id" not in client.session
    [refused] = events("upstream.refused")
    assert refused.detail["reason"] == "domain" and refused.detail["provider"] == "corp"


def test_closed_sign_up_admits_existing_links_and_invitations_only(client, corp, settings, admin_user):
    sign_in(client, "carol")  # linked while sign-up was open
    client.logout()
    settings.IDENTITY = {**settings.IDENTITY, "SIGNUP": "closed"}
    Invitation.objects.create(email="Frank@corp.example", created_by=admin_user)

    refused = sign_in(client, "dave")
    known = sign_in(client, "carol")
    client.logout()
    invited = sign_in(client, "frank")

    assert refused.status_code == 403 and b"administrator has added or invited" in refused.content
    assert not User.objects.filter(username="dave").exists()
    assert known.status_code == 302 and invited.status_code == 302
    frank = User.objects.get(username="frank")
    assert Invitation.objects.get().accepted_by == frank
    assert [event.detail["reason"] for event in events("upstream.refused")] == ["signup_closed"]


@pytest.fixture
def local_alice(db):
    return User.objects.create_user(username="alice", email="alice@corp.example", password="alice-local-password")


def test_no_link_by_email_by_default(client, corp, local_alice):
    answer = sign_in(client, "alice")  # the provider's alice, with alice@corp.example verified

    assert answer.status_code == 403 and b"already uses the email address" in answer.content
    assert not SocialAccount.objects.exists() and User.objects.count() == 1
    assert events("upstream.refused")[0].detail["reason"] == "email_in_use"
    local_alice.refresh_from_db()
    assert local_alice.check_password("alice-local-password")


def test_link_by_email_when_on_and_verified_only(client, corp, local_alice, settings):
    settings.IDENTITY = {**settings.IDENTITY, "LINK_BY_EMAIL": True}
    settings.SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # what project/settings.py derives from the same variable

    unverified = sign_in(client, "mallory")  # claims alice@corp.example, email_verified false
    linked = sign_in(client, "alice")

    assert unverified.status_code == 403 and events("upstream.refused")[0].detail["reason"] == "email_in_use"
    assert linked.status_code == 302 and int(client.session["_auth_user_id"]) == local_alice.pk
    assert SocialAccount.objects.get().user == local_alice
    assert events("upstream.linked")[0].actor == local_alice
    local_alice.refresh_from_db()
    # allauth's guard against an account pre-registered with someone else's address: the password goes.
    assert not local_alice.has_usable_password()


def test_a_signed_in_person_connects_a_provider_from_their_account_page(client, corp, local_alice):
    client.post("/accounts/login/", {"username": "alice", "password": "alice-local-password"})
    connections = client.get("/accounts/3rdparty/")
    started = client.post("/accounts/oidc/corp/login/", {"process": "connect"})
    with httpx.Client() as browser:
        callback = urlsplit(sign_in_at_provider(browser, started["Location"], "alice"))
    connected = client.get(callback.path, parse_qs(callback.query))
    client.logout()

    later = sign_in(client, "alice")  # the same provider identity now finds alice

    assert b"Corp SSO" in connections.content and connected.status_code == 302
    assert SocialAccount.objects.get().user == local_alice and events("upstream.linked")[0].actor == local_alice
    assert later.status_code == 302 and int(client.session["_auth_user_id"]) == local_alice.pk
    local_alice.refresh_from_db()
    assert local_alice.check_password("alice-local-password")  # linked by its owner: the password stays


def test_provider_down_is_a_clear_page(client, corp, upstream_provider):
    provider_save(
        spec=ProviderSpec(
            kind="openid_connect",
            provider_id="down",
            name="Down SSO",
            client_id="x",
            issuer=f"http://127.0.0.1:{free_port()}/o",
        ),
        client_secret="y",
    )

    answer = click_sign_in_with(client, "down", next_url="/account/")

    assert answer.status_code == 502 and b"Down SSO could not be reached" in answer.content
    assert b"Traceback" not in answer.content and b"127.0.0.1" not in answer.content
    assert b'href="/accounts/login/?next=%2Faccount%2F"' in answer.content
    [failed] = events("upstream.failed")
    assert failed.detail == {"provider": "down", "reason": "provider_unreachable", "exception": "ConnectionError"}


def test_provider_refusing_our_credentials_is_a_clear_page(client, corp, upstream_provider):
    corp.secret = "not-the-secret-the-provider-issued"  # e.g. rotated at the provider, not here
    corp.save()

    answer = sign_in(client, "carol", next_url="/account/")

    assert answer.status_code == 502 and b"Corp SSO answered with an error" in answer.content
    assert b"invalid_client" not in answer.content and not User.objects.exists()
    [failed] = events("upstream.failed")
    assert failed.detail == {"provider": "corp", "reason": "provider_error", "exception": "OAuth2Error"}


def test_tampered_state_changes_nothing_and_the_real_answer_still_works(client, corp):
    started = click_sign_in_with(client, "corp")
    with httpx.Client() as browser:
        callback = urlsplit(sign_in_at_provider(browser, started["Location"], "carol"))
    query = parse_qs(callback.query)
    tampered = {**query, "state": ["x" + query["state"][0][1:]]}

    refused = client.get(callback.path, tampered)
    completed = client.get(callback.path, query)

    assert refused.status_code == 400 and b"does not belong to a sign-in started in this browser" in refused.content
    assert events("upstream.failed")[0].detail["reason"] == "state_mismatch"
    assert completed.status_code == 302 and User.objects.filter(username="carol").count() == 1


def test_state_from_another_browser_is_refused(client, corp):
    started = click_sign_in_with(client, "corp")
    with httpx.Client() as browser:
        callback = urlsplit(sign_in_at_provider(browser, started["Location"], "carol"))

    other = Client()  # the attacker's browser: a login CSRF / code injection attempt (RFC 6749 §10.12)
    answer = other.get(callback.path, parse_qs(callback.query))

    assert answer.status_code == 400 and not User.objects.exists()


def test_cancelled_at_the_provider(client, corp):
    answer = sign_in(client, "carol", consent=False, next_url="/account/")

    assert answer.status_code == 400 and b"You cancelled signing in at Corp SSO" in answer.content
    assert b'href="/accounts/login/?next=%2Faccount%2F"' in answer.content
    assert not User.objects.exists() and events("upstream.failed")[0].detail["reason"] == "cancelled"


def test_local_login_off_hides_and_refuses_the_password_form(client, corp, settings, user):
    settings.IDENTITY = {**settings.IDENTITY, "LOCAL_LOGIN": False}

    page = client.get("/accounts/login/")
    refused = client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery"})
    admin = client.get("/admin/login/?next=/admin/")

    assert b"Sign in with Corp SSO" in page.content and b'name="password"' not in page.content
    assert refused.status_code == 403 and b"Password sign-in is turned off" in refused.content
    assert "_auth_user_id" not in client.session
    assert admin.status_code == 302 and admin["Location"].startswith("/accounts/login/?next=")


def test_whoami_names_the_linked_user_at_introspection(client, corp, public_client, pkce, rs_credentials):
    from tests.oauth_app.flow import exchange_code, obtain_code
    from tests.oauth_app.introspection import introspect

    sign_in(client, "carol")
    code = obtain_code(client, public_client.client_id, pkce)
    token = exchange_code(client, public_client.client_id, code, pkce).json()["access_token"]

    answer = introspect(client, rs_credentials, token)
    carol = User.objects.get(username="carol")
    assert answer["active"] and answer["username"] == "carol" and answer["sub"] == str(carol.pk)


def test_no_secret_on_pages_or_in_the_log(client, corp, corp_client, caplog, admin_user):
    caplog.set_level(logging.INFO)  # what project/settings.py logs
    sign_in(client, "carol")
    client.force_login(admin_user)

    page = client.get(f"/admin/socialaccount/socialapp/{corp.pk}/change/")
    people = client.get("/admin/auth/user/")

    assert page.status_code == 200 and b"/accounts/oidc/corp/login/callback/" in page.content
    assert b"Corp SSO (corp) at " in people.content  # how each person last signed in
    secret = corp_client[1]
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not the test's browser
    lines = "\n".join(JsonFormatter().format(record) for record in ours)
    assert '"event": "upstream.succeeded"' in lines
    assert secret.encode() not in page.content and secret not in lines
    assert "code=" not in lines and "state=" not in lines and "access_token" not in lines
