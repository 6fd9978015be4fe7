"""The benchmark's table, its plot, and the results block of docs/benchmarks.md."""

import statistics
import time
from pathlib import Path

START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"

# The seed's example (the MCP SDK's simple-auth resource server and its in-memory AS), measured on this machine.
SEED = {
    "noauth": 112.5,
    "auth": 14.6,
    "ratio": 0.13,
    "introspection_p50": 1.9,
    "pbkdf2_introspection": 562,
    "full_flow": 109,
}
RATIO_TARGET = 0.90
TARGETS = {
    "introspection p50 sqlite": 2.0,
    "introspection p50 postgres": 3.0,
    "introspection cpu": 1.0,
    "token rate": 100.0,
    "exchange cpu": 5.0,
    "full flow": 150.0,
}
SERVERS = {
    "granian": "granian (`manage.py serve`)",
    "gunicorn": "gunicorn gthread",
    "uvicorn": "uvicorn, ASGI (before)",
    "peer": "peer: django-allauth IdP",
}


def median(values) -> float:
    return statistics.median(values)


def paired_ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of per-round ratios: each pair was measured back to back, so machine drift cancels in it."""
    return median([a / b for a, b in zip(numerators, denominators, strict=True)])


def met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def server_of(name: str) -> str:
    return SERVERS[name.split("-", 1)[0]]


def table(results: dict) -> str:
    rows = [("#", "Measure", "This run", "Seed", "Target", "Met")]
    for concurrency, label in ((1, "sequential"), (8, "8 concurrent")):
        calls = results[f"calls c{concurrency}"]
        ratio = paired_ratio(calls["auth"], calls["noauth"])
        seed = f"{SEED['noauth']} → {SEED['auth']}/s, ratio {SEED['ratio']}" if concurrency == 1 else "—"
        rows.append(
            (
                "1",
                f"RS tool calls, {label}, one session: no auth → auth (cached)",
                f"{median(calls['noauth']):.0f} → {median(calls['auth']):.0f}/s, ratio **{ratio:.2f}**",
                seed,
                f"ratio ≥ {RATIO_TARGET:.2f}",
                met(ratio >= RATIO_TARGET),
            )
        )
    cpu = results["cpu c1"]
    rows.append(
        (
            "1",
            "RS CPU per tool call, sequential: no auth → auth (cached) → cache off",
            f"{median(cpu['noauth']):.2f} → {median(cpu['auth']):.2f} → {median(cpu['nocache']):.2f} ms",
            "—",
            "",
            "",
        )
    )
    calls = results["calls c1"]
    rows.append(
        (
            "2",
            "Same RS, cache off (every call introspects), sequential",
            f"{median(calls['nocache']):.0f}/s, ratio {paired_ratio(calls['nocache'], calls['noauth']):.2f}",
            f"ratio {SEED['ratio']} (no cache)",
            "shows what the cache buys",
            "",
        )
    )
    labels = {
        "sqlite": ("SQLite, granian (`manage.py serve`)", "sqlite"),
        "postgres": ("PostgreSQL, granian (`manage.py serve`)", "postgres"),
        "postgres-gunicorn": ("PostgreSQL, gunicorn gthread", "postgres"),
        "postgres-uvicorn": ("PostgreSQL, uvicorn ASGI (how it was served before)", "postgres"),
        "peer": ("peer: django-allauth IdP, PostgreSQL, granian, cheap secret hash", "postgres"),
    }
    for name, figures in results["introspection"].items():
        label, database = labels[name]
        p50, cpu_ms = median(figures["p50"]), figures["cpu all rounds"]
        target_p50 = TARGETS[f"introspection p50 {database}"]
        ok = p50 <= target_p50 and cpu_ms <= TARGETS["introspection cpu"]
        rows.append(
            (
                "3",
                f"Introspection p50 / p99 (AS CPU per call), {label}, one keep-alive connection",
                f"{p50:.2f} / {median(figures['p99']):.2f} ms ({cpu_ms:.2f} ms)",
                f"{SEED['introspection_p50']} ms p50 (in-memory AS)" if name == "postgres" else "—",
                f"p50 ≤ {target_p50:.0f} ms, CPU ≤ 1 ms" if name != "peer" else "ours ahead",
                met(ok) if name not in ("peer", "postgres-uvicorn", "postgres-gunicorn") else "",
            )
        )
    rows.append(
        (
            "3",
            "Peer's introspection with its default client secret storage (PBKDF2)",
            f"{results['peer pbkdf2 introspection ms']:.0f} ms p50",
            f"DOT default PBKDF2: {SEED['pbkdf2_introspection']} ms",
            "",
            "",
        )
    )
    hashing = next((note.split(": ", 1)[1] for note in results["notes"] if note.startswith("client secret hash")), "?")
    rows.append(("3", "Our RS client secret hash", f"`{hashing}` (one SHA-256)", "—", "no slow hash",
                 met(hashing == "client_secret_sha256")))  # fmt: skip
    inproc = results["in process"]
    for name, label in (("pg", "ours, PostgreSQL"), ("sqlite", "ours, SQLite"), ("peer", "peer, PostgreSQL")):
        figures = inproc[name]
        parts = [f"{kind} {figures[kind]:.2f}" for kind in ("metadata", "introspection", "exchange", "refresh")
                 if kind in figures]  # fmt: skip
        rows.append(("3", f"In process, CPU ms per request through Django's WSGI handler ({label})",
                     " · ".join(parts), "—", "", ""))  # fmt: skip
    for name, figures in results["token endpoint"].items():
        exchanges, refreshes = median(figures["exchanges"]), median(figures["refreshes"])
        exchange_cpu, refresh_cpu = figures["exchange cpu all rounds"], figures["refresh cpu all rounds"]
        ours = name == "granian-2"
        ok = min(exchanges, refreshes) >= TARGETS["token rate"] and exchange_cpu <= TARGETS["exchange cpu"]
        rows.append(
            (
                "4",
                f"Token endpoint, PostgreSQL, 4 concurrent, 2 workers, {server_of(name)}: code exchanges / refreshes"
                " per s (AS CPU per exchange / refresh)",
                f"{exchanges:.0f} / {refreshes:.0f} per s ({exchange_cpu:.1f} / {refresh_cpu:.1f} ms)",
                "—",
                "≥ 100 / ≥ 100 per s, ≤ 5 ms per exchange" if ours else "",
                met(ok) if ours else "",
            )
        )
    flow = results["full flow"]
    signed_in = median(flow["signed-in"])
    rows.append(
        (
            "5",
            "Fresh client's full flow, first request to first tool result (browser already signed in)",
            f"{signed_in:.0f} ms median",
            f"{SEED['full_flow']} ms median",
            f"≤ {TARGETS['full flow']:.0f} ms",
            met(signed_in <= TARGETS["full flow"]),
        )
    )
    rows.append(("5", "Same, the person signs in during the flow (PBKDF2 check of their password)",
                 f"{median(flow['signing-in']):.0f} ms median", "—", "", ""))  # fmt: skip
    run = results["make run"]
    rows.append(
        (
            "6",
            f"`make run`'s defaults (SQLite, DEBUG on, 1 worker): 4 clients exchanging {run['codes']} codes at once,"
            " then refreshing: failed token requests",
            f"{len(run['failures'])} of {run['requests']} ({run['exchanges']:.0f} exchanges/s)",
            "26 of 40 (before)",
            "0",
            met(not run["failures"] and run["requests"] == 2 * run["codes"]),
        )
    )
    rss = results["rss"]
    rows.append(
        (
            "7",
            "RSS after the run (MB, whole tree): AS 2 workers under granian · gunicorn · uvicorn; peer; RS",
            f"{rss['granian-2'][0]:.0f} · {rss['gunicorn-2'][0]:.0f} · {rss['uvicorn-2'][0]:.0f} · {rss['peer'][0]:.0f}"
            f" · {rss['rs-auth'][0]:.0f}",
            "—",
            "",
            "",
        )
    )
    workers = results["rs workers"]
    rows.append(
        (
            "8",
            "RS production setup (stateless, Redis cache), 8 concurrent: 1 → 2 workers",
            f"{median(workers['1w']):.0f} → {median(workers['2w']):.0f}/s"
            f" (×{paired_ratio(workers['2w'], workers['1w']):.2f})",
            "—",
            "",
            "",
        )
    )
    return markdown_table(rows)


def markdown_table(rows: list[tuple]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "| " + " | ".join("-" * width for width in widths) + " |")
    return "\n".join(lines)


def flow_table(results: dict) -> str:
    """The full flow, request by request (median of the runs), with the AS's Server-Timing."""
    flow = results["full flow steps"]
    rows = [("#", "Side", "Request", "Status", "Client ms", "AS: Django ms", "AS: database ms")]
    for index, step in enumerate(flow["steps"], 1):
        rows.append(
            (
                str(index),
                step["side"],
                step["request"],
                str(step["status"]),
                f"{step['ms']:.1f}",
                f"{step['app_ms']:.1f}" if step["app_ms"] is not None else "",
                f"{step['db_ms']:.1f}" if step["db_ms"] is not None else "",
            )
        )
    requests = sum(step["ms"] for step in flow["steps"])
    app = sum(step["app_ms"] or 0 for step in flow["steps"])
    db = sum(step["db_ms"] or 0 for step in flow["steps"])
    rows.append(("", "", f"sum of {len(flow['steps'])} requests", "", f"{requests:.1f}", f"{app:.1f}", f"{db:.1f}"))
    rows.append(("", "", "the flow, end to end", "", f"{flow['total_ms']:.1f}", "", ""))
    return markdown_table(rows)


