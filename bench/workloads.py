"""What the benchmarks send, and how each figure is taken. Every answer is checked: a wrong one stops the run."""

import asyncio
import base64
import hashlib
import json
import os
import secrets
import statistics
import time
from pathlib import Path
from urllib.parse import urlencode, urljoin

import httpx
import httpx2
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

from tests.e2e.browser import query
from tests.e2e.mcp_client import CALLBACK, MemoryStorage, ScriptedBrowser, call_json
from tests.e2e.stack import PASSWORD, USERNAME
from tests.html_forms import form_fields

PROTOCOL_VERSION = "2025-11-25"
REDIRECT_URI = "http://127.0.0.1:33420/callback"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- 1, 2, 7: MCP tool calls ------------------------------------------------------------------------------------


class McpSession:
    """One MCP session over streamable HTTP, spoken directly (initialize, then `tools/call`), so the load generator
    costs as little CPU as possible next to the server it measures on the same two cores."""

    def __init__(self, url: str, token: str | None):
        self.url = url
        self.http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=16, max_keepalive_connections=16))
        self.headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        if token:
            self.headers["authorization"] = f"Bearer {token}"
        self.next_id = 0

    async def open(self) -> "McpSession":
        client = {"name": "bench", "version": "1"}
        params = {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": client}
        response = await self._post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params})
        result = self._message(response, 0)["result"]
        self.headers["mcp-protocol-version"] = result["protocolVersion"]
        if "mcp-session-id" in response.headers:  # none when the RS is stateless
            self.headers["mcp-session-id"] = response.headers["mcp-session-id"]
        await self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return self

    async def echo(self) -> None:
        self.next_id += 1
        call_id, message = self.next_id, f"m{self.next_id}"
        request = {"jsonrpc": "2.0", "id": call_id, "method": "tools/call"}
        request["params"] = {"name": "echo", "arguments": {"message": message}}
        result = self._message(await self._post(request), call_id)["result"]
        if result.get("isError") or result["content"][0]["text"] != f"{USERNAME}: {message}":
            raise AssertionError(f"unexpected tool result: {result}")

    async def close(self) -> None:
        await self.http.aclose()

    async def _post(self, body: dict) -> httpx.Response:
        response = await self.http.post(self.url, json=body, headers=self.headers)
        if response.status_code not in (200, 202):
            raise AssertionError(f"{self.url}: HTTP {response.status_code} {response.text[:200]}")
        return response

    @staticmethod
    def _message(response: httpx.Response, call_id: int) -> dict:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            bodies = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        else:
            bodies = [response.text]
        for body in bodies:
            message = json.loads(body) if body else {}
            if message.get("id") == call_id:
                return message
        raise AssertionError(f"no answer to request {call_id}: {response.text[:200]}")


async def calls_per_second(session: McpSession, *, seconds: float, concurrency: int) -> tuple[float, int]:
    """(tool calls completed per second, calls) by `concurrency` callers sharing the session, for about `seconds`."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def caller() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await session.echo()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return done / (time.perf_counter() - started), done


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time consumed so far by these processes (Linux /proc, clock ticks)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / ticks


# --- 3: introspection -------------------------------------------------------------------------------------------


class Introspector:
    """The RS's request to the AS, sent on one keep-alive connection."""

    def __init__(self, as_url: str, client_id: str, client_secret: str, token: str, path: str = "/introspect/"):
        self.http = httpx.Client(base_url=as_url, timeout=30, auth=(client_id, client_secret))
        self.token = token
        self.path = path

    def latencies_ms(self, count: int) -> list[float]:
        measured = []
        for _ in range(count):
            started = time.perf_counter()
            response = self.http.post(self.path, data={"token": self.token, "token_type_hint": "access_token"})
            measured.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or response.json().get("active") is not True:
                raise AssertionError(f"introspection: HTTP {response.status_code} {response.text[:200]}")
        return measured

    def close(self) -> None:
        self.http.close()


