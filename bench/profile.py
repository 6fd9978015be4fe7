"""`python -m bench.profile`: where the RS's request path and the AS's introspection view spend their CPU.

Starts one AS (`manage.py serve`, PostgreSQL unless --sqlite) and one RS, drives each with sequential requests while
py-spy samples the process that serves them (the AS's granian worker), and prints the heaviest frames (inclusive
share of the process's busy samples).
Flame graphs (SVG) are left in the printed directory.
"""

import argparse
import asyncio
import collections
import contextlib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.run import REDIS_URL, base_env, issue_token, postgres_database, reachable_redis
from bench.workloads import Introspector, McpSession, calls_per_second
from tests.e2e.production import prepare, serve_as, serve_rs, stop, worker_pids
from tests.e2e.stack import free_port

SECONDS = 10
# Frames worth naming in the summary; everything else is folded into what calls it.
INTERESTING = (
    "mcp_rs/",
    "oauth_app/",
    "django/core/handlers",
    "django/db/backends",
    "django/db/models/sql/compiler.py",
    "asgiref/sync.py",
    "granian/",
    "uvicorn/protocols",
    "mcp/server/streamable_http",
    "mcp/server/lowlevel",
    "mcp/server/mcpserver/server.py",
    "mcp/server/auth",
    "psycopg/",
    "logging/__init__.py",
    "django/contrib/sessions",
    "corsheaders",
    "whitenoise",
    "axes/",
)


def record(pid: int, output: Path, *, raw: bool) -> subprocess.Popen:
    py_spy = str(Path(sys.executable).parent / "py-spy")  # installed by bench/requirements.txt
    return subprocess.Popen(
        [py_spy, "record", "-p", str(pid), "-d", str(SECONDS), "-r", "500", "-o", str(output), "--nonblocking"]
        + (["-f", "raw"] if raw else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summary(folded: Path, top: int = 30) -> str:
    total = 0
    inclusive: collections.Counter = collections.Counter()
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        seen = set()
        for frame in stack.split(";"):
            if any(marker in frame for marker in INTERESTING):
                name = frame.split(" (")[0] + " (" + frame.rsplit("/", 1)[-1].split(":")[0]
                if name not in seen:
                    seen.add(name)
                    inclusive[name] += samples
    lines = [f"{total} busy samples"]
    lines += [f"{100 * count / total:5.1f}%  {name})" for name, count in inclusive.most_common(top)]
    return "\n".join(lines)


def profile_while(pid: int, workdir: Path, name: str, load) -> str:
    spies = [record(pid, workdir / f"{name}.txt", raw=True), record(pid, workdir / f"{name}.svg", raw=False)]
    load()
    for spy in spies:
        spy.wait(timeout=SECONDS + 30)
    return summary(workdir / f"{name}.txt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mcp-profile-"))
    as_port, rs_port = free_port(), free_port()
    issuer, server_url = f"http://127.0.0.1:{as_port}", f"http://127.0.0.1:{rs_port}/mcp"
    with contextlib.ExitStack() as stack:
        sqlite = f"sqlite:///{workdir / 'profile.sqlite3'}"
        database = sqlite if args.sqlite else stack.enter_context(postgres_database())
        env = base_env(
            issuer=issuer, server_url=server_url, database_url=database, prefix="profile", use_redis=reachable_redis()
        )
        env.update(prepare(env))
        token = issue_token(env)
        log = stack.enter_context(open(workdir / "servers.log", "w"))
        auth_server = serve_as(env, port=as_port, workers=1, log=log)
        stack.callback(stop, auth_server)
        resource_server = serve_rs({**env, "REDIS_URL": ""}, port=rs_port, log=log)
        stack.callback(stop, resource_server)

        introspector = Introspector(issuer, env["MCP_RS_CLIENT_ID"], env["MCP_RS_CLIENT_SECRET"], token)
        introspector.latencies_ms(30)

        def introspect_for_a_while() -> None:
            deadline = time.monotonic() + SECONDS
            while time.monotonic() < deadline:
                introspector.latencies_ms(20)

        print(f"== AS, POST /introspect/ ({'SQLite' if args.sqlite else 'PostgreSQL'}), sequential, {SECONDS} s")
        as_worker = worker_pids(auth_server)[0]  # granian's worker process runs Django, not its supervisor
        print(profile_while(as_worker, workdir, "as-introspect", introspect_for_a_while))

        async def tool_calls() -> None:
            session = await McpSession(server_url, token).open()
            await calls_per_second(session, seconds=SECONDS, concurrency=1)
            await session.close()

        print(f"\n== RS, tools/call echo with a cached token, sequential, {SECONDS} s")
        worker = threading.Thread(target=asyncio.run, args=(tool_calls(),))
        print(profile_while(resource_server.pid, workdir, "rs-tool-call", lambda: (worker.start(), worker.join())))
        introspector.close()
    print(f"\nflame graphs and folded stacks: {workdir}  (Redis: {REDIS_URL if reachable_redis() else 'none'})")


if __name__ == "__main__":
    main()
