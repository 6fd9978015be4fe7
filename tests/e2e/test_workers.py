"""Production serving: the AS with two workers (`manage.py serve`, granian) on the suite's database (PostgreSQL in
CI's second run), the RS with MCP_WORKERS=2, and the introspection cache shared through Redis between RS processes."""

import asyncio
import hashlib
import secrets
import socket

import httpx
import pytest
import redis

from mcp_rs.__main__ import listening_socket
from tests.e2e.mcp_client import MemoryStorage, ScriptedBrowser, call_json, mcp_session, oauth_provider
from tests.e2e.production import production_stack, serve_rs, stop, worker_pids
from tests.e2e.stack import USERNAME, free_port
from tests.services import REDIS_URL, needs_redis


@pytest.fixture
def redis_prefix():
    prefix = f"test-{secrets.token_hex(4)}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def initialize(url: str, token: str) -> int:
    """The status of an MCP initialize request carrying `token`: 200 once the RS's guard let it through."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {"authorization": f"Bearer {token}", "accept": "application/json, text/event-stream"}
    return httpx.post(url, json=body, headers=headers, timeout=10).status_code


@needs_redis
async def test_both_sides_serve_a_real_client_with_two_workers_each(tmp_path, redis_prefix):
    settings = {"REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": redis_prefix}
    with production_stack(tmp_path, as_workers=2, rs_workers=2, **settings) as stack:
        assert len(worker_pids(stack.as_process)) == 2
        assert len(worker_pids(stack.rs_process)) == 2

        # Discovery, registration, login, consent, token, then tools: all through the multi-worker servers.
        storage = MemoryStorage()
        provider = oauth_provider(stack.server_url, storage, ScriptedBrowser())
        async with mcp_session(stack.server_url, auth=provider) as session:
            assert (await call_json(session, "whoami"))["username"] == USERNAME
        token = storage.tokens.access_token

        # Eight clients at once, each on its own connections, whichever worker accepts them: no session to lose.
        async def whoami() -> str:
            async with mcp_session(stack.server_url, headers={"Authorization": f"Bearer {token}"}) as session:
                return (await call_json(session, "whoami"))["username"]

        assert await asyncio.gather(*(whoami() for _ in range(8))) == [USERNAME] * 8

        # The shared cache holds the token's SHA-256 under this deployment's prefix, never the token.
        client = redis.Redis.from_url(REDIS_URL)
        names = list(client.scan_iter(f"{redis_prefix}:mcp-rs:introspection:*"))
        assert [name.decode().rsplit(":", 1)[1] for name in names] == [hashlib.sha256(token.encode()).hexdigest()]
        assert token.encode() not in client.get(names[0])
        assert 0 < client.pttl(names[0]) <= 30_000


@needs_redis
def test_rs_replicas_share_introspection_answers_through_redis_and_never_pass_unchecked(tmp_path, redis_prefix):
    settings = {"REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": redis_prefix}
    with production_stack(tmp_path, as_workers=1, rs_workers=1, **settings) as stack:
        seen, unseen = (stack.manage("issue_token", USERNAME).strip() for _ in range(2))
        ports = {"replica": free_port(), "without-redis": free_port(), "redis-down": free_port()}
        down = f"redis://127.0.0.1:{free_port()}/0"
        replicas = [
            serve_rs(stack.env, port=ports["replica"]),
            serve_rs(stack.env, port=ports["without-redis"], REDIS_URL=""),
            serve_rs(stack.env, port=ports["redis-down"], REDIS_URL=down),
        ]
        url = {name: f"http://127.0.0.1:{port}/mcp" for name, port in ports.items()}
        try:
            assert initialize(stack.server_url, seen) == 200  # introspected once, cached in Redis
            assert initialize(url["redis-down"], seen) == 200  # Redis unreachable: it introspects instead

            stop(stack.as_process)  # from now on only a cache can say yes

            assert initialize(url["replica"], seen) == 200  # never asked the AS: the answer came through Redis
            assert initialize(url["without-redis"], seen) == 503  # the control: no shared cache, no answer
            assert initialize(url["redis-down"], seen) == 200  # its own in-process cache
            assert initialize(url["replica"], unseen) == 503  # a token nobody checked does not pass
            assert initialize(url["replica"], "forged") == 503
        finally:
            for replica in replicas:
                stop(replica)


def test_workers_listen_on_a_socket_whose_connections_skip_nagle():
    """uvicorn's own `--workers` socket leaves Nagle on: ~40 ms per response on a keep-alive connection."""
    with listening_socket("127.0.0.1", 0) as listener:
        listener.listen()
        with socket.create_connection(listener.getsockname()) as client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"
