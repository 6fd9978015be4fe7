"""Drive the authorization-code flow through Django's test client, the way a browser and a client would."""

from urllib.parse import parse_qs, urlencode, urlsplit

from conftest import REDIRECT_URI
from tests.html_forms import form_fields


def authorize_url(client_id: str, pkce, **overrides) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "state": "st4te",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    return "/authorize/?" + urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)


def redirect_params(response) -> dict[str, str]:
    assert response.status_code == 302, response.content[:500]
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def consent(browser, url: str, *, allow: bool = True):
    """GET the consent page, then submit its form as a person would (Approve or Deny)."""
    page = browser.get(url)
    assert page.status_code == 200, page.content[:500]
    data, submits = form_fields(page.content.decode(), "authorizationForm")
    assert "allow" in submits
    if allow:
        data["allow"] = "Authorize"
    return browser.post(url, data)


def obtain_code(browser, client_id: str, pkce, **overrides) -> str:
    params = redirect_params(consent(browser, authorize_url(client_id, pkce, **overrides)))
    return params["code"]


def exchange_code(client, client_id: str, code: str, pkce, **extra):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
        "code_verifier": pkce.verifier,
        **extra,
    }
    return client.post("/token/", {k: v for k, v in data.items() if v is not None})
