"""Start the test OpenID Connect provider (tests/identity/upstream/) on a free loopback port, and act as a person
at its login and consent pages."""

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.stack import ROOT, free_port, wait_until_up
from tests.html_forms import form_fields
from tests.identity.upstream.people import PASSWORD


@dataclass
class Provider:
    origin: str
    issuer: str
    env: dict[str, str]
    process: subprocess.Popen | None = None

    def seed(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "tests.identity.upstream.seed", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def register_client(self, *redirect_uris: str) -> tuple[str, str]:
        """Registers the AS at the provider, as an operator would: returns (client_id, client_secret)."""
        client_id, secret = self.seed("client", *redirect_uris).split()
        return client_id, secret


@contextlib.contextmanager
def running_provider(tmp_path: Path):
    port = free_port()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    origin = f"http://127.0.0.1:{port}"
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "OAUTH_"))},
        "DJANGO_SETTINGS_MODULE": "tests.identity.upstream.settings",
        "UPSTREAM_DATABASE": str(tmp_path / "provider.sqlite3"),
        "UPSTREAM_RSA_PRIVATE_KEY": pem.decode(),
        "UPSTREAM_ISSUER": f"{origin}/o",
        "OAUTHLIB_INSECURE_TRANSPORT": "1",  # plain http on loopback, for the test only
        "PYTHONUNBUFFERED": "1",
    }
    provider = Provider(origin=origin, issuer=f"{origin}/o", env=env)
    django = [sys.executable, "-m", "django"]
    subprocess.run([*django, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    provider.seed("users")
    with open(tmp_path / "provider.log", "w") as log:
        provider.process = subprocess.Popen(
            [*django, "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_up(f"{provider.issuer}/.well-known/openid-configuration")
            yield provider
        finally:
            provider.process.send_signal(signal.SIGTERM)
            try:
                provider.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(provider.process.pid, signal.SIGKILL)
                provider.process.wait(timeout=10)


def sign_in_at_provider(browser: httpx.Client, authorize_url: str, username: str, *, consent: bool = True) -> str:
    """The person at the provider: logs in with its own password, approves (or cancels) sharing their identity.
    Returns the URL the provider sends the browser back to (the AS's callback)."""
    response = browser.get(authorize_url)
    if response.status_code == 302:  # not signed in at the provider yet: its login page
        login_url = urljoin(authorize_url, response.headers["location"])
        page = browser.get(login_url)
        fields, _ = form_fields(page.text)
        response = browser.post(login_url, data={**fields, "username": username, "password": PASSWORD})
        assert response.status_code == 302, f"provider login failed: {response.text[:300]}"
        response = browser.get(urljoin(login_url, response.headers["location"]))
    assert response.status_code == 200, response.text[:500]
    fields, submits = form_fields(response.text, "authorizationForm")
    assert "allow" in submits, response.text[:500]
    if consent:
        fields["allow"] = "Authorize"
    answer = browser.post(str(response.url), data=fields)
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["location"]
