"""`mcp_rs` installs into an MCP server's own environment without Django: `pip install <checkout>` into a fresh
virtual environment brings its runtime dependencies only (mcp, httpx, uvicorn, redis)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IGNORED = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.sqlite3", "staticfiles", ".*_cache", "build")


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="packaging does not depend on the database: run once, in the SQLite pass",
)
def test_pip_install_of_a_checkout_gives_mcp_rs_without_django(tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=IGNORED)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"

    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(checkout)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    probe = subprocess.run(
        [
            python,
            "-c",
            "import importlib.util, mcp_rs; from mcp_rs import protect, requires_scopes; "
            "print(mcp_rs.__file__); "
            "print([name for name in ('django', 'oauth2_provider', 'oauth_app') if importlib.util.find_spec(name)])",
        ],
        cwd=tmp_path,  # not the checkout: the installed copy must be the one imported
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    installed_at, server_side_packages = probe.stdout.splitlines()
    assert installed_at.startswith(str(venv)) and server_side_packages == "[]"
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout
    command = subprocess.run([venv / "bin" / "mcp-rs", "--help"], capture_output=True, text=True, timeout=60)
    assert command.returncode == 0 and "MODULE:ATTR" in command.stdout
