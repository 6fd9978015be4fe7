"""`make run` runs `manage.py runstack`: AS and RS in the foreground, stopped together by SIGINT or SIGTERM."""

import os
import signal
import subprocess

import httpx
import pytest

from tests.e2e.stack import running_stack


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
