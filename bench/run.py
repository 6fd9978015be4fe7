"""`make bench`: start the AS and the RS as real processes on loopback ports, measure, print the table, and rewrite
the results block of docs/benchmarks.md and docs/benchmarks.png.

Every figure is a median over interleaved rounds (A B C, B C A, C A B, ...), short ones, so drift on the machine
falls on every variant alike; ratios are medians of per-round ratios. Bounded: about five minutes by default.
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

import psycopg
import redis

from bench import report
from bench.workloads import (
    Introspector,
    McpSession,
    ScriptedBrowser,
    SignedInBrowser,
    TokenEndpoint,
    calls_per_second,
    cpu_seconds,
    full_flow_ms,
    percentile,
)
from tests.e2e.production import prepare, serve_as, serve_rs, spawn, stop, worker_pids
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
    pooled: bool = False
    redis: bool = False

    def start(self, name: str, starter, *args, **kwargs) -> None:
        with open(self.workdir / f"{name}.log", "w") as log:
            self.processes[name] = starter(*args, log=log, **kwargs)

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
    """Production settings (DEBUG off), with the per-IP rate limits lifted: they would be what we measure."""
    ours = ("MCP_", "OAUTH_", "DJANGO_", "DATABASE_", "REDIS_URL", "CACHE_KEY_PREFIX")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ours)}
    env.update(
        OAUTH_ISSUER=issuer,
        MCP_SERVER_URL=server_url,
        DATABASE_URL=database_url,
        DATABASE_CONN_MAX_AGE="0",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        OAUTH_TOKEN_RATE="1000000/m",
        OAUTH_REGISTRATION_RATE="1000000/h",
        OAUTH_REGISTRATION_MAX_CLIENTS="1000000",
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


def start_cluster(cluster: Cluster, pg_url: str, prefix: str) -> None:
    as_port, rs_port = free_port(), free_port()
    issuer, server_url = f"http://127.0.0.1:{as_port}", f"http://127.0.0.1:{rs_port}/mcp"
    env = base_env(issuer=issuer, server_url=server_url, database_url=pg_url, prefix=prefix, use_redis=cluster.redis)
    env.update(prepare(env))
    cluster.credentials["pg"] = (env["MCP_RS_CLIENT_ID"], env["MCP_RS_CLIENT_SECRET"])
    cluster.tokens["pg"] = issue_token(env)
    cluster.notes.append(f"client secret hash: {stored_secret_algorithm(pg_url, env['MCP_RS_CLIENT_ID'])}")

    # The authorization servers on PostgreSQL (one database): 1 worker; 2 workers the documented way (a
    # TCP_NODELAY listening socket) and with `uvicorn --workers 2`; and, proposed, with a connection pool.
    cluster.urls["as-1"] = issuer
    cluster.start("as-1", serve_as, env, port=as_port, workers=1)
    for name, launcher in (("as-2", "nodelay"), ("as-2-uvicorn", "uvicorn")):
        port = free_port()
        cluster.urls[name] = f"http://127.0.0.1:{port}"
        cluster.start(name, serve_as, env, port=port, workers=2, launcher=launcher)
    if cluster.pooled:
        port = free_port()
        cluster.urls["as-pool"] = f"http://127.0.0.1:{port}"
        cluster.start("as-pool", serve_as, {**env, "DATABASE_URL": pg_url + "?pool=true"}, port=port, workers=1)

    # The authorization server on SQLite: its own database, same settings otherwise.
    sqlite_port = free_port()
    sqlite_env = base_env(
        issuer=f"http://127.0.0.1:{sqlite_port}",
        server_url=server_url,
        database_url=f"sqlite:///{cluster.workdir / 'bench.sqlite3'}",
        prefix=prefix,
        use_redis=cluster.redis,
    )
    sqlite_env.update(prepare(sqlite_env))
    cluster.credentials["sqlite"] = (sqlite_env["MCP_RS_CLIENT_ID"], sqlite_env["MCP_RS_CLIENT_SECRET"])
    cluster.tokens["sqlite"] = issue_token(sqlite_env)
    cluster.urls["as-sqlite"] = f"http://127.0.0.1:{sqlite_port}"
    cluster.start("as-sqlite", serve_as, sqlite_env, port=sqlite_port, workers=1)

    # The resource servers: all are MCP_SERVER_URL (the tokens' audience), each listening on its own port.
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
    production = {**env, "MCP_AS_URL": cluster.urls["as-2"], "MCP_STATELESS": "1"}
    for workers in (1, 2):
        port = free_port()
        cluster.urls[f"rs-{workers}w"] = f"http://127.0.0.1:{port}/mcp"
        cluster.start(f"rs-{workers}w", serve_rs, production, port=port, workers=workers)


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


def measure_introspection(cluster: Cluster, results: dict, *, rounds: int, calls: int) -> None:
    """3: one keep-alive connection per AS, `calls` sequential introspections per round."""
    targets = {
        "sqlite": ("as-sqlite", "sqlite"),
        "postgres": ("as-1", "pg"),
        "postgres-2w": ("as-2", "pg"),
        "postgres-2w-uvicorn": ("as-2-uvicorn", "pg"),
    }
    if cluster.pooled:
        targets["postgres-pool"] = ("as-pool", "pg")
    clients = {
        name: Introspector(cluster.urls[server], *cluster.credentials[db], cluster.tokens[db])
        for name, (server, db) in targets.items()
    }
    for client in clients.values():
        client.latencies_ms(30)  # warm up
    per_round: dict[str, dict[str, list[float]]] = {name: {"p50": [], "p99": [], "cpu": []} for name in clients}
    for round_index in range(rounds):
        for name in interleaved(list(clients), round_index):
            process = cluster.processes[targets[name][0]]
            pids = [process.pid, *worker_pids(process)]
            before = cpu_seconds(pids)
            latencies = clients[name].latencies_ms(calls)
            per_round[name]["cpu"].append((cpu_seconds(pids) - before) * 1000 / calls)
            per_round[name]["p50"].append(statistics.median(latencies))
            per_round[name]["p99"].append(percentile(latencies, 0.99))
    results["introspection"] = per_round
    for client in clients.values():
        client.close()


async def measure_token_endpoint(cluster: Cluster, results: dict, *, rounds: int, codes: int) -> None:
    """4: code exchanges and refreshes per second on PostgreSQL, 4 concurrent connections, 1 and 2 AS workers."""
    endpoint = TokenEndpoint(cluster.urls["as-1"])
    endpoint.register_and_sign_in()
    per_round = {name: {"exchanges": [], "refreshes": []} for name in ("as-1", "as-2", "as-2-uvicorn")}
    for round_index in range(rounds):
        for name in interleaved(list(per_round), round_index):
            url = cluster.urls[name]
            pairs = endpoint.codes(url, codes)  # not timed: codes live 60 s, so they are made just before
            rate, refresh_tokens = await endpoint.exchanges_per_second(url, pairs, concurrency=4)
            per_round[name]["exchanges"].append(rate)
            rate, _ = await endpoint.refreshes_per_second(url, refresh_tokens, concurrency=4)
            per_round[name]["refreshes"].append(rate)
    results["token endpoint"] = per_round
    endpoint.close()


async def measure_full_flow(cluster: Cluster, results: dict, *, signed_in_runs: int, login_runs: int) -> None:
    """5: a client with nothing stored, from its first request to its first tool result."""
    browser = SignedInBrowser(cluster.urls["as-1"])
    await browser.sign_in()
    server_url = cluster.urls["rs-auth"]
    await full_flow_ms(server_url, browser)  # warm up
    signed_in = [await full_flow_ms(server_url, browser) for _ in range(signed_in_runs)]
    signing_in = [await full_flow_ms(server_url, ScriptedBrowser()) for _ in range(login_runs)]
    results["full flow"] = {"signed-in": signed_in, "signing-in": signing_in}
    await browser.http.aclose()


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
    try:
        import psycopg_pool  # noqa: F401 - bench/requirements.txt installs it, for the proposed pooled figure

        cluster.pooled = True
    except ImportError:
        cluster.pooled = False
    prefix = f"bench-{secrets.token_hex(4)}"
    print(f"servers' logs in {cluster.workdir}", flush=True)
    with postgres_database() as pg_url:
        try:
            start_cluster(cluster, pg_url, prefix)
            print(f"[{time.monotonic() - started:5.0f} s] servers up; 1, 2: tool calls", flush=True)
            asyncio.run(measure_tool_calls(cluster, results, rounds=args.rounds, seconds=args.seconds))
            print(f"[{time.monotonic() - started:5.0f} s] 3: introspection", flush=True)
            measure_introspection(cluster, results, rounds=args.rounds, calls=20 if args.quick else 60)
            print(f"[{time.monotonic() - started:5.0f} s] 4: token endpoint", flush=True)
            codes = 8 if args.quick else 40
            token_rounds = max(2, args.rounds // 2)
            asyncio.run(measure_token_endpoint(cluster, results, rounds=token_rounds, codes=codes))
            print(f"[{time.monotonic() - started:5.0f} s] 5: full flow", flush=True)
            runs = (2, 1) if args.quick else (9, 3)
            asyncio.run(measure_full_flow(cluster, results, signed_in_runs=runs[0], login_runs=runs[1]))
            print(f"[{time.monotonic() - started:5.0f} s] 7: workers", flush=True)
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
    results["pooled"] = cluster.pooled
    results["settings"] = {"rounds": args.rounds, "seconds": args.seconds, "quick": args.quick}
    (cluster.workdir / "results.json").write_text(json.dumps(results, indent=1))
    table = report.table(results)
    print("\n" + table)
    if not args.no_docs:
        report.write_docs(results, table, ROOT / "docs" / "benchmarks.md", ROOT / "docs" / "benchmarks.png")
        print("\nwrote docs/benchmarks.md (results block) and docs/benchmarks.png")


if __name__ == "__main__":
    main()
