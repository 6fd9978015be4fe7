"""A person in a real browser: log in, consent (approve, deny, remember), connected apps and revoke."""

import base64
import hashlib
import os
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.e2e.stack import PASSWORD, USERNAME

DOCS = Path(__file__).resolve().parents[2] / "docs"


def screenshot(page, name: str, tmp_path) -> None:
    """Kept with the test run; written into docs/ (the README's pictures) when UPDATE_SCREENSHOTS=1."""
    page.screenshot(path=str(tmp_path / name), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name), full_page=True)


class Client:
    """An MCP client as far as the AS sees it: registered by DCR, PKCE S256, a loopback callback."""

    def __init__(self, stack, name="Notes for Claude"):
        self.stack = stack
        body = {"client_name": name, "redirect_uris": [CALLBACK]}
        self.client_id = httpx.post(f"{stack.issuer}/register/", json=body).json()["client_id"]
        self.verifier = secrets.token_urlsafe(48)

    def authorize_url(self) -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": CALLBACK,
            "state": "xyz",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": self.stack.server_url,
        }
        return f"{self.stack.issuer}/authorize/?{urlencode(query)}"

    def exchange(self, code: str) -> dict:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": self.client_id,
            "code_verifier": self.verifier,
        }
        return httpx.post(f"{self.stack.issuer}/token/", data=data).json()


class _Callback(BaseHTTPRequestHandler):
    """What a native MCP client runs on loopback (RFC 8252 §7.3) to receive the authorization response."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        body = b"<p>You can close this window.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


_callback_server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
threading.Thread(target=_callback_server.serve_forever, daemon=True).start()
CALLBACK = f"http://127.0.0.1:{_callback_server.server_address[1]}/callback"


def callback_params(page) -> dict[str, str]:
    page.wait_for_url(f"{CALLBACK}*")
    page.wait_for_load_state()
    assert "close this window" in page.content()  # really arrived, not a browser error page
    return {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}


def log_in(page):
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")


def test_login_then_consent_approve(stack, page, tmp_path):
    client = Client(stack)

    page.goto(client.authorize_url())
    assert "/accounts/login/" in page.url
    log_in(page)
    page.wait_for_selector("#authorizationForm")
    text = page.inner_text("main")
    assert "Notes for Claude" in text and "unverified" in text and "self-registration" in text
    assert stack.server_url in text and urlsplit(CALLBACK).netloc in text
    assert "Use this MCP server's tools, resources and prompts as you" in text
    screenshot(page, "consent.png", tmp_path)
    page.click("button[name=allow]")

    params = callback_params(page)
    assert params["state"] == "xyz" and params["iss"] == stack.issuer
    assert client.exchange(params["code"])["token_type"] == "Bearer"


def test_consent_deny(stack, page):
    client = Client(stack, name="Denied client")
    page.goto(client.authorize_url())
    log_in(page)

    page.click("text=Deny")

    params = callback_params(page)
    assert params["error"] == "access_denied" and "code" not in params


def test_remembered_consent_skips_the_page_next_time(stack, page):
    client = Client(stack, name="Remembering client")
    page.goto(client.authorize_url())
    log_in(page)
    page.check("input[name=remember]")
    page.click("button[name=allow]")
    callback_params(page)

    page.goto(client.authorize_url())

    assert "code" in callback_params(page)  # straight back to the client, no consent page


def test_connected_apps_and_revoke(stack, page, tmp_path):
    client = Client(stack, name="Revocable client")
    page.goto(client.authorize_url())
    log_in(page)
    page.click("button[name=allow]")
    tokens = client.exchange(callback_params(page)["code"])
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json, text/event-stream"}
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    assert httpx.post(stack.server_url, json=initialize, headers=headers).status_code == 200

    page.goto(f"{stack.issuer}/")
    page.click("text=applications you connected")
    row = page.locator("tr", has_text="Revocable client")
    assert stack.server_url in row.inner_text() and "mcp" in row.inner_text()
    screenshot(page, "connected-apps.png", tmp_path)
    row.get_by_role("button", name="Revoke Revocable client").click()
    page.wait_for_load_state()

    assert page.locator("tr", has_text="Revocable client").count() == 0
    time.sleep(1.2)  # the RS's cache window in this stack (MCP_TOKEN_CACHE_SECONDS=1)
    assert httpx.post(stack.server_url, json=initialize, headers=headers).status_code == 401


def test_password_change_page(stack, page):
    page.goto(f"{stack.issuer}/accounts/password_change/")
    log_in(page)

    assert page.locator("h1").inner_text() == "Change your password"
    assert page.locator("input[name=old_password]").count() == 1


@pytest.mark.parametrize("width", [375])
def test_consent_page_fits_a_phone(stack, chromium, width):
    context = chromium.new_context(viewport={"width": width, "height": 740})
    page = context.new_page()
    page.goto(Client(stack, name="Phone client").authorize_url())
    log_in(page)
    page.wait_for_selector("#authorizationForm")

    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    assert scroll_width <= width  # no sideways scrolling