def per_round(results: dict) -> str:
    def fmt(values, digits: int = 1) -> str:
        return ", ".join(f"{value:.{digits}f}" for value in values)

    lines = []
    for concurrency in (1, 8):
        for name, values in results[f"calls c{concurrency}"].items():
            lines.append(f"- tool calls/s, concurrency {concurrency}, {name}: {fmt(values)}")
    for concurrency in (1, 8):
        for name, values in results[f"cpu c{concurrency}"].items():
            lines.append(f"- RS CPU ms per call, concurrency {concurrency}, {name}: {fmt(values, 2)}")
    for name, figures in results["introspection"].items():
        p50, p99, cpu = fmt(figures["p50"]), fmt(figures["p99"]), fmt(figures["cpu"], 2)
        lines.append(f"- introspection {name}: p50 {p50} ms; p99 {p99} ms; AS CPU per call {cpu} ms (10 ms ticks)")
    for name, figures in results["token endpoint"].items():
        exchanges, refreshes = fmt(figures["exchanges"]), fmt(figures["refreshes"])
        cpu = f"{fmt(figures['exchange cpu'])} / {fmt(figures['refresh cpu'])}"
        lines.append(
            f"- token endpoint {name}: exchanges/s {exchanges}; refreshes/s {refreshes}; CPU ms per exchange / refresh"
            f" {cpu}"
        )
    if results["make run"]["failures"]:
        lines.append(f"- make run failures: {'; '.join(sorted(set(results['make run']['failures'])))}")
    for name, values in results["full flow"].items():
        lines.append(f"- full flow {name}: {fmt(values)} ms")
    for name, values in results["rs workers"].items():
        cpu = fmt(results["rs workers cpu"][name], 2)
        lines.append(f"- RS production {name}: {fmt(values)} calls/s; CPU per call {cpu} ms")
    return "\n".join(lines)


