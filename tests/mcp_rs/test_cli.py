"""`python -m mcp_rs [MODULE:ATTR]` as a person runs it: help, and errors they can act on instead of tracebacks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
