"""TEST ONLY: the AS's settings with the loopback document fetcher (tests/oauth_app/cimd_server.py), so an AS served
by `manage.py serve` in its own process can fetch Client ID Metadata Documents from a local https server."""

from project.settings import *  # noqa: F403

OAUTH2_PROVIDER = {
    **OAUTH2_PROVIDER,  # noqa: F405
    "CIMD_METADATA_FETCHER": "tests.oauth_app.cimd_server.LoopbackDocumentFetcher",
}
