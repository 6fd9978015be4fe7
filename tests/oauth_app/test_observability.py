"""Operators' view: request IDs, one structured log line per request and per security event, health."""

import json
import logging

import pytest

from oauth_app.logs import JsonFormatter

pytestmark = pytest.mark.django_db


def test_request_id_is_taken_from_the_caller_or_made(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="rs-abc-123")["X-Request-ID"] == "rs-abc-123"
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/healthz")["X-Request-ID"]
    assert client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"] != "bad id\nwith newline"


def test_one_structured_line_per_request_without_query_or_body(client, caplog, public_client):
    caplog.set_level(logging.INFO, logger="oauth_app.requests")

    client.post(
        "/token/?access_token=secret-in-query",
        {"refresh_token": "secret-in-body", "grant_type": "x"},
        HTTP_X_REQUEST_ID="req-1",
    )

    [record] = [r for r in caplog.records if r.name == "oauth_app.requests"]
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["request_id"] == "req-1" and entry["path"] == "/token/" and entry["status"] == 400
    assert entry["method"] == "POST" and isinstance(entry["duration_ms"], float)
    assert "secret-in-query" not in line and "secret-in-body" not in line


def test_security_events_are_logged_as_structured_lines(client, caplog, user):
    caplog.set_level(logging.INFO, logger="oauth_app.audit")

    client.post("/accounts/login/", {"username": "alice", "password": "not-the-password"}, HTTP_X_REQUEST_ID="r-9")

    [record] = [r for r in caplog.records if r.name == "oauth_app.audit"]
    entry = json.loads(JsonFormatter().format(record))
    assert entry["event"] == "login.failed" and entry["actor"] == "alice" and entry["request_id"] == "r-9"
    assert "not-the-password" not in JsonFormatter().format(record)


def test_health_endpoint_checks_the_database(client):
    response = client.get("/healthz")

    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok"}
