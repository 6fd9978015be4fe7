"""`manage.py serve`: the AS under WSGI (granian), with keep-alive connections and persistent database connections."""

import signal
import subprocess
import sys
from urllib.parse import urlencode

import httpx
import psycopg
import pytest

from conftest import Pkce
from tests.e2e.browser import query
from tests.e2e.mcp_client import CALLBACK
from tests.e2e.production import prepare, worker_pids
from tests.e2e.stack import PASSWORD, ROOT, USERNAME, free_port, stack_environment, throwaway_database, wait_until_up
from tests.html_forms import form_fields
from tests.oauth_app import cimd_server
from tests.oauth_app.cimd_server import DocumentServer
from tests.services import POSTGRES_SERVER, needs_postgres


@pytest.fixture
def served(tmp_path):
    """`manage.py serve --workers 2 --threads 2` on a fresh database of the suite's kind; (base URL, env, process)."""
    as_port = free_port()
    with throwaway_database(tmp_path) as database_url:
        env = stack_environment(as_port, free_port(), database_url, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50)
        env.update(prepare(env))
        command = [sys.executable, "manage.py", "serve", "--workers", "2", "--threads", "2"]
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            wait_until_up(f"{env['OAUTH_ISSUER']}/.well-known/oauth-authorization-server", timeout=60)
            yield env["OAUTH_ISSUER"], env, process
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)


def test_serve_runs_the_workers_it_was_asked_for_and_stops_on_sigterm(served):
    base, _, process = served
    assert len(worker_pids(process)) == 2

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    output = process.stdout.read()
    assert "2 worker(s) x 2 thread(s)" in output and "Traceback" not in output
    with pytest.raises(httpx.ConnectError):
        httpx.get(base, timeout=2)


def test_serve_keeps_a_clients_connection_alive(served):
    base, env, _ = served
    with httpx.Client(base_url=base, auth=(env["MCP_RS_CLIENT_ID"], env["MCP_RS_CLIENT_SECRET"])) as client:
        answers = [client.post("/introspect/", data={"token": "unknown"}) for _ in range(20)]
        peers = {answer.extensions["network_stream"].get_extra_info("client_addr") for answer in answers}

    assert all(answer.json() == {"active": False} for answer in answers)
    assert all(answer.headers.get("connection", "").lower() != "close" for answer in answers)
    assert len(peers) == 1  # one TCP connection for all twenty: what the RS's pooled client relies on


@needs_postgres
def test_serve_reuses_its_database_connections(tmp_path, monkeypatch):
    """Each worker thread keeps its PostgreSQL connection from request to request (DATABASE_CONN_MAX_AGE): under
    ASGI every request opened a new one, which cost ~5 ms and cold catalog caches."""
    monkeypatch.setenv("DATABASE_URL", f"{POSTGRES_SERVER}/postgres")
    as_port = free_port()
    with throwaway_database(tmp_path) as database_url:
        env = stack_environment(as_port, free_port(), database_url, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50)
        env.update(prepare(env))
        name = database_url.rsplit("/", 1)[1]
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--workers", "2", "--threads", "2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = env["OAUTH_ISSUER"]
            wait_until_up(f"{base}/.well-known/oauth-authorization-server", timeout=60)

            def backends() -> set[int]:
                with psycopg.connect(f"{POSTGRES_SERVER}/postgres") as conn:
                    rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)).fetchall()
                return {pid for (pid,) in rows}

            credentials = (env["MCP_RS_CLIENT_ID"], env["MCP_RS_CLIENT_SECRET"])
            for _ in range(30):  # new connections each time, so both workers and their threads are reached
                assert httpx.post(f"{base}/introspect/", data={"token": "x"}, auth=credentials).status_code == 200
            first = backends()
            for _ in range(30):
                assert httpx.post(f"{base}/introspect/", data={"token": "x"}, auth=credentials).status_code == 200
            second = backends()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)

    assert 1 <= len(first) <= 4  # at most workers x threads
    assert second == first  # the same backends served the next thirty requests


