"""Each side served the production way (README, *Performance and production serving*), on loopback ports.

- AS: Django's ASGI app under uvicorn with N worker processes, through `mcp_rs.__main__.serve`, which listens on
  a TCP_NODELAY socket (`uvicorn --workers N` leaves Nagle's algorithm on: ~40 ms per response); with
  DATABASE_CONN_MAX_AGE=0 (under ASGI Django serves each request in a new thread, so a persistent connection is
  never reused, only left open) and REDIS_URL, so the workers share rate limits.
- RS: `python -m mcp_rs` with MCP_WORKERS=N (stateless MCP when N > 1) and REDIS_URL for the shared cache.

Used by tests/e2e/test_workers.py and by the benchmarks (bench/).
"""

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.stack import ROOT, Stack, free_port, stack_environment, throwaway_database, wait_until_up


def as_command(*, host: str, port: int, workers: int, launcher: str = "nodelay") -> list[str]:
    """The AS with `workers` processes: through mcp_rs's launcher (the documented way) or `uvicorn --workers`."""
    if launcher == "uvicorn":
        uvicorn = [sys.executable, "-m", "uvicorn", "project.asgi:application"]
        return [*uvicorn, "--workers", str(workers), "--host", host, "--port", str(port)]
    serve = f"serve('project.asgi:application', host={host!r}, port={port}, workers={workers})"
    return [sys.executable, "-c", f"from mcp_rs.__main__ import serve; {serve}"]


def spawn(command: list[str], env: dict[str, str], log=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stop() takes the workers down with it
    )


def serve_as(
    env: dict[str, str], *, port: int, workers: int, log=subprocess.DEVNULL, launcher: str = "nodelay"
) -> subprocess.Popen:
    process = spawn(as_command(host="127.0.0.1", port=port, workers=workers, launcher=launcher), env, log)
    wait_until_up(f"http://127.0.0.1:{port}/.well-known/oauth-authorization-server", timeout=60)
    return process


def serve_rs(
    env: dict[str, str], *, port: int, workers: int = 1, log=subprocess.DEVNULL, **settings: str
) -> subprocess.Popen:
    """`python -m mcp_rs` listening on `port` (MCP_BIND), whatever MCP_SERVER_URL says."""
    rs_env = {**env, "MCP_BIND": f"127.0.0.1:{port}", "MCP_WORKERS": str(workers), **settings}
    process = spawn([sys.executable, "-m", "mcp_rs"], rs_env, log)
    wait_until_up(f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp", timeout=60)
    return process


def worker_pids(process: subprocess.Popen) -> list[int]:
    """The uvicorn worker processes under `process` (not multiprocessing's resource tracker)."""
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # uvicorn's graceful stop, workers included
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # never leave a worker behind


def prepare(env: dict[str, str]) -> dict[str, str]:
    """Migrate, create the person who logs in, register the MCP server; returns the RS's credentials."""
    exports = Stack.prepared(env).manage("bootstrap_rs").splitlines()
    return dict(line.removeprefix("export ").split("=", 1) for line in exports)


@dataclass
class ProductionStack:
    env: dict[str, str]  # the AS's environment plus the RS's credentials
    issuer: str
    server_url: str
    as_process: subprocess.Popen
    rs_process: subprocess.Popen

    def manage(self, *args: str) -> str:
        return Stack(env=self.env, issuer=self.issuer, server_url=self.server_url).manage(*args)


@contextlib.contextmanager
def production_stack(tmp_path: Path, *, as_workers: int, rs_workers: int, **settings: str) -> Iterator[ProductionStack]:
    """A fresh database (PostgreSQL when DATABASE_URL names one), the AS and the RS served the production way."""
    as_port, rs_port = free_port(), free_port()
    with throwaway_database(tmp_path) as database_url:
        env = stack_environment(as_port, rs_port, database_url, DATABASE_CONN_MAX_AGE="0", **settings)
        env.update(prepare(env))
        with open(tmp_path / "servers.log", "w") as log:
            as_process = serve_as(env, port=as_port, workers=as_workers, log=log)
            try:
                rs_process = serve_rs(env, port=rs_port, workers=rs_workers, log=log)
            except BaseException:
                stop(as_process)
                raise
            try:
                yield ProductionStack(env, env["OAUTH_ISSUER"], env["MCP_SERVER_URL"], as_process, rs_process)
            finally:
                stop(rs_process)
                stop(as_process)
