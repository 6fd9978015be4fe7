"""The load test in its short form (the full run: `python -m tests.load.load`, see docs/reliability.md)."""

from tests.load.load import POSTGRES, run
from tests.services import needs_postgres


@needs_postgres  # the load test is about PostgreSQL
def test_dozen_clients_with_flows_tool_calls_and_refreshes_lose_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", POSTGRES)

    # 20 s: every client steps up once (the demo's add_note needs notes:write) before its steady state of refreshes.
    result = run(clients=12, seconds=20, as_workers=2, rs_workers=2, workdir=tmp_path)

    assert result["failed_clients"] == 0, result["failures"]
    assert result["flows_completed"] == 12
    assert result["server_5xx"] == 0 and result["tracebacks_in_logs"] == 0
    assert result["rotations"] >= 12  # refresh grants that rotated a token, at least one per client
    # One live refresh token in every family: nothing lost to a race, nothing revoked by mistake.
    assert result["families"] == result["intact"] == 12 + result["reauthorizations"]
    assert result["replays_detected"] == 0