def test_more_idle_keep_alive_connections_than_threads_do_not_starve_anyone(served):
    """The RS's pooled client keeps connections open between requests; with two threads a worker must still answer a
    sixth connection while five others sit idle (a connection-count limit at the thread count starved it)."""
    base, _, _ = served
    clients = [httpx.Client(base_url=base, timeout=5) for _ in range(6)]
    try:
        for _ in range(3):
            for client in clients:  # each request on its own kept-alive connection, the others idle meanwhile
                assert client.get("/.well-known/oauth-authorization-server").status_code == 200
    finally:
        for client in clients:
            client.close()


def test_login_consent_and_a_metadata_document_client_under_serve(tmp_path):
    """A person signs in (session cookie, CSRF), a client known only by its metadata document URL is fetched over
    https from a worker thread, the consent form is approved, and the code is exchanged: all under granian."""
    documents = DocumentServer(tmp_path)
    client_id = documents.publish("/client.json", redirect_uris=[CALLBACK], client_name="Doc Client")
    as_port = free_port()
    try:
        with throwaway_database(tmp_path) as database_url:
            # The person is the stack's administrator: production's staff second-factor gate (tests/identity) is
            # not what this test is about.
            env = stack_environment(
                as_port, free_port(), database_url, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50,
                OAUTH_MFA_REQUIRED_FOR_STAFF="0",
            )  # fmt: skip
            env.update(prepare(env))
            env.update(DJANGO_SETTINGS_MODULE="tests.e2e.cimd_settings", CIMD_TEST_CA_FILE=cimd_server.CA_FILE)
            process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--threads", "2"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                base = env["OAUTH_ISSUER"]
                wait_until_up(f"{base}/.well-known/oauth-authorization-server", timeout=60)
                with httpx.Client(base_url=base, timeout=30) as browser:
                    login = browser.get("/accounts/login/")
                    fields, _ = form_fields(login.text)
                    signed_in = browser.post("/accounts/login/", data={**fields, "username": USERNAME,
                                                                        "password": PASSWORD})  # fmt: skip
                    assert signed_in.status_code == 302 and "sessionid" in browser.cookies
                    pkce = Pkce()
                    params = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK, "state": "s",
                              "code_challenge": pkce.challenge, "code_challenge_method": "S256"}  # fmt: skip
                    page = browser.get(f"/authorize/?{urlencode(params)}")
                    assert page.status_code == 200 and "Doc Client" in page.text
                    form, _ = form_fields(page.text, "authorizationForm")
                    forged = {key: value for key, value in form.items() if key != "csrfmiddlewaretoken"}
                    refused = browser.post(f"/authorize/?{urlencode(params)}", data={**forged, "allow": "Authorize"})
                    assert refused.status_code == 403  # signed in, but no CSRF token: what a cross-site form sends
                    approved = browser.post(f"/authorize/?{urlencode(params)}", data={**form, "allow": "Authorize"})
                    assert approved.status_code == 302
                    code = query(approved.headers["location"])["code"]
                token = httpx.post(
                    f"{base}/token/",
                    data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                          "client_id": client_id, "code_verifier": pkce.verifier},
                )  # fmt: skip
                assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=20)
    finally:
        documents.close()


@pytest.mark.parametrize(("redis_url", "warned"), [("", True), ("redis://127.0.0.1:6379/0", False)])
def test_serve_warns_when_each_worker_would_count_the_rate_limits_alone(tmp_path, redis_url, warned):
    env = stack_environment(free_port(), free_port(), f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL=redis_url)
    env.pop("OAUTH_WORKERS", None)  # the system checks see one worker; --workers asks for two
    command = [sys.executable, "manage.py", "serve", "--workers", "2", "--threads", "1"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = ""
        while "Authorization server on" not in output:  # the warning comes before the server starts
            line = process.stdout.readline()
            assert line, output
            output += line
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert ("(oauth_app.W001) 2 AS workers without REDIS_URL" in output) is warned, output
