"""`make bench`: start the AS (under granian, gunicorn and uvicorn), a peer AS (django-allauth's identity provider)
and the RS as real processes on loopback ports, measure, print the table, and rewrite the results block of
docs/benchmarks.md and docs/benchmarks.png.

Every figure is a median over interleaved rounds (A B C, B C A, C A B, ...), short ones, so drift on the machine
falls on every variant alike; ratios are medians of per-round ratios. Bounded: three to five minutes by default.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import redis

from bench import report
from bench.workloads import (
    FlowTrace,
    Introspector,
    McpSession,
    PeerTokenEndpoint,
    ScriptedBrowser,
    SignedInBrowser,
    TokenEndpoint,
    calls_per_second,
    cpu_seconds,
    full_flow_ms,
    percentile,
)
from tests.e2e.production import as_command, prepare, serve_rs, spawn, stop, worker_pids
from tests.e2e.stack import ROOT, USERNAME, Stack, free_port, wait_until_up

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@dataclass
class Cluster:
    """Every process of the run, by name, and what the workloads need to reach them."""

    workdir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    redis: bool = False
    peer: dict = field(default_factory=dict)  # bench/peer/prepare.py's clients, and the peer's environment
    envs: dict[str, dict[str, str]] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)  # URLs to wait for: servers start in parallel

    def start(self, name: str, starter, *args, **kwargs) -> None:
        with open(self.workdir / f"{name}.log", "w") as log:
            self.processes[name] = starter(*args, log=log, **kwargs)

    def spawn(self, name: str, command: list[str], env: dict[str, str], url: str, ready: str) -> None:
        """Start a server without waiting for it; `wait()` waits for all of them."""
        with open(self.workdir / f"{name}.log", "w") as log:
            self.processes[name] = spawn(command, env, log)
        self.urls[name] = url
        self.pending.append(url + ready)

    def wait(self) -> None:
        for url in self.pending:
            wait_until_up(url, timeout=120)
        self.pending.clear()

    def stop_all(self) -> None:
        for process in self.processes.values():
            stop(process)


def reachable_redis() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


@contextlib.contextmanager
def postgres_database():
    name = f"bench_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES_URL)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def base_env(*, issuer: str, server_url: str, database_url: str, prefix: str, use_redis: bool) -> dict[str, str]:
    """Production settings (DEBUG off, persistent database connections by default), with the per-IP rate limits
    lifted: they would be what we measure."""
    ours = ("MCP_", "OAUTH_", "DJANGO_", "DATABASE_", "REDIS_URL", "CACHE_KEY_PREFIX")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ours)}
    env.update(
        OAUTH_ISSUER=issuer,
        MCP_SERVER_URL=server_url,
        DATABASE_URL=database_url,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        OAUTH_TOKEN_RATE="1000000/m",
        OAUTH_REGISTRATION_RATE="1000000/h",
        OAUTH_REGISTRATION_MAX_CLIENTS="1000000",
        # The person who signs in is the bootstrap superuser, with no authenticator app: staff's second factor (on
        # with DEBUG off) would send every consent to enrolment, which is not what is measured.
        OAUTH_MFA_REQUIRED_FOR_STAFF="0",
        CACHE_KEY_PREFIX=prefix,
        PYTHONUNBUFFERED="1",
    )
    if use_redis:
        env["REDIS_URL"] = REDIS_URL
    return env


def issue_token(env: dict[str, str]) -> str:
    stack = Stack(env=env, issuer=env["OAUTH_ISSUER"], server_url=env["MCP_SERVER_URL"])
    return stack.manage("issue_token", USERNAME, "--force").strip()


def stored_secret_algorithm(database_url: str, client_id: str) -> str:
    with psycopg.connect(database_url) as conn:
        (stored,) = conn.execute(
            "SELECT client_secret FROM oauth2_provider_application WHERE client_id = %s", (client_id,)
        ).fetchone()
    return stored.split("$", 1)[0]


METADATA = "/.well-known/oauth-authorization-server"
# The AS variants on PostgreSQL (one database): the documented launcher (granian), gunicorn's threaded workers with the
# same threads, and uvicorn (ASGI), the way the AS was served before; (launcher, workers).
AS_VARIANTS = {
    "granian-1": ("serve", 1),
    "granian-2": ("serve", 2),
    "gunicorn-1": ("gunicorn", 1),
    "gunicorn-2": ("gunicorn", 2),
    "uvicorn-2": ("uvicorn", 2),
}


def start_cluster(cluster: Cluster, pg_url: str, peer_pg_url: str, prefix: str) -> None:
    as_port, rs_port = free_port(), free_port()
    issuer, server_url = f"http://127.0.0.1:{as_port}", f"http://127.0.0.1:{rs_port}/mcp"
    env = base_env(issuer=issuer, server_url=server_url, database_url=pg_url, prefix=prefix, use_redis=cluster.redis)
    env.update(prepare(env))
    cluster.envs["pg"] = env
    cluster.credentials["pg"] = (env["MCP_RS_CLIENT_ID"], env["MCP_RS_CLIENT_SECRET"])
    cluster.tokens["pg"] = issue_token(env)
    cluster.notes.append(f"client secret hash: {stored_secret_algorithm(pg_url, env['MCP_RS_CLIENT_ID'])}")

    # The issuer (the AS the MCP clients discover): `manage.py serve`, 1 worker, with Server-Timing for the full flow's
    # breakdown. The measured variants run beside it on the same database, with Server-Timing off.
    command = as_command(host="127.0.0.1", port=as_port, workers=1)
    cluster.spawn("as-issuer", command, {**env, "OAUTH_SERVER_TIMING": "1"}, issuer, METADATA)
    for name, (launcher, workers) in AS_VARIANTS.items():
        port = free_port()
        command = as_command(host="127.0.0.1", port=port, workers=workers, launcher=launcher)
        cluster.spawn(name, command, env, f"http://127.0.0.1:{port}", METADATA)

    # The AS on SQLite: its own database, same settings otherwise.
    sqlite_port = free_port()
    sqlite_env = base_env(
        issuer=f"http://127.0.0.1:{sqlite_port}",
        server_url=server_url,
        database_url=f"sqlite:///{cluster.workdir / 'bench.sqlite3'}",
        prefix=prefix,
        use_redis=cluster.redis,
    )
    sqlite_env.update(prepare(sqlite_env))
    cluster.envs["sqlite"] = sqlite_env
    cluster.credentials["sqlite"] = (sqlite_env["MCP_RS_CLIENT_ID"], sqlite_env["MCP_RS_CLIENT_SECRET"])
    cluster.tokens["sqlite"] = issue_token(sqlite_env)
    command = as_command(host="127.0.0.1", port=sqlite_port, workers=1)
    cluster.spawn("sqlite", command, sqlite_env, f"http://127.0.0.1:{sqlite_port}", METADATA)

    start_peer(cluster, peer_pg_url, prefix)

    # The resource servers: all are MCP_SERVER_URL (the tokens' audience), each listening on its own port.
    cluster.wait()
    rs_env = {**env, "MCP_AS_URL": issuer}
    cluster.urls["rs-auth"] = server_url
    cluster.start("rs-auth", serve_rs, rs_env, port=rs_port, REDIS_URL="")  # the default: in-process cache
    port = free_port()
    cluster.urls["rs-nocache"] = f"http://127.0.0.1:{port}/mcp"
    cluster.start("rs-nocache", serve_rs, rs_env, port=port, REDIS_URL="", MCP_TOKEN_CACHE_SECONDS="0")
    port = free_port()
    cluster.urls["rs-noauth"] = f"http://127.0.0.1:{port}/mcp"
    cluster.start("rs-noauth", start_noauth, rs_env, port=port)
    # Production serving: stateless MCP, Redis shared cache, 1 and 2 workers, in front of the 2-worker AS.
    production = {**env, "MCP_AS_URL": cluster.urls["granian-2"], "MCP_STATELESS": "1"}
    for workers in (1, 2):
        port = free_port()
        cluster.urls[f"rs-{workers}w"] = f"http://127.0.0.1:{port}/mcp"
        cluster.start(f"rs-{workers}w", serve_rs, production, port=port, workers=workers)


def start_peer(cluster: Cluster, database_url: str, prefix: str) -> None:
    """django-allauth's identity provider (bench/peer/), under granian with the AS's workers and threads: two
    workers sharing its codes through Redis when Redis is there, else one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    ours = ("DJANGO_", "PEER_", "DATABASE_", "OAUTH_", "MCP_", "REDIS_URL")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ours)}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.peer.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        PEER_DATABASE_URL=database_url,
        PEER_PRIVATE_KEY=pem.decode(),
        PEER_CACHE_PREFIX=f"{prefix}:peer",
        PYTHONUNBUFFERED="1",
    )
    if cluster.redis:
        env["PEER_REDIS_URL"] = REDIS_URL
    prepared = subprocess.run(
        [sys.executable, "-m", "bench.peer.prepare"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    cluster.peer = {"clients": json.loads(prepared.stdout.strip().splitlines()[-1]), "env": env}
    workers = 2 if cluster.redis else 1
    cluster.notes.append(
        f"peer: django-allauth {peer_version()} (allauth.idp.oidc) under granian, {workers} worker(s) x 4 threads, "
        "PostgreSQL, codes in " + ("Redis" if cluster.redis else "its in-process cache")
    )
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "bench.peer.wsgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        "4",
        "--blocking-threads-idle-timeout",
        "600",
        "--http",
        "1",
        "--no-ws",
        "--log-level",
        "warning",
    ]  # fmt: skip  (what `manage.py serve` passes to granian, on the peer's WSGI app)
    cluster.spawn("peer", command, env, f"http://127.0.0.1:{port}", "/.well-known/openid-configuration")


def peer_version() -> str:
    from importlib.metadata import version

    return version("django-allauth")


def start_noauth(env: dict[str, str], *, port: int, log) -> subprocess.Popen:
    process = spawn([sys.executable, "-m", "bench.noauth_rs"], {**env, "MCP_BIND": f"127.0.0.1:{port}"}, log)
    wait_until_up(f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp", timeout=60)
    return process


def interleaved(names: list[str], round_index: int) -> list[str]:
    """The variants in rotated order (A B C, B C A, C A B, ...): each one follows each other one equally often."""
    shift = round_index % len(names)
    return names[shift:] + names[:shift]


async def timed_calls(cluster: Cluster, name: str, session: McpSession, **load) -> tuple[float, float]:
    """(calls per second, the server's CPU milliseconds per call, all its workers counted)."""
    process = cluster.processes[name]
    pids = [process.pid, *worker_pids(process)]
    await asyncio.sleep(0.1)  # let the previous variant's servers go idle first
    before = cpu_seconds(pids)
    rate, calls = await calls_per_second(session, **load)
    return rate, (cpu_seconds(pids) - before) * 1000 / calls


async def measure_tool_calls(cluster: Cluster, results: dict, *, rounds: int, seconds: float) -> None:
    """1, 2: the same tool with no auth, with auth (cache on) and with every call introspected, on one session each."""
    token = cluster.tokens["pg"]
    variants = {"noauth": None, "auth": token, "nocache": token}
    sessions = {name: await McpSession(cluster.urls[f"rs-{name}"], auth).open() for name, auth in variants.items()}
    for session in sessions.values():
        await calls_per_second(session, seconds=0.5, concurrency=8)  # warm up: connections, caches, code paths
    for concurrency in (1, 8):
        rates: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        for round_index in range(rounds):
            for name in interleaved(list(variants), round_index):
                load = {"seconds": seconds, "concurrency": concurrency}
                rate, cpu_ms = await timed_calls(cluster, f"rs-{name}", sessions[name], **load)
                rates[name].append(rate)
                cpu[name].append(cpu_ms)
        results[f"calls c{concurrency}"] = rates
        results[f"cpu c{concurrency}"] = cpu
    for session in sessions.values():
        await session.close()


async def measure_workers(cluster: Cluster, results: dict, *, rounds: int, seconds: float) -> None:
    """7: the production RS (stateless, Redis) with 1 and 2 workers, 8 concurrent callers."""
    token = cluster.tokens["pg"]
    sessions = {name: await McpSession(cluster.urls[f"rs-{name}"], token).open() for name in ("1w", "2w")}
    for session in sessions.values():
        await calls_per_second(session, seconds=0.5, concurrency=8)
    rates: dict[str, list[float]] = {name: [] for name in sessions}
    cpu: dict[str, list[float]] = {name: [] for name in sessions}
    for round_index in range(rounds):
        for name in interleaved(list(sessions), round_index):
            rate, cpu_ms = await timed_calls(cluster, f"rs-{name}", sessions[name], seconds=seconds, concurrency=8)
            rates[name].append(rate)
            cpu[name].append(cpu_ms)
    results["rs workers"] = rates
    results["rs workers cpu"] = cpu
    for session in sessions.values():
        await session.close()


def peer_introspector(cluster: Cluster, hashing: str) -> Introspector:
    """The peer's introspection, by a confidential client about its own client-credentials token (its default
    forbids introspecting other clients' tokens); `hashing`: which of its clients, by how its secret is stored."""
    client_id, secret = cluster.peer["clients"][hashing]
    url = cluster.urls["peer"]
    data = {"grant_type": "client_credentials", "scope": "profile"}
    token = httpx.post(f"{url}/identity/o/api/token", data=data, auth=(client_id, secret), timeout=30).json()
    return Introspector(url, client_id, secret, token["access_token"], path="/identity/o/api/introspect")


def measure_introspection(cluster: Cluster, results: dict, *, rounds: int, calls: int) -> None:
    """3: one keep-alive connection per AS, `calls` sequential introspections per round."""
    targets = {
        "sqlite": ("sqlite", "sqlite"),
        "postgres": ("granian-1", "pg"),
        "postgres-gunicorn": ("gunicorn-1", "pg"),
        "postgres-uvicorn": ("uvicorn-2", "pg"),
    }
    clients = {
        name: Introspector(cluster.urls[server], *cluster.credentials[db], cluster.tokens[db])
        for name, (server, db) in targets.items()
    }
    targets["peer"] = ("peer", "peer")
    clients["peer"] = peer_introspector(cluster, "cheap")
    for client in clients.values():
        client.latencies_ms(30)  # warm up
    per_round: dict[str, dict[str, list[float]]] = {name: {"p50": [], "p99": [], "cpu": []} for name in clients}
    cpu_total = dict.fromkeys(clients, 0.0)
    for round_index in range(rounds):
        for name in interleaved(list(clients), round_index):
            process = cluster.processes[targets[name][0]]
            pids = [process.pid, *worker_pids(process)]
            before = cpu_seconds(pids)
            latencies = clients[name].latencies_ms(calls)
            spent = cpu_seconds(pids) - before
            cpu_total[name] += spent
            per_round[name]["cpu"].append(spent * 1000 / calls)
            per_round[name]["p50"].append(statistics.median(latencies))
            per_round[name]["p99"].append(percentile(latencies, 0.99))
    # CPU time comes in clock ticks (10 ms): one round's figure is ±0.2 ms, the whole run's is exact to 0.02 ms.
    for name, figures in per_round.items():
        figures["cpu all rounds"] = cpu_total[name] * 1000 / (calls * rounds)
    results["introspection"] = per_round
    # The peer with allauth's default secret storage (PBKDF2, 1,000,000 iterations): a few calls are enough.
    slow = peer_introspector(cluster, "pbkdf2")
    results["peer pbkdf2 introspection ms"] = statistics.median(slow.latencies_ms(3))
    for client in [*clients.values(), slow]:
        client.close()


def measure_in_process(cluster: Cluster, results: dict, *, count: int) -> None:
    """CPU per request through Django's WSGI handler, no server, no client (bench/inprocess.py), for ours on
    PostgreSQL and SQLite, and for the peer."""
    figures = {}
    for name in ("pg", "sqlite"):
        env = {**cluster.envs[name], "DJANGO_SETTINGS_MODULE": "project.settings"}
        stdin = json.dumps(
            {
                "client_id": cluster.credentials[name][0],
                "client_secret": cluster.credentials[name][1],
                "token": cluster.tokens[name],
            }
        )
        figures[name] = run_in_process(env, stdin, count)
    figures["peer"] = run_in_process(cluster.peer["env"], json.dumps(cluster.peer["clients"]), count, "--peer")
    results["in process"] = figures


def run_in_process(env: dict[str, str], stdin: str, count: int, *flags: str) -> dict:
    command = [sys.executable, "-m", "bench.inprocess", "--count", str(count), *flags]
    done = subprocess.run(command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench.inprocess {' '.join(flags)}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


TOKEN_VARIANTS = ("granian-2", "gunicorn-2", "uvicorn-2", "peer")


async def measure_token_endpoint(cluster: Cluster, results: dict, *, rounds: int, codes: int) -> None:
    """4: code exchanges and refreshes per second on PostgreSQL, 4 concurrent connections, 2 workers (each server's
    CPU per request counted over all its processes); ours under each server, and the peer."""
    ours = TokenEndpoint(cluster.urls["as-issuer"])
    ours.register_and_sign_in()
    peer = PeerTokenEndpoint(cluster.urls["peer"], cluster.peer["clients"]["public"])
    peer.register_and_sign_in()
    kinds = ("exchanges", "refreshes", "exchange cpu", "refresh cpu")
    per_round = {name: {kind: [] for kind in kinds} for name in TOKEN_VARIANTS}
    for name in TOKEN_VARIANTS:  # warm up: every worker thread opens its database connection before the figures
        endpoint = peer if name == "peer" else ours
        _, refresh_tokens = await endpoint.exchanges_per_second(
            cluster.urls[name], endpoint.codes(cluster.urls[name], 16), concurrency=4
        )
        await endpoint.refreshes_per_second(cluster.urls[name], refresh_tokens, concurrency=4)
    for round_index in range(rounds):
        for name in interleaved(list(per_round), round_index):
            endpoint = peer if name == "peer" else ours
            url = cluster.urls[name]
            process = cluster.processes[name]
            pids = [process.pid, *worker_pids(process)]
            pairs = endpoint.codes(url, codes)  # not timed: codes live 60 s, so they are made just before
            await asyncio.sleep(0.1)
            before = cpu_seconds(pids)
            rate, refresh_tokens = await endpoint.exchanges_per_second(url, pairs, concurrency=4)
            middle = cpu_seconds(pids)
            per_round[name]["exchanges"].append(rate)
            per_round[name]["exchange cpu"].append((middle - before) * 1000 / codes)
            rate, _ = await endpoint.refreshes_per_second(url, refresh_tokens, concurrency=4)
            per_round[name]["refreshes"].append(rate)
            per_round[name]["refresh cpu"].append((cpu_seconds(pids) - middle) * 1000 / codes)
    for figures in per_round.values():  # over every request of the run: clock ticks are 10 ms
        figures["exchange cpu all rounds"] = statistics.mean(figures["exchange cpu"])
        figures["refresh cpu all rounds"] = statistics.mean(figures["refresh cpu"])
    results["token endpoint"] = per_round
    ours.close()
    peer.close()


async def measure_make_run(cluster: Cluster, results: dict, *, codes: int) -> None:
    """`make run`'s defaults (`manage.py runstack`: DEBUG on, SQLite, one worker), 4 clients exchanging `codes` codes
    at once, then refreshing them: how many token requests failed (before WAL and immediate transactions: 26 of 40)."""
    as_port, rs_port = free_port(), free_port()
    ours = ("MCP_", "OAUTH_", "DJANGO_", "DATABASE_", "REDIS_URL", "CACHE_KEY_PREFIX")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ours)}
    env.update(
        OAUTH_ISSUER=f"http://127.0.0.1:{as_port}",
        MCP_SERVER_URL=f"http://127.0.0.1:{rs_port}/mcp",
        DATABASE_URL=f"sqlite:///{cluster.workdir / 'make-run.sqlite3'}",  # the default, db.sqlite3, but not ours
        PYTHONUNBUFFERED="1",
    )
    stack = Stack.prepared(env)
    stack.log = open(cluster.workdir / "make-run.log", "w")  # noqa: SIM115 - closed below
    stack.start()
    try:
        endpoint = TokenEndpoint(stack.issuer)
        endpoint.tolerate_failures = True
        endpoint.register_and_sign_in()
        pairs = endpoint.codes(stack.issuer, codes)
        exchanges, refresh_tokens = await endpoint.exchanges_per_second(stack.issuer, pairs, concurrency=4)
        refresh_tokens = [token for token in refresh_tokens if token]
        refreshes, _ = await endpoint.refreshes_per_second(stack.issuer, refresh_tokens, concurrency=4)
        results["make run"] = {
            "codes": codes,
            "requests": codes + len(refresh_tokens),
            "failures": endpoint.failures,
            "exchanges": exchanges,
            "refreshes": refreshes,
        }
        endpoint.close()
    finally:
        stack.stop()
        stack.log.close()


async def measure_full_flow(cluster: Cluster, results: dict, *, signed_in_runs: int, login_runs: int) -> None:
    """5: a client with nothing stored, from its first request to its first tool result; every request traced, with
    the AS's Server-Timing."""
    server_url = cluster.urls["rs-auth"]
    browser = SignedInBrowser(cluster.urls["as-issuer"])
    await browser.sign_in()
    await full_flow_ms(server_url, browser)  # warm up
    signed_in, traces = [], []
    for _ in range(signed_in_runs):
        trace = FlowTrace()
        browser.http.event_hooks = trace.hooks()
        signed_in.append(await full_flow_ms(server_url, browser, trace))
        traces.append(trace.requests)
    signing_in = [await full_flow_ms(server_url, ScriptedBrowser()) for _ in range(login_runs)]
    results["full flow"] = {"signed-in": signed_in, "signing-in": signing_in}
    results["full flow steps"] = flow_steps(traces, signed_in, as_port=int(cluster.urls["as-issuer"].rsplit(":", 1)[1]))
    await browser.http.aclose()


def flow_steps(traces: list[list[dict]], totals: list[float], *, as_port: int) -> dict:
    """Median per request of the runs that made the same requests in the same order as the first one."""

    def signature(trace):
        return [(step["method"], step["path"], step["status"]) for step in trace]

    pairs = zip(traces, totals, strict=True)
    same = [(trace, total) for trace, total in pairs if signature(trace) == signature(traces[0])]
    steps = []
    for index, first in enumerate(same[0][0]):
        column = [trace[index] for trace, _ in same]
        app = [step["app_ms"] for step in column if step["app_ms"] is not None]
        db = [step["db_ms"] for step in column if step["db_ms"] is not None]
        steps.append(
            {
                "side": "AS" if first["host"] == as_port else "RS",
                "request": f"{first['method']} {first['path']}",
                "status": first["status"],
                "ms": statistics.median(step["ms"] for step in column),
                "app_ms": statistics.median(app) if app else None,
                "db_ms": statistics.median(db) if db else None,
            }
        )
    total = statistics.median(total for _, total in same)
    return {"runs": len(same), "total_ms": total, "steps": steps}


def resident_memory_mb(process: subprocess.Popen) -> tuple[float, float]:
    """(the whole tree, the largest single process) in MB: for N workers, the supervisor plus every worker."""
    pids = [process.pid, *worker_pids(process)]
    sizes = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sum(sizes), max(sizes)


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.processor())
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    with psycopg.connect(POSTGRES_URL) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    redis_version = redis.Redis.from_url(REDIS_URL).info("server")["redis_version"] if reachable_redis() else "none"
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{memory_kb / 1024 / 1024:.0f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgres": postgres,
        "redis": redis_version,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds per figure (token endpoint: half)")
    parser.add_argument("--seconds", type=float, default=0.8, help="per throughput measurement")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (2 rounds, short measurements)")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 2, 0.3
    started = time.monotonic()
    results: dict = {"machine": machine(), "load_before": os.getloadavg()}
    cluster = Cluster(workdir=Path(tempfile.mkdtemp(prefix="mcp-bench-")))
    cluster.redis = reachable_redis()
    prefix = f"bench-{secrets.token_hex(4)}"
    print(f"servers' logs in {cluster.workdir}", flush=True)

    def step(label: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {label}", flush=True)

    with postgres_database() as pg_url, postgres_database() as peer_pg_url:
        try:
            start_cluster(cluster, pg_url, peer_pg_url, prefix)
            step("servers up; 1, 2: tool calls")
            asyncio.run(measure_tool_calls(cluster, results, rounds=args.rounds, seconds=args.seconds))
            step("3: introspection")
            measure_introspection(cluster, results, rounds=args.rounds, calls=20 if args.quick else 100)
            step("3: in process")
            measure_in_process(cluster, results, count=80 if args.quick else 400)
            step("4: token endpoint")
            codes = 8 if args.quick else 40
            token_rounds = max(2, args.rounds * 2 // 3)
            asyncio.run(measure_token_endpoint(cluster, results, rounds=token_rounds, codes=codes))
            step("5: full flow")
            runs = (2, 1) if args.quick else (9, 3)
            asyncio.run(measure_full_flow(cluster, results, signed_in_runs=runs[0], login_runs=runs[1]))
            step("6: make run's defaults under concurrency")
            asyncio.run(measure_make_run(cluster, results, codes=40))
            step("7: workers")
            asyncio.run(measure_workers(cluster, results, rounds=args.rounds, seconds=args.seconds))
            results["rss"] = {name: resident_memory_mb(process) for name, process in cluster.processes.items()}
        finally:
            cluster.stop_all()
            if cluster.redis:
                client = redis.Redis.from_url(REDIS_URL)
                for key in client.scan_iter(f"{prefix}:*"):
                    client.delete(key)
    results["load_after"] = os.getloadavg()
    results["seconds"] = time.monotonic() - started
    if not cluster.redis:
        cluster.notes.append("Redis unreachable: the RS workers used in-process caches only")
    results["notes"] = cluster.notes
    results["settings"] = {"rounds": args.rounds, "seconds": args.seconds, "quick": args.quick}
    (cluster.workdir / "results.json").write_text(json.dumps(results, indent=1))
    table = report.table(results)
    print("\n" + table + "\n\n" + report.flow_table(results))
    if not args.no_docs:
        report.write_docs(results, table, ROOT / "docs" / "benchmarks.md", ROOT / "docs" / "benchmarks.png")
        print("\nwrote docs/benchmarks.md (results block) and docs/benchmarks.png")


if __name__ == "__main__":
    main()
