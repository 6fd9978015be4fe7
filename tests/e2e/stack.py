"""Start the real AS and RS (`manage.py runstack`, what `make run` runs) on free loopback ports."""

import contextlib
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
USERNAME, PASSWORD = "alice", "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up")


@contextlib.contextmanager
def throwaway_database(tmp_path: Path):
    """A fresh database of the kind the suite runs on: a SQLite file, or a new PostgreSQL database."""
    outer = os.environ.get("DATABASE_URL", "")
    if not outer.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
        return
    import psycopg

    name = f"e2e_{secrets.token_hex(6)}"
    parts = urlsplit(outer)
    admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Stack:
    env: dict[str, str]
    issuer: str
    server_url: str
    process: subprocess.Popen | None = None
    extra: list[subprocess.Popen] = field(default_factory=list)
    log: object = subprocess.DEVNULL  # a file to keep the servers' output in, for failing tests

    @property
    def rs_origin(self) -> str:
        parts = urlsplit(self.server_url)
        return f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def prepared(cls, env: dict[str, str]) -> "Stack":
        """A stack whose database is migrated and holds the person who logs in."""
        stack = cls(env=env, issuer=env["OAUTH_ISSUER"], server_url=env["MCP_SERVER_URL"])
        stack.manage("migrate", "--noinput", "-v0")
        stack.manage(
            "createsuperuser",
            "--noinput",
            "--username",
            USERNAME,
            "--email",
            "a@example.com",
            DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        )
        return stack

    def manage(self, *args: str, **env: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env={**self.env, **env}, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runstack"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_up(f"{self.issuer}/.well-known/oauth-authorization-server")
        wait_until_up(f"{self.rs_origin}/.well-known/oauth-protected-resource/mcp")

    def start_separately(self) -> None:
        """The AS alone (`manage.py runserver`) and the RS alone (`python -m mcp_rs`), as an operator would."""
        self.env.update(exports(self.manage("bootstrap_rs")))
        self.extra = [self._spawn("manage.py", "runserver", "--noreload"), self._spawn("-m", "mcp_rs")]
        self.process = self.extra[1]
        wait_until_up(f"{self.issuer}/.well-known/oauth-authorization-server")
        wait_until_up(f"{self.rs_origin}/.well-known/oauth-protected-resource/mcp")

    def restart_as(self) -> None:
        self.stop_as()
        self.extra[0] = self._spawn("manage.py", "runserver", "--noreload")
        wait_until_up(f"{self.issuer}/.well-known/oauth-authorization-server")

    def stop_as(self) -> None:
        self.extra[0].kill()
        self.extra[0].wait(timeout=10)

    def _spawn(self, *args: str, cwd: Path = ROOT, **env: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_as(self) -> None:
        """The AS alone (`manage.py runserver`), for tests that bring their own resource servers."""
        self.extra.append(self._spawn("manage.py", "runserver", "--noreload"))
        self.process = self.extra[0]
        wait_until_up(f"{self.issuer}/.well-known/oauth-authorization-server")

    def start_rs(self, *args: str, server_url: str, credentials: dict[str, str], cwd: Path = ROOT) -> None:
        """One more resource server (`args` after `python`), serving `server_url` with its own credentials."""
        env = {"MCP_SERVER_URL": server_url, "PYTHONPATH": str(ROOT), **credentials}
        self.extra.append(self._spawn(*args, cwd=cwd, **env))
        origin = urlunsplit(urlsplit(server_url)[:2] + ("", "", ""))
        wait_until_up(f"{origin}/.well-known/oauth-protected-resource{urlsplit(server_url).path}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        for process in self.extra:
            if process is not self.process and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=20)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # never leave a child behind a failed test


def exports(output: str) -> dict[str, str]:
    """The variables of `export NAME=value` lines, as `eval "$(…)"` would set them in a shell."""
    return {
        name: shlex.split(value)[0] if value else ""
        for line in output.splitlines()
        if line.startswith("export ")
        for name, _, value in [line.removeprefix("export ").partition("=")]
    }


def stack_environment(as_port: int, rs_port: int, database_url: str, **settings: str) -> dict[str, str]:
    """The environment of an AS on `as_port` and an RS on `rs_port`, on `database_url`, plus `settings`."""
    env = {
        **os.environ,
        "OAUTH_ISSUER": f"http://127.0.0.1:{as_port}",
        "MCP_SERVER_URL": f"http://127.0.0.1:{rs_port}/mcp",
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
        **settings,
    }
    env.pop("MCP_RS_CLIENT_SECRET", None)
    return env


@contextlib.contextmanager
def running_stack(tmp_path: Path, *, separately: bool = False, **settings: str):
    as_port, rs_port = free_port(), free_port()
    with throwaway_database(tmp_path) as database_url:
        stack = Stack.prepared(stack_environment(as_port, rs_port, database_url, **settings))
        stack.log = open(tmp_path / "servers.log", "w")  # noqa: SIM115 - closed below
        stack.start_separately() if separately else stack.start()
        try:
            yield stack
        finally:
            stack.stop()
            stack.log.close()
