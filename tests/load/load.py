"""Bounded load test: dozens of MCP clients, each doing the whole OAuth flow, then tool calls and refreshes,
against the AS and the RS served the production way (several workers each) on PostgreSQL. Loopback only; it
stops by itself.

    .venv/bin/python -m tests.load.load --clients 48 --seconds 120     # the full run (docs/reliability.md)
    .venv/bin/python -m tests.load.load --clients 12 --seconds 15      # the short form CI runs (tests/load/)

Every client registers itself (DCR), logs in and consents through an HTTP client, and keeps one MCP session
busy with tool calls. Access tokens live 6 s, so the SDK refreshes (and rotates) them again and again. At the
end it reports requests, failures and 5xx (from the servers' own logs), and checks every refresh family in the
database: exactly one live refresh token each, no replay detected.
"""

import argparse
import asyncio
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.e2e.mcp_client import MemoryStorage, ScriptedBrowser, call_json, mcp_session, oauth_provider
from tests.e2e.production import production_stack

POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
ACCESS_TOKEN_LIFETIME = 6  # seconds: each client refreshes (and rotates) every few seconds
REFRESH_MARGIN = 2
FIVE_XX = re.compile(r'" 5\d\d |"status": 5\d\d')


@dataclass
class Tally:
    flows: int = 0
    tool_calls: int = 0
    refreshes: int = 0
    reauthorizations: int = 0
    failures: list[str] = field(default_factory=list)


def refreshing_early(provider, *, margin: float):
    """A client that refreshes `margin` seconds before expiry, as production clients do. The SDK refreshes only
    once its own clock says expired, so a token used in its last moments is a 401, and the SDK answers a 401
    with a whole new authorization (login included), not a refresh: that would measure logins, not refreshes."""
    record_expiry = provider.context.update_token_expiry

    def update_token_expiry(token):
        record_expiry(token)
        provider.context.token_expiry_time -= margin

    provider.context.update_token_expiry = update_token_expiry
    return provider


def innermost(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


async def one_client(number: int, server_url: str, start_at: float, deadline: float, tally: Tally) -> None:
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    storage, browser = MemoryStorage(), ScriptedBrowser()
    provider = refreshing_early(oauth_provider(server_url, storage, browser), margin=REFRESH_MARGIN)
    try:
        async with mcp_session(server_url, auth=provider) as session:
            tally.flows += 1
            first_refresh_token = storage.tokens.refresh_token
            seen = {first_refresh_token}
            while time.monotonic() < deadline:
                me = await call_json(session, "whoami")
                assert me["username"] == "alice" and me["audience"] == server_url, me
                await session.call_tool("add_note", {"text": f"client {number} at {time.monotonic():.1f}"})
                tally.tool_calls += 2
                if storage.tokens.refresh_token not in seen:
                    seen.add(storage.tokens.refresh_token)
                    tally.refreshes += 1
                await asyncio.sleep(0.05)
    except BaseException as exc:  # noqa: BLE001 - every failure is counted and reported, none is hidden
        cause = innermost(exc)
        tally.failures.append(f"client {number}: {type(cause).__name__}: {cause}"[:300])
    # A token that expires in flight gets a 401 and the SDK authorizes again (a new family): counted, not failed.
    tally.reauthorizations += max(0, len(browser.authorize_urls) - 1)


def refresh_families(database_url: str) -> dict:
    with psycopg.connect(database_url) as conn:
        families = conn.execute(
            "SELECT token_family, count(*) FILTER (WHERE revoked IS NULL) AS live, count(*) AS total "
            "FROM oauth2_provider_refreshtoken GROUP BY token_family"
        ).fetchall()
        replays = conn.execute("SELECT count(*) FROM oauth_app_auditevent WHERE kind = 'token.replay_detected'")
        return {
            "families": len(families),
            "intact": sum(1 for _, live, _ in families if live == 1),
            "rotations": sum(total - 1 for _, _, total in families),
            "replays_detected": replays.fetchone()[0],
        }


async def drive(server_url: str, clients: int, seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    started = time.monotonic()
    deadline = started + seconds
    # Arrivals spread over the first third of the run, as people do: each login costs a PBKDF2 hash by design,
    # and the point is the steady state of many live clients, not one burst of password checks.
    ramp = seconds / 3
    arrivals = [started + ramp * n / clients for n in range(clients)]
    await asyncio.gather(*(one_client(n, server_url, arrivals[n], deadline, tally) for n in range(clients)))
    return tally, time.monotonic() - started


def run(*, clients: int, seconds: float, as_workers: int, rs_workers: int, workdir: Path) -> dict:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        os.environ["DATABASE_URL"] = POSTGRES  # the load test is about PostgreSQL with several workers
    settings = {
        "OAUTH_ACCESS_TOKEN_LIFETIME": str(ACCESS_TOKEN_LIFETIME),
        # Every simulated client shares 127.0.0.1: the per-IP limits (tested on their own) would throttle them.
        "OAUTH_REGISTRATION_RATE": "100000/h",
        "OAUTH_TOKEN_RATE": "100000/m",
        "LOG_FORMAT": "json",
    }
    with production_stack(workdir, as_workers=as_workers, rs_workers=rs_workers, **settings) as stack:
        tally, elapsed = asyncio.run(drive(stack.server_url, clients, seconds))
        database = refresh_families(stack.env["DATABASE_URL"])
    log = (workdir / "servers.log").read_text()
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "as_workers": as_workers,
        "rs_workers": rs_workers,
        "flows_completed": tally.flows,
        "tool_calls": tally.tool_calls,
        "refreshes_seen_by_clients": tally.refreshes,
        "reauthorizations": tally.reauthorizations,
        "failed_clients": len(tally.failures),
        "failures": tally.failures[:10],
        "server_5xx": len(FIVE_XX.findall(log)),
        "tracebacks_in_logs": log.count("Traceback"),
        **database,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--as-workers", type=int, default=2)
    parser.add_argument("--rs-workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="a directory to keep the servers' log in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        result = run(
            clients=args.clients,
            seconds=args.seconds,
            as_workers=args.as_workers,
            rs_workers=args.rs_workers,
            workdir=workdir,
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
