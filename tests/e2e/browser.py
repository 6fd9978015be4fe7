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


def _is_callback(response: httpx.Response, authorize_url: str) -> bool:
    location = urljoin(str(response.url), response.headers["location"])
    return urlsplit(location).netloc != urlsplit(authorize_url).netloc and "/authorize" not in location


def query(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
