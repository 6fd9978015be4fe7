"""Client ID Metadata Documents: an https client_id URL instead of registration (MCP 2026-07-28)."""

import pytest
from oauth2_provider.cimd import CIMDError
from oauth2_provider.models import get_application_model

from conftest import REDIRECT_URI
from oauth_app.cimd import PolicyMetadataFetcher
from tests.oauth_app import cimd_server
from tests.oauth_app.flow import authorize_url, consent, exchange_code, redirect_params

pytestmark = pytest.mark.django_db


@pytest.fixture
def document_server(tmp_path, settings):
    server = cimd_server.DocumentServer(tmp_path)
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "CIMD_METADATA_FETCHER": "tests.oauth_app.cimd_server.LoopbackDocumentFetcher",
    }
    yield server
    server.close()


@pytest.fixture
def browser(client, user, rs_credentials):
    client.force_login(user)
    return client


def test_metadata_advertises_cimd(client, rs_credentials):
    assert client.get("/.well-known/oauth-authorization-server").json()["client_id_metadata_document_supported"]


def test_a_document_client_gets_through_consent_to_a_token(browser, client, document_server, pkce):
    client_id = document_server.publish("/client.json", redirect_uris=[REDIRECT_URI], client_name="Doc Client")

    page = browser.get(authorize_url(client_id, pkce))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Doc Client" in html and "localhost" in html and "unverified" in html
    code = redirect_params(consent(browser, authorize_url(client_id, pkce)))["code"]
    response = exchange_code(client, client_id, code, pkce)
    assert response.status_code == 200, response.content
    application = get_application_model().objects.get(client_id=client_id)
    assert application.registration_source == "cimd" and application.client_type == "public"


def test_a_trusted_host_is_marked_verified(browser, document_server, pkce, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "CIMD_ALLOWED_HOSTS": ["localhost"]}
    client_id = document_server.publish("/trusted.json", redirect_uris=[REDIRECT_URI])

    html = browser.get(authorize_url(client_id, pkce)).content.decode()

    assert "verified</span>" in html and "unverified" not in html and "a host this server trusts" in html


@pytest.mark.parametrize(
    "publish",
    [
        lambda server: server.url("/missing.json"),
        lambda server: server.publish(
            "/wrong-id.json", {"client_id": "https://other.example/c.json", "redirect_uris": [REDIRECT_URI]}
        ),
        lambda server: server.publish("/evil-redirect.json", redirect_uris=["http://evil.example/cb"]),
        lambda server: server.publish(
            "/secret.json",
            redirect_uris=[REDIRECT_URI],
            client_secret="x",
            token_endpoint_auth_method="client_secret_basic",
        ),
        lambda server: server.publish("/500.json", status=500),
    ],
    ids=["not-found", "client-id-mismatch", "http-redirect-to-remote-host", "confidential", "server-error"],
)
def test_a_bad_document_gives_a_clear_error_page(browser, document_server, pkce, publish):
    client_id = publish(document_server)

    response = browser.get(authorize_url(client_id, pkce))

    assert response.status_code == 400 and "Location" not in response
    assert b"metadata document" in response.content
    assert not get_application_model().objects.filter(client_id=client_id).exists()


def test_the_real_fetcher_refuses_loopback_addresses(document_server):
    # The SSRF guard in production: the same document the tests fetch is out of reach for the real fetcher.
    url = document_server.publish("/client.json", redirect_uris=[REDIRECT_URI])

    with pytest.raises(CIMDError, match="non-public address"):
        PolicyMetadataFetcher().fetch(url)
