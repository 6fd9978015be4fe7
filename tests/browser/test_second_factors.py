"""Security keys in Chromium: enrol one and sign in with it, with Chromium's virtual authenticator (DevTools
protocol, WebAuthn domain) standing in for the hardware. WebAuthn refuses IP addresses as relying party IDs, so the
browser uses http://localhost (a secure context) for the AS on 127.0.0.1."""

from tests.browser.test_people import log_in, screenshot
from tests.e2e.stack import PASSWORD


def test_security_key_enrolment_and_sign_in_with_a_virtual_authenticator(stack, chromium, tmp_path):
    base = stack.issuer.replace("127.0.0.1", "localhost")
    context = chromium.new_context()
    page = context.new_page()
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    options = {"protocol": "ctap2", "transport": "usb", "hasResidentKey": True, "hasUserVerification": True}
    authenticator = devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {"options": {**options, "isUserVerified": True, "automaticPresenceSimulation": True}},
    )

    page.goto(f"{base}/accounts/login/?next=/accounts/2fa/webauthn/add/")
    log_in(page)
    page.wait_for_url(f"{base}/accounts/reauthenticate/*")  # allauth asks for the password before any change
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_selector("#mfa_webauthn_add")
    page.fill("input[name=name]", "Virtual key")
    page.click("#mfa_webauthn_add")
    page.wait_for_url(f"{base}/accounts/2fa/recovery-codes/")  # the first key: recovery codes come with it
    credentials = devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator["authenticatorId"]})
    assert len(credentials["credentials"]) == 1
    page.goto(f"{base}/accounts/2fa/")
    assert "You have added 1 security key" in page.inner_text("main")
    screenshot(page, "two-factor.png", tmp_path)

    page.click("header button:has-text('Log out')")
    page.goto(f"{base}/accounts/login/?next=/account/")
    log_in(page)
    page.wait_for_url(f"{base}/accounts/2fa/authenticate/")
    page.click("#mfa_webauthn_authenticate")
    page.wait_for_url(f"{base}/account/")

    assert "You last signed in with password and security key" in page.inner_text("main")
    context.close()
