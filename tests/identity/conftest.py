import pytest

from identity.services import ProviderSpec, provider_save
from tests.identity.flows import CALLBACK


@pytest.fixture(scope="module")
def corp_client(upstream_provider):
    """This AS registered at the provider, as an operator does once: (client_id, client_secret)."""
    return upstream_provider.register_client(CALLBACK)


@pytest.fixture
def corp(upstream_provider, corp_client):
    """The provider configured in the AS as `corp`, "Corp SSO"."""
    client_id, secret = corp_client
    spec = ProviderSpec(
        kind="openid_connect", provider_id="corp", name="Corp SSO", client_id=client_id, issuer=upstream_provider.issuer
    )
    return provider_save(spec=spec, client_secret=secret)[0]
