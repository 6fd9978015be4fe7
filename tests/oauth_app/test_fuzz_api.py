"""Hostile input: schemathesis generates requests from the AS's own OpenAPI description (/openapi.json).

No request may get a 5xx, and every 4xx from an OAuth endpoint must be RFC 6749-shaped JSON. (The authorize
endpoint answers people, not clients: its errors are redirects to a registered URI or an HTML page.)
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from project.wsgi import application

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/openapi.json", application)


def rfc_shaped_errors(response, case) -> None:
    if case.path == "/authorize/" or not 400 <= response.status_code < 500:
        return
    content_type = next((v[0] for k, v in response.headers.items() if k.lower() == "content-type"), "")
    assert content_type.startswith("application/json"), response.text[:200]
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), body


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Schemathesis calls the WSGI app directly, not through Django's test client, which is what normally stops
    each request from closing the database connection the test's transaction lives on. Do the same here."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def generous_limits(settings):
    # Fuzzing sends hundreds of requests from one address; the limits have their own tests.
    settings.MCP_AUTH = {**settings.MCP_AUTH, "REGISTRATION_RATE": "100000/h", "TOKEN_RATE": "100000/m"}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_errors_are_rfc_shaped(case, rs_credentials):
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    rfc_shaped_errors(response, case)
