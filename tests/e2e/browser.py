"""The person at the browser: follows the authorization URL, logs in, and approves or denies consent."""

from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.e2e.stack import PASSWORD, USERNAME
from tests.html_forms import form_fields


async def approve(
    authorize_url: str,
    *,
    allow: bool = True,
    username: str = USERNAME,
    password: str = PASSWORD,
    pages: list[str] | None = None,
) -> str:
    """Returns the Location the AS finally redirects the browser to (the client's redirect URI). The consent page
    seen, if any, is appended to `pages`."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=60) as browser:
        response = await browser.get(authorize_url)
        while response.status_code == 302 and not _is_callback(response, authorize_url):
            url = urljoin(str(response.url), response.headers["location"])
            response = await browser.get(url)
        assert response.status_code == 200, response.text[:500]
        if "/accounts/login/" in str(response.url):
            fields, _ = form_fields(response.text)
            response = await browser.post(
                str(response.url), data={**fields, "username": username, "password": password}
            )
            assert response.status_code == 302, "login failed"
            response = await browser.get(urljoin(str(response.url), response.headers["location"]))
        if response.status_code == 302:  # consent skipped (not expected by default, but tell the caller)
            return response.headers["location"]
        assert response.status_code == 200, response.text[:500]
        if pages is not None:
            pages.append(response.text)
        fields, submits = form_fields(response.text, "authorizationForm")
        assert "allow" in submits, "no consent form"
        if allow:
            fields["allow"] = "Authorize"
        response = await browser.post(str(response.url), data=fields)
        assert response.status_code == 302, response.text[:500]
        return response.headers["location"]


async def approve_upstream(authorize_url: str, *, provider_id: str, username: str) -> str:
    """The same person signing in with "Sign in with ..." (a real OpenID Connect provider, tests/identity/upstream/)
    instead of a password. Returns where the AS finally redirects the browser (the client's redirect URI)."""
    from tests.identity.provider import sign_in_at_provider

    with httpx.Client(follow_redirects=False, timeout=60) as browser:  # one browser, for the AS and the provider
        response = browser.get(authorize_url)
        assert response.status_code == 302 and "/accounts/login/" in response.headers["location"], response.text
        login_page = browser.get(urljoin(authorize_url, response.headers["location"]))
        fields, _ = form_fields(login_page.text, f"provider-{provider_id}")
        started = browser.post(urljoin(str(login_page.url), f"/accounts/oidc/{provider_id}/login/"), data=fields)
        assert started.status_code == 302, started.text[:500]
        callback = sign_in_at_provider(browser, started.headers["location"], username)
        back = browser.get(callback)  # the AS's callback: signs the person in, on to `next`
        assert back.status_code == 302, back.text[:500]
        consent = browser.get(urljoin(callback, back.headers["location"]))
        assert consent.status_code == 200, consent.text[:500]
        fields, _ = form_fields(consent.text, "authorizationForm")
        answer = browser.post(str(consent.url), data={**fields, "allow": "Authorize"})
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["location"]


def _is_callback(response: httpx.Response, authorize_url: str) -> bool:
    location = urljoin(str(response.url), response.headers["location"])
    return urlsplit(location).netloc != urlsplit(authorize_url).netloc and "/authorize" not in location


def query(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
