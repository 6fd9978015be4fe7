"""`python -m mcp_rs [MODULE:ATTR]` as a person runs it: help, and errors they can act on instead of tracebacks."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.production import worker_pids

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MCP_RS_CLIENT_SECRET": "x", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "mcp_rs", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_help_says_how_to_protect_ones_own_server(tmp_path):
    result = run("--help", cwd=tmp_path)

    assert result.returncode == 0
    assert "MODULE:ATTR" in result.stdout and "register_mcp_server" in result.stdout
    assert "MCP_REQUIRED_SCOPES" in result.stdout and "requires_scopes" in result.stdout


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("broken:server", "importing 'broken' failed: No module named 'nothing_such'"),
        ("typo:server", "importing 'typo' failed: SyntaxError: invalid syntax (typo.py, line 1)"),
        ("missing_module:server", "could not import module 'missing_module'"),
        ("notaserver:nothing", "module 'notaserver' has no attribute 'nothing'"),
        ("notaserver:server", "notaserver:server is a int, not an MCPServer"),
        ("notaserver:make", "notaserver:make must take no arguments"),
        ("notaserver", "'notaserver' is not MODULE:ATTR"),
    ],
)
def test_a_server_that_does_not_load_is_a_clear_error(tmp_path, target, expected):
    (tmp_path / "broken.py").write_text("import nothing_such\n")
    (tmp_path / "typo.py").write_text("def (\n")
    (tmp_path / "notaserver.py").write_text("server = 42\n\n\ndef make(name):\n    return name\n")

    result = run(target, cwd=tmp_path)

    assert result.returncode == 1
    assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_each_worker_serves_the_named_server(tmp_path):
    """MCP_WORKERS > 1: every worker process imports MODULE:ATTR itself and reads its per-tool scopes."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "MCP_RS_CLIENT_SECRET": "x",
        "PYTHONPATH": str(ROOT),
        "MCP_SERVER_URL": f"http://127.0.0.1:{port}/mcp",
        "MCP_WORKERS": "2",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "mcp_rs", "files_server:server"],
        cwd=ROOT / "examples",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        metadata_url = f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"
        answers = set()
        deadline = time.monotonic() + 60
        while not answers and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                answers.add(httpx.get(metadata_url, timeout=2).text)
            time.sleep(0.2)
        # New connections land on either worker: every answer names the Files server and its scope.
        answers |= {httpx.get(metadata_url, headers={"Connection": "close"}, timeout=5).text for _ in range(10)}

        assert len(worker_pids(server)) == 2
        assert [json.loads(answer)["scopes_supported"] for answer in answers] == [["mcp", "files:write"]]
        assert all(json.loads(answer)["resource_name"] == "Files" for answer in answers)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
