"""Each side served the production way (README, *Performance and production serving*), on loopback ports.

- AS: `manage.py serve --workers N`, Django's WSGI app under granian (TCP_NODELAY, keep-alive), with persistent
  database connections (DATABASE_CONN_MAX_AGE's default) and REDIS_URL, so the workers share rate limits. The
  benchmarks also start the AS under gunicorn, and under uvicorn (ASGI, the way it was served before).
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


def as_command(*, host: str, port: int, workers: int, launcher: str = "serve", threads: int = 4) -> list[str]:
    """The AS with `workers` processes: `manage.py serve` (the documented way: granian, WSGI), or for comparison in
    the benchmarks gunicorn's threaded workers (WSGI, same threads) or uvicorn on a TCP_NODELAY socket (ASGI)."""
    if launcher == "gunicorn":
        options = ["-k", "gthread", "--threads", str(threads), "--keep-alive", "75", "--backlog", "1024"]
        gunicorn = [sys.executable, "-m", "gunicorn", "project.wsgi:application", "-b", f"{host}:{port}"]
        return [*gunicorn, "-w", str(workers), *options]
    if launcher == "uvicorn":
        serve = f"serve('project.asgi:application', host={host!r}, port={port}, workers={workers})"
        return [sys.executable, "-c", f"from mcp_rs.__main__ import serve; {serve}"]
    bind = f"{host}:{port}"
    return [sys.executable, "manage.py", "serve", "--workers", str(workers), "--threads", str(threads), "--bind", bind]


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
    env: dict[str, str], *, port: int, workers: int, log=subprocess.DEVNULL, launcher: str = "serve", threads: int = 4
) -> subprocess.Popen:
    command = as_command(host="127.0.0.1", port=port, workers=workers, launcher=launcher, threads=threads)
    process = spawn(command, env, log)
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
    """The worker processes under `process`: granian's and uvicorn's (multiprocessing, not its resource tracker),
    or gunicorn's (forked: the same command line as the arbiter)."""
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    own = Path(f"/proc/{process.pid}/cmdline").read_bytes()
    pids = []
    for pid in map(int, children):
        with contextlib.suppress(FileNotFoundError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmdline or cmdline == own:
                pids.append(pid)
    return pids


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # granian's, gunicorn's and uvicorn's graceful stop, workers included
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
        env = stack_environment(as_port, rs_port, database_url, **settings)
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