# --- 4: token endpoint ------------------------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class TokenEndpoint:
    """Authorization codes from the real consent page (a signed-in browser), then the token endpoint under load."""

    token_path = "/token/"

    def __init__(self, issuer: str):
        self.issuer = issuer
        self.browser = httpx.Client(timeout=30)
        self.client_id = ""
        self.failures: list[str] = []  # with tolerate_failures: what went wrong, instead of stopping the run
        self.tolerate_failures = False

    def register_and_sign_in(self) -> None:
        metadata = {"client_name": "bench", "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"}
        response = self.browser.post(f"{self.issuer}/register/", json=metadata)
        assert response.status_code == 201, response.text[:300]
        self.client_id = response.json()["client_id"]
        login = self.browser.get(f"{self.issuer}/accounts/login/")
        fields, _ = form_fields(login.text)
        response = self.browser.post(login.url, data={**fields, "username": USERNAME, "password": PASSWORD})
        assert response.status_code == 302, "login failed"

    def codes(self, as_url: str, count: int) -> list[tuple[str, str]]:
        """`count` (code, verifier) pairs, each from GET /authorize/ (the consent page) and an approval."""
        pairs = []
        for _ in range(count):
            verifier, challenge = pkce_pair()
            params = {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": "mcp",
                "state": secrets.token_urlsafe(8),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
            page = self.browser.get(f"{as_url}/authorize/?{urlencode(params)}")
            assert page.status_code == 200, page.text[:300]
            fields, _ = form_fields(page.text, "authorizationForm")
            approved = self.browser.post(page.url, data={**fields, "allow": "Authorize"})
            assert approved.status_code == 302, approved.text[:300]
            pairs.append((query(approved.headers["location"])["code"], verifier))
        return pairs

    async def exchanges_per_second(self, as_url: str, pairs, *, concurrency: int) -> tuple[float, list[str]]:
        async def exchange(http: httpx.AsyncClient, pair) -> str:
            code, verifier = pair
            data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
            return await self._token(http, {**data, "client_id": self.client_id, "code_verifier": verifier})

        return await self._run(as_url, pairs, exchange, concurrency)

    async def refreshes_per_second(self, as_url: str, refresh_tokens, *, concurrency: int) -> tuple[float, list[str]]:
        async def refresh(http: httpx.AsyncClient, refresh_token: str) -> str:
            data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id}
            return await self._token(http, data)

        return await self._run(as_url, refresh_tokens, refresh, concurrency)

    async def _token(self, http: httpx.AsyncClient, data: dict) -> str:
        response = await http.post(self.token_path, data=data)
        if response.status_code == 200 and "access_token" in response.json():
            return response.json()["refresh_token"]
        if not self.tolerate_failures:
            raise AssertionError(f"token endpoint: HTTP {response.status_code} {response.text[:300]}")
        self.failures.append(f"HTTP {response.status_code} {response.text[:120]}")
        return ""

    @staticmethod
    async def _run(as_url: str, items, request, concurrency: int) -> tuple[float, list[str]]:
        """Requests per second for all `items` through `concurrency` connections; the new refresh tokens."""
        queue: asyncio.Queue = asyncio.Queue()
        for index, item in enumerate(items):
            queue.put_nowait((index, item))
        results: list[str] = [""] * len(items)
        async with httpx.AsyncClient(base_url=as_url, timeout=30) as http:

            async def worker() -> None:
                while not queue.empty():
                    index, item = queue.get_nowait()
                    results[index] = await request(http, item)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        return len(items) / elapsed, results

    def close(self) -> None:
        self.browser.close()


