"""Faults: the database lost and back, and restarts that lose nothing."""

import os
import secrets
import subprocess
import sys
import time

import httpx
import psycopg
import pytest

from tests.e2e.mcp_client import MemoryStorage, ScriptedBrowser, call_json, mcp_session, oauth_provider
from tests.e2e.stack import ROOT, free_port, running_stack, wait_until_up
from tests.e2e.tcp_proxy import TcpProxy
from tests.services import POSTGRES_SERVER, needs_postgres

POSTGRES = POSTGRES_SERVER


@pytest.fixture
def proxied_database():
    name = f"faults_{secrets.token_hex(5)}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    proxy = TcpProxy(upstream_port=5432).start()
    try:
        yield proxy, f"postgres://postgres@127.0.0.1:{proxy.port}/{name}"
    finally:
        proxy.cut()
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@needs_postgres
def test_database_lost_gives_503_json_and_the_as_recovers_by_itself(proxied_database):
    proxy, database_url = proxied_database
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "k" * 50,
        "OAUTH_ISSUER": f"http://127.0.0.1:{port}",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "bootstrap_rs"], cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}"],  # persistent connections
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz")
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "database": "ok"}

        proxy.cut()
        answers = [
            httpx.get(f"{base}/healthz"),
            httpx.get(f"{base}/.well-known/oauth-authorization-server"),
            httpx.post(f"{base}/token/", data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": "c"}),
            httpx.post(f"{base}/register/", json={"redirect_uris": ["http://127.0.0.1:1/cb"]}),
            httpx.post(f"{base}/introspect/", data={"token": "x"}, auth=("mcp-resource-server", "x")),
        ]
        for answer in answers:
            assert answer.status_code == 503, (answer.request.url, answer.status_code, answer.text[:300])
            assert answer.json()["error"] == "temporarily_unavailable"
            assert "Traceback" not in answer.text and "psycopg" not in answer.text

        TcpProxy(upstream_port=5432, listen_port=proxy.port).start()  # the database is back, same address
        deadline = time.monotonic() + 15
        while httpx.get(f"{base}/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/.well-known/oauth-authorization-server").status_code == 200
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=10)
    assert "Traceback" not in errors


async def test_restarts_lose_no_registration_consent_or_token(tmp_path):
    with running_stack(tmp_path) as stack:
        storage, browser = MemoryStorage(), ScriptedBrowser()
        async with mcp_session(stack.server_url, auth=oauth_provider(stack.server_url, storage, browser)) as session:
            assert (await call_json(session, "whoami"))["username"] == "alice"
        registered = httpx.post(
            f"{stack.issuer}/register/", json={"client_name": "r", "redirect_uris": ["http://127.0.0.1:9/cb"]}
        ).json()

        stack.stop()  # both servers down ...
        stack.start()  # ... and up again, on the same database

        headers = {"Authorization": f"Bearer {storage.tokens.access_token}"}
        async with mcp_session(stack.server_url, headers=headers) as session:  # the live token still works
            assert (await call_json(session, "whoami"))["username"] == "alice"
        refreshed = httpx.post(
            f"{stack.issuer}/token/",
            data={
                "grant_type": "refresh_token",
                "refresh_token": storage.tokens.refresh_token,
                "client_id": storage.client_info.client_id,
            },
        )
        assert refreshed.status_code == 200  # the refresh token and the registration survived
        management = httpx.get(
            f"{stack.issuer}/register/{registered['client_id']}/",
            headers={"Authorization": f"Bearer {registered['registration_access_token']}"},
        )
        assert management.status_code == 200 and management.json()["client_name"] == "r"  # RFC 7592 still works
        assert len(browser.authorize_urls) == 1


def test_an_as_that_accepts_but_never_answers_costs_one_timeout_not_a_hang(tmp_path):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts connections (the kernel does), never reads or answers
    settings = {"MCP_AS_URL": f"http://127.0.0.1:{silent.getsockname()[1]}", "MCP_INTROSPECTION_TIMEOUT": "1"}
    try:
        with running_stack(tmp_path, separately=True, **settings) as stack:
            token = stack.manage("issue_token", "alice").strip()
            started = time.monotonic()
            response = httpx.post(stack.server_url, json={}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            elapsed = time.monotonic() - started
    finally:
        silent.close()

    assert response.status_code == 503 and response.json()["error"] == "temporarily_unavailable"
    assert 0.9 <= elapsed < 2.5  # MCP_INTROSPECTION_TIMEOUT=1, then a clear answer
