"""`make run` runs `manage.py runstack`: AS and RS in the foreground, stopped together by SIGINT or SIGTERM."""

import os
import signal
import subprocess

import httpx
import pytest

from tests.e2e.stack import ROOT, free_port, running_stack, throwaway_database, wait_until_up


def pids_alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive.append(pid)
    return alive


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_one_signal_stops_both_servers(tmp_path, sig):
    with running_stack(tmp_path) as stack:
        children = subprocess.run(["pgrep", "-P", str(stack.process.pid)], capture_output=True, text=True)
        child_pids = [int(pid) for pid in children.stdout.split()]
        assert len(child_pids) == 2

        assert stack.stop(sig) == 0

        assert pids_alive(child_pids) == []
        for url in (stack.issuer, stack.rs_origin):
            with pytest.raises(httpx.ConnectError):
                httpx.get(url, timeout=2)


def test_make_run_sets_everything_up_and_ctrl_c_stops_it(tmp_path):
    as_port, rs_port = free_port(), free_port()
    issuer, server_url = f"http://127.0.0.1:{as_port}", f"http://127.0.0.1:{rs_port}/mcp"
    with throwaway_database(tmp_path) as database_url:
        env = {**os.environ, "OAUTH_ISSUER": issuer, "MCP_SERVER_URL": server_url, "DATABASE_URL": database_url}
        env.pop("MCP_RS_CLIENT_SECRET", None)
        make = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            wait_until_up(f"{issuer}/.well-known/oauth-authorization-server", timeout=120)
            wait_until_up(f"{server_url.removesuffix('/mcp')}/.well-known/oauth-protected-resource/mcp")
            # A fresh database was migrated and the demo MCP server registered with its scopes; offline_access is
            # the AS's own (SEP-2207).
            metadata = httpx.get(f"{issuer}/.well-known/oauth-authorization-server").json()
            assert metadata["scopes_supported"] == ["mcp", "notes:write", "offline_access"]
            assert httpx.post(server_url, json={}).status_code == 401
        finally:
            os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
            output, _ = make.communicate(timeout=30)

    assert f"Point your MCP client at {server_url}" in output
    assert "createsuperuser" in output  # no user yet, and no terminal to ask in
    assert "MCP_RS_CLIENT_SECRET" not in output  # the RS's secret is handed over, never printed
    for url in (issuer, server_url):
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=2)