def results_block(results: dict, table_text: str) -> str:
    machine = results["machine"]
    settings = results["settings"]
    load_before = ", ".join(f"{value:.2f}" for value in results["load_before"])
    load_after = ", ".join(f"{value:.2f}" for value in results["load_after"])
    notes = "".join(f"\n- {note}" for note in results["notes"])
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rounds = f"{settings['rounds']} interleaved rounds of {settings['seconds']} s per throughput figure"
    return f"""{START}
Measured {when} by `make bench` ({rounds}, two thirds as many rounds for the token endpoint; the run took
{results["seconds"]:.0f} s).

- Machine: {machine["cpu"]}, {machine["memory"]}; {machine["os"]}; Python {machine["python"]};
  PostgreSQL {machine["postgres"]}; Redis {machine["redis"]}.
- Load average (1, 5, 15 min) before: {load_before}; after: {load_after}.{notes}

{table_text}

A fresh client's full flow, request by request (median of {results["full flow steps"]["runs"]} runs; AS columns from
its Server-Timing header, which the issuer sends in this run only):

{flow_table(results)}

![Throughput figures of this run](benchmarks.png)

<details><summary>Every round</summary>

{per_round(results)}

</details>
{END}"""


def write_docs(results: dict, table_text: str, markdown: Path, picture: Path) -> None:
    block = results_block(results, table_text)
    text = markdown.read_text() if markdown.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    markdown.write_text(head + block + tail)
    plot(results, picture)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def bar(axis, x, values, label, **style):
        values = list(values) if isinstance(values, list) else [values]
        middle = median(values)
        spread = [[middle - min(values)], [max(values) - middle]]
        axis.bar(x, middle, width=0.8, label=label, yerr=spread, capsize=3, **style)
        axis.annotate(f"{middle:.0f}", (x, middle), ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                      textcoords="offset points")  # fmt: skip

    figure, (calls, tokens, workers) = plt.subplots(1, 3, figsize=(15, 4.6), gridspec_kw={"width_ratios": [3, 3, 1.3]})
    colours = {"noauth": "#9e9e9e", "auth": "#2e7d32", "nocache": "#ef6c00", "seed": "#c62828"}
    names = {"noauth": "no auth", "auth": "auth, cached", "nocache": "auth, cache off"}
    for group, concurrency in enumerate((1, 8)):
        for offset, variant in enumerate(("noauth", "auth", "nocache")):
            label = names[variant] if group == 0 else None
            x = group * 5 + offset
            bar(calls, x, results[f"calls c{concurrency}"][variant], label, color=colours[variant])
    bar(calls, 3, SEED["noauth"], "seed: no auth", color="white", edgecolor=colours["seed"], hatch="//")
    bar(calls, 3.9, SEED["auth"], "seed: auth", color=colours["seed"])
    calls.set_xticks([1, 3.45, 6])
    calls.set_xticklabels(["sequential", "seed (sequential)", "8 concurrent"])
    calls.set_ylabel("tool calls / s")
    calls.set_title("RS tool calls, one session\n1 worker")
    calls.legend(fontsize=7, loc="upper left")

    servers = [(name, server_of(name)) for name in results["token endpoint"]]
    colours = ("#1565c0", "#64b5f6", "#b0bec5", "#ef6c00")
    for group, kind in enumerate(("exchanges", "refreshes")):
        for offset, (name, label) in enumerate(servers):
            bar(tokens, group * (len(servers) + 1) + offset, results["token endpoint"][name][kind],
                label if group == 0 else None, color=colours[offset % len(colours)])  # fmt: skip
    tokens.axhline(100, color="#c62828", linewidth=0.8, linestyle="--")
    middle = (len(servers) - 1) / 2
    tokens.set_xticks([middle, len(servers) + 1 + middle])
    tokens.set_xticklabels(["code exchanges", "refreshes"])
    tokens.set_ylabel("requests / s")
    tokens.set_title("Token endpoint, PostgreSQL\n2 workers, 4 concurrent (target: dashed)")
    tokens.legend(fontsize=7)

    for offset, name in enumerate(("1w", "2w")):
        bar(workers, offset, results["rs workers"][name], None, color=("#6a1b9a", "#ba68c8")[offset])
    workers.set_xticks([0, 1])
    workers.set_xticklabels(["1 worker", "2 workers"])
    workers.set_ylabel("tool calls / s")
    workers.set_title("RS stateless + Redis\n8 concurrent")

    figure.suptitle("make bench: medians of interleaved rounds (bars: min–max)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