class PeerTokenEndpoint(TokenEndpoint):
    """The same load against the peer (django-allauth's identity provider): its client is made by
    bench/peer/prepare.py with consent skipped, so a code is one GET of its authorization endpoint."""

    token_path = "/identity/o/api/token"

    def __init__(self, issuer: str, client_id: str):
        super().__init__(issuer)
        self.client_id = client_id

    def register_and_sign_in(self) -> None:
        login = self.browser.get(f"{self.issuer}/accounts/login/")
        fields, _ = form_fields(login.text)
        response = self.browser.post(login.url, data={**fields, "login": USERNAME, "password": PASSWORD})
        assert response.status_code == 302, "peer login failed"

    def codes(self, as_url: str, count: int) -> list[tuple[str, str]]:
        pairs = []
        for _ in range(count):
            verifier, challenge = pkce_pair()
            params = {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": "profile",
                "state": secrets.token_urlsafe(8),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
            answer = self.browser.get(f"{as_url}/identity/o/authorize?{urlencode(params)}")
            assert answer.status_code == 302, answer.text[:300]
            pairs.append((query(answer.headers["location"])["code"], verifier))
        return pairs


# --- 5: a fresh client's full flow ------------------------------------------------------------------------------


class FlowTrace:
    """Every HTTP request of a flow as the client saw it: method, path, status, milliseconds from sending the request
    to receiving the response's headers, and the AS's Server-Timing (db and app milliseconds) when it sent one."""

    def __init__(self):
        self.requests: list[dict] = []

    def hooks(self) -> dict:
        async def sent(request) -> None:
            request.extensions["bench_started"] = time.perf_counter()

        async def answered(response) -> None:
            started = response.request.extensions.get("bench_started", time.perf_counter())
            timing = {
                part.split(";", 1)[0].strip(): float(part.split("dur=", 1)[1].split(";", 1)[0])
                for part in response.headers.get("server-timing", "").split(",")
                if "dur=" in part
            }
            self.requests.append(
                {
                    "method": response.request.method,
                    "host": response.request.url.port,
                    "path": response.request.url.path,
                    "status": response.status_code,
                    "ms": (time.perf_counter() - started) * 1000,
                    "app_ms": timing.get("app"),
                    "db_ms": timing.get("db"),
                }
            )

        return {"request": [sent], "response": [answered]}


class SignedInBrowser(ScriptedBrowser):
    """A person already signed in at the AS (the usual case): the flow shows only the consent page."""

    def __init__(self, issuer: str, trace: FlowTrace | None = None):
        super().__init__()
        self.http = httpx.AsyncClient(timeout=30, event_hooks=trace.hooks() if trace is not None else {})
        self.issuer = issuer

    async def sign_in(self) -> None:
        login = await self.http.get(f"{self.issuer}/accounts/login/")
        fields, _ = form_fields(login.text)
        response = await self.http.post(login.url, data={**fields, "username": USERNAME, "password": PASSWORD})
        assert response.status_code == 302, "login failed"

    async def redirect(self, url: str) -> None:
        self.authorize_urls.append(url)
        page = await self.http.get(url)
        while page.status_code == 302:
            page = await self.http.get(urljoin(str(page.url), page.headers["location"]))
        assert page.status_code == 200 and "/accounts/login/" not in str(page.url), page.text[:300]
        fields, _ = form_fields(page.text, "authorizationForm")
        approved = await self.http.post(str(page.url), data={**fields, "allow": "Authorize"})
        assert approved.status_code == 302, approved.text[:300]
        self.location = approved.headers["location"]


async def full_flow_ms(server_url: str, browser: ScriptedBrowser, trace: FlowTrace | None = None) -> float:
    """A client with nothing stored: 401, discovery, registration, authorization, token, initialize, `whoami`."""
    provider = OAuthClientProvider(
        server_url=server_url,
        # A name of its own each time, so every run is a new registration (the AS would return an identical one).
        client_metadata=OAuthClientMetadata(client_name=f"bench {secrets.token_hex(4)}", redirect_uris=[CALLBACK]),
        storage=MemoryStorage(),
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
    )
    hooks = trace.hooks() if trace is not None else {}
    started = time.perf_counter()
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30, event_hooks=hooks) as http,
        streamable_http_client(server_url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        caller = await call_json(session, "whoami")
        elapsed = (time.perf_counter() - started) * 1000
    if caller["username"] != USERNAME:
        raise AssertionError(f"whoami: {caller}")
    return elapsed


def median(values: list[float]) -> float:
    return statistics.median(values)
