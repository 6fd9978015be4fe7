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
RATIO_TARGET, INTROSPECTION_TARGET_MS = 0.90, 3.0


def median(values) -> float:
    return statistics.median(values)


def paired_ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of per-round ratios: each pair was measured back to back, so machine drift cancels in it."""
    return median([a / b for a, b in zip(numerators, denominators, strict=True)])


def met(ok: bool) -> str:
    return "yes" if ok else "**no**"


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
    for concurrency, label in ((1, "sequential"), (8, "8 concurrent")):
        cpu = results[f"cpu c{concurrency}"]
        rows.append(
            (
                "1",
                f"RS CPU per tool call, {label}: no auth → auth (cached) → cache off",
                f"{median(cpu['noauth']):.2f} → {median(cpu['auth']):.2f} → {median(cpu['nocache']):.2f} ms"
                f" (auth: ×{paired_ratio(cpu['auth'], cpu['noauth']):.2f})",
                "—",
                "",
                "",
            )
        )
    for concurrency, label in ((1, "sequential"), (8, "8 concurrent")):
        calls = results[f"calls c{concurrency}"]
        ratio = paired_ratio(calls["nocache"], calls["noauth"])
        rows.append(
            (
                "2",
                f"Same RS, cache off (every call introspects), {label}",
                f"{median(calls['nocache']):.0f}/s, ratio {ratio:.2f}",
                f"ratio {SEED['ratio']} (no cache)" if concurrency == 1 else "—",
                "shows what the cache buys",
                "",
            )
        )
    labels = {
        "sqlite": "SQLite",
        "postgres": "PostgreSQL",
        "postgres-2w": "PostgreSQL, AS 2 workers",
        "postgres-2w-uvicorn": "PostgreSQL, AS 2 workers by `uvicorn --workers 2` (Nagle on)",
        "postgres-pool": "PostgreSQL + psycopg pool (proposed, not in requirements.txt)",
    }
    for name, figures in results["introspection"].items():
        p50 = median(figures["p50"])
        rows.append(
            (
                "3",
                f"Introspection p50 / p99 (AS CPU per call), {labels[name]}, one keep-alive connection",
                f"{p50:.1f} / {median(figures['p99']):.1f} ms ({median(figures['cpu']):.1f} ms)",
                f"{SEED['introspection_p50']} ms p50 (in-memory AS)",
                f"p50 ≤ {INTROSPECTION_TARGET_MS:.0f} ms",
                met(p50 <= INTROSPECTION_TARGET_MS),
            )
        )
    hashing = next((note.split(": ", 1)[1] for note in results["notes"] if note.startswith("client secret hash")), "?")
    rows.append(
        (
            "3",
            "RS client secret hash checked on every introspection",
            f"`{hashing}` (one SHA-256)",
            f"DOT default PBKDF2: {SEED['pbkdf2_introspection']} ms per call",
            "no slow hash",
            met(hashing == "client_secret_sha256"),
        )
    )
    for name, label in (
        ("as-1", "1 worker"),
        ("as-2", "2 workers"),
        ("as-2-uvicorn", "2 workers by `uvicorn --workers 2`"),
    ):
        figures = results["token endpoint"][name]
        rows.append(
            (
                "4",
                f"Token endpoint, PostgreSQL, 4 concurrent, AS {label}: code exchanges / refreshes",
                f"{median(figures['exchanges']):.0f} / {median(figures['refreshes']):.0f} per s",
                "—",
                "",
                "",
            )
        )
    flow = results["full flow"]
    rows.append(
        (
            "5",
            "Fresh client's full flow, first request to first tool result (browser already signed in)",
            f"{median(flow['signed-in']):.0f} ms median",
            f"{SEED['full_flow']} ms median",
            "",
            "",
        )
    )
    rows.append(
        (
            "5",
            "Same, the person signs in during the flow (PBKDF2 check of their password)",
            f"{median(flow['signing-in']):.0f} ms median",
            "—",
            "",
            "",
        )
    )
    rss = results["rss"]
    rows.append(
        (
            "6",
            "RSS after the run (MB): AS 1 worker · AS 2 workers · RS · RS 2 workers · RS without auth",
            f"{rss['as-1'][0]:.0f} · {rss['as-2'][0]:.0f} ({rss['as-2'][1]:.0f} per worker) · {rss['rs-auth'][0]:.0f}"
            f" · {rss['rs-2w'][0]:.0f} ({rss['rs-2w'][1]:.0f} per worker) · {rss['rs-noauth'][0]:.0f}",
            "—",
            "",
            "",
        )
    )
    workers = results["rs workers"]
    rows.append(
        (
            "7",
            "RS production setup (stateless, Redis cache), 8 concurrent: 1 → 2 workers",
            f"{median(workers['1w']):.0f} → {median(workers['2w']):.0f}/s"
            f" (×{paired_ratio(workers['2w'], workers['1w']):.2f}); CPU per call"
            f" {median(results['rs workers cpu']['1w']):.2f} → {median(results['rs workers cpu']['2w']):.2f} ms",
            "—",
            "",
            "",
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "| " + " | ".join("-" * width for width in widths) + " |")
    return "\n".join(lines)


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
        p50, p99, cpu = fmt(figures["p50"]), fmt(figures["p99"]), fmt(figures["cpu"])
        lines.append(f"- introspection {name}: p50 {p50} ms; p99 {p99} ms; AS CPU per call {cpu} ms")
    for name, figures in results["token endpoint"].items():
        exchanges, refreshes = fmt(figures["exchanges"]), fmt(figures["refreshes"])
        lines.append(f"- token endpoint {name}: exchanges/s {exchanges}; refreshes/s {refreshes}")
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
Measured {when} by `make bench` ({rounds}, half as many rounds for the token endpoint; the run took
{results["seconds"]:.0f} s).

- Machine: {machine["cpu"]}, {machine["memory"]}; {machine["os"]}; Python {machine["python"]};
  PostgreSQL {machine["postgres"]}; Redis {machine["redis"]}.
- Load average (1, 5, 15 min) before: {load_before}; after: {load_after}.{notes}

{table_text}

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

    figure, (calls, tokens, workers) = plt.subplots(
        1, 3, figsize=(14, 4.6), gridspec_kw={"width_ratios": [3, 2.2, 1.3]}
    )
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

    servers = (("as-1", "1 worker"), ("as-2", "2 workers"), ("as-2-uvicorn", "2 workers, uvicorn --workers"))
    for group, kind in enumerate(("exchanges", "refreshes")):
        for offset, (name, label) in enumerate(servers):
            colour = ("#1565c0", "#64b5f6", "#b0bec5")[offset]
            bar(tokens, group * 4 + offset, results["token endpoint"][name][kind], label if group == 0 else None,
                color=colour)  # fmt: skip
    tokens.set_xticks([1, 5])
    tokens.set_xticklabels(["code exchanges", "refreshes"])
    tokens.set_ylabel("requests / s")
    tokens.set_title("Token endpoint, PostgreSQL\n4 concurrent")
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
