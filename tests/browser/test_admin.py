"""The operator in a real browser: the admin pages for clients, tokens, resources, initial access tokens, audit."""

import httpx

from tests.browser.test_people import log_in


def admin_login(page, stack):
    page.goto(f"{stack.issuer}/admin/login/?next=/admin/")
    log_in(page)
    page.wait_for_url(f"{stack.issuer}/admin/")


def test_admin_clients_show_provenance_use_and_live_tokens(stack, page):
    httpx.post(
        f"{stack.issuer}/register/",
        json={"client_name": "Admin-visible client", "redirect_uris": ["http://127.0.0.1:1/cb"]},
    )
    admin_login(page, stack)

    page.goto(f"{stack.issuer}/admin/oauth2_provider/application/")
    header = page.inner_text("#result_list thead")
    row = page.locator("#result_list tr", has_text="Admin-visible client").inner_text()

    assert "LIVE TOKENS" in header.upper() and "LAST USED" in header.upper()
    assert "Dynamic" in row or "dcr" in row.lower()


def test_admin_issues_an_initial_access_token_once(stack, page):
    admin_login(page, stack)
    page.goto(f"{stack.issuer}/admin/oauth_app/initialaccesstoken/add/")
    page.fill("input[name=label]", "Browser-made token")
    page.click("input[name=_save]")

    token = page.locator("main code").first.inner_text()
    assert len(token) > 30
    page.goto(f"{stack.issuer}/admin/oauth_app/initialaccesstoken/")
    assert "Browser-made token" in page.inner_text("#result_list") and token not in page.content()


def test_admin_audit_log_filters_and_searches(stack, page):
    admin_login(page, stack)

    page.goto(f"{stack.issuer}/admin/oauth_app/auditevent/?kind__exact=login.succeeded")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() >= 1 and "Login Succeeded" in rows.first.inner_text()
    page.fill("#searchbar", "alice")
    page.press("#searchbar", "Enter")
    assert "alice" in page.inner_text("#result_list")
    assert page.locator(".object-tools a.addlink").count() == 0  # read-only: no "Add audit event"


def test_admin_protected_resources(stack, page):
    admin_login(page, stack)

    page.goto(f"{stack.issuer}/admin/oauth_app/protectedresource/")

    assert stack.server_url in page.inner_text("#result_list")
