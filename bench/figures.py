"""The figures of issue 4, derived from the raw runs: one row per (figure, tracer).

A row holds the median and range over the repeated runs, its ratio to the row it is
judged against (ftrace for the producer figures, the stock daemons for the consumer and
control-plane ones) and that row's range, and which way is better. Rows are plain dicts
so that results.json is the whole report.
"""

from __future__ import annotations

from typing import Any

from .stats import Summary, per_event_cost_ns, ratio, summarize
from .tracers import STOCK_PEER

Row = dict[str, Any]
Runs = dict[str, list[dict[str, Any]]]   # tracer name -> one record per repetition

# Figures where more is better (a rate), where neither is (a count every tracer should
# agree on); in every other one, less is better.
HIGHER_IS_BETTER = ("events per s", "MB/s", "rate without loss", "rate with loss")
NEITHER = ("events recorded",)


def better(figure: str) -> str:
    """"higher", "lower" or "" (neither): which way this figure is better."""
    if any(what in figure for what in NEITHER):
        return ""
    return "higher" if any(what in figure for what in HIGHER_IS_BETTER) else "lower"


def row(figure: str, tracer: str, summary: Summary | None, unit: str,
        reference: str | None = None, reference_summary: Summary | None = None) -> Row:
    """One tracer's figure; with a reference, its ratio to it and the reference's range
    (the targets are judged on both ranges). The reference's own row has neither."""
    ref = reference_summary if reference is not None else None
    return {
        "figure": figure, "tracer": tracer, "unit": unit, "better": better(figure),
        "summary": summary.as_json() if summary else None,
        "reference": reference,
        "reference_summary": ref.as_json() if ref else None,
        "ratio": ratio(summary.median if summary else None, ref.median if ref else None),
    }


def values(records: list[dict[str, Any]], key: str) -> list[float]:
    return [float(r[key]) for r in records if r.get(key) is not None]


def event_cost(runs: Runs) -> dict[str, Summary | None]:
    """ns per event, run by run against the untraced run of the same repetition."""
    base = [r["cost"] for r in runs["untraced"]]
    costs: dict[str, Summary | None] = {}
    for tracer, records in runs.items():
        if tracer != "untraced":
            costs[tracer] = summarize([per_event_cost_ns(r["cost"], b)
                                       for r, b in zip(records, base, strict=False)])
    return costs


def slowdown(runs: Runs) -> dict[str, Summary | None]:
    base = [r["cost"] for r in runs["untraced"]]
    return {tracer: summarize([r["cost"] / b for r, b in zip(records, base, strict=False)])
            for tracer, records in runs.items() if tracer != "untraced"}


def per_record(runs: Runs, fn: Any) -> dict[str, Summary | None]:
    """fn(record) -> float | None for every traced record, summarized per tracer."""
    out: dict[str, Summary | None] = {}
    for tracer, records in runs.items():
        if tracer != "untraced":
            found = [fn(r) for r in records]
            out[tracer] = summarize([v for v in found if v is not None])
    return out


def events_per_s(r: dict[str, Any]) -> float | None:
    return r["events"] / r["seconds"] if r.get("events") is not None and r["seconds"] else None


def bytes_per_event(r: dict[str, Any]) -> float | None:
    return r["bytes"] / r["events"] if r.get("bytes") is not None and r.get("events") else None


def record_bytes_per_event(r: dict[str, Any]) -> float | None:
    """The event records alone (LTTng traces): what the event header format decides."""
    if r.get("record_bytes") is None or not r.get("events"):
        return None
    return float(r["record_bytes"] / r["events"])


def measured(summaries: dict[str, Summary | None]) -> dict[str, Summary | None]:
    """Only the tracers that measure the figure (the others cannot tell)."""
    return {tracer: s for tracer, s in summaries.items() if s is not None}


def events(r: dict[str, Any]) -> float | None:
    return float(r["events"]) if r.get("events") is not None else None


def discarded(r: dict[str, Any]) -> float | None:
    return float(r["discarded"]) if r.get("discarded") is not None else None


def against(figure: str, summaries: dict[str, Summary | None], unit: str,
            reference: str | None) -> list[Row]:
    ref = summaries.get(reference) if reference else None
    return [row(figure, tracer, s, unit, reference if tracer != reference else None, ref)
            for tracer, s in summaries.items()]


def producer_figures(workloads: dict[str, Runs]) -> list[Row]:
    rows: list[Row] = []
    if "syscall" in workloads:
        runs = workloads["syscall"]
        rows += against("1. syscall loop: ns per event", event_cost(runs), "ns", "ftrace")
        rows += against("1. syscall loop: events recorded", per_record(runs, events),
                        "events", None)
        rows += against("4. syscall loop: bytes per event", per_record(runs, bytes_per_event),
                        "B", "ftrace")
        rows += against("4. syscall loop: bytes per event record",
                        measured(per_record(runs, record_bytes_per_event)), "B", None)
        rows += against("1. syscall loop: discarded", per_record(runs, discarded), "events",
                        None)
    if "hackbench" in workloads:
        runs = workloads["hackbench"]
        rows += against("2. hackbench: slowdown", slowdown(runs), "x", "ftrace")
        rows += against("2. hackbench: events per s", per_record(runs, events_per_s), "ev/s",
                        "ftrace")
        rows += against("4. hackbench: bytes per event", per_record(runs, bytes_per_event), "B",
                        "ftrace")
        rows += against("4. hackbench: bytes per event record",
                        measured(per_record(runs, record_bytes_per_event)), "B", None)
    if "stress-ng" in workloads:
        runs = workloads["stress-ng"]
        rows += against("3. everything on: events per s", per_record(runs, events_per_s),
                        "ev/s", "ftrace")
        rows += against("3. everything on: discarded", per_record(runs, discarded), "events",
                        None)
        rows += against("3. everything on: slowdown", slowdown(runs), "x", "ftrace")
    return rows


def drain_mb_per_s(r: dict[str, Any]) -> float | None:
    """MB written to the stream files while the workload ran, per second of it."""
    if r.get("drained_bytes") is None or not r.get("drain_s"):
        return None
    return float(r["drained_bytes"] / 1e6 / r["drain_s"])


def cpu_per_mb(r: dict[str, Any]) -> float | None:
    if not r.get("bytes") or r.get("consumer_cpu_s") is None:
        return None
    return float(r["consumer_cpu_s"] / (r["bytes"] / 1e6))


def teardown_s(r: dict[str, Any]) -> float | None:
    if r.get("stop_s") is None or r.get("destroy_s") is None:
        return None
    return float(r["stop_s"] + r["destroy_s"])


CONSUMER_FIGURES = (
    ("5. consumer: MB/s drained while tracing", drain_mb_per_s, "MB/s"),
    ("5. consumer: CPU s per MB", cpu_per_mb, "s/MB"),
    ("5. consumer: set-up CPU per session", lambda r: r.get("consumer_setup_cpu_s"), "s"),
    ("5. consumer: stop + destroy wall time", teardown_s, "s"),
)


def consumer_figures(runs: Runs, table: tuple[tuple[str, Any, str], ...] = CONSUMER_FIGURES
                     ) -> list[Row]:
    """pylttng-consumerd against the stock lttng-consumerd, per output mode: each figure of
    `table` (name, fn(record) -> value, unit); a count every peer should agree on (events
    recorded) or one without a ratio (discarded events) has no reference."""
    rows: list[Row] = []
    for output in ("mmap", "splice"):
        ours, stock = f"pylttng-{output}", f"{STOCK_PEER}-{output}"
        for figure, fn, unit in table:
            summaries = per_record({t: runs.get(t, []) for t in (ours, stock)}, fn)
            rows.append(row(figure, stock, summaries[stock], unit))
            judged = not any(what in figure for what in (*NEITHER, "discarded"))
            rows.append(row(figure, ours, summaries[ours], unit, stock if judged else None,
                            summaries[stock]))
    return rows


def stream_mb_per_s(r: dict[str, Any]) -> float | None:
    """The whole trace the relay daemon received, over the time from `start` returned to
    `stop` returned (`stop` waits until the relay daemon holds everything)."""
    if not r.get("bytes") or r.get("drain_s") is None or r.get("stop_s") is None:
        return None
    return float(r["bytes"] / 1e6 / (r["drain_s"] + r["stop_s"]))


def relayd_cpu_per_mb(r: dict[str, Any]) -> float | None:
    if not r.get("bytes") or r.get("relayd_cpu_s") is None:
        return None
    return float(r["relayd_cpu_s"] / (r["bytes"] / 1e6))


STREAMING_FIGURES = (
    ("8. streaming: MB/s received while tracing", drain_mb_per_s, "MB/s"),
    ("8. streaming: MB/s received, start to stop", stream_mb_per_s, "MB/s"),
    ("8. streaming: consumer CPU s per MB", cpu_per_mb, "s/MB"),
    ("8. streaming: relayd CPU s per MB", relayd_cpu_per_mb, "s/MB"),
    ("8. streaming: events recorded", events, "events"),
    ("8. streaming: discarded", discarded, "events"),
)


def streaming_figures(runs: Runs) -> list[Row]:
    """Through the stock lttng-relayd on loopback: pylttng's consumer against the stock
    one, per output mode (bench/streaming.py)."""
    return consumer_figures(runs, STREAMING_FIGURES)


def control_figures(runs: Runs) -> list[Row]:
    rows: list[Row] = []
    # The smoke run opens fewer sessions than the full run's 10.
    sessions = max(values([r for rs in runs.values() for r in rs], "memory_sessions"),
                   default=10)
    for key, figure, unit in (("wall_s", "6. control plane: create..destroy wall time", "s"),
                              ("rss_idle_mib", "6. sessiond RSS idle", "MiB"),
                              ("rss_sessions_mib", f"6. sessiond RSS with {sessions:g} sessions",
                               "MiB"),
                              ("consumerd_rss_sessions_mib",
                               f"6. consumerd RSS with {sessions:g} sessions", "MiB")):
        stock = summarize(values(runs.get(STOCK_PEER, []), key))
        rows.append(row(figure, STOCK_PEER, stock, unit))
        rows.append(row(figure, "pylttng", summarize(values(runs.get("pylttng", []), key)), unit,
                        STOCK_PEER, stock))
    return rows


MAX_RATE_FIGURES = (
    ("7. highest rate without loss (default channel)", "highest_without_loss"),
    ("7. first rate with loss (default channel)", "first_with_loss"),
)
WHY_NO_LOSS = {"ceiling": "the producer's ceiling", "bound": "the search's bound"}


def max_rate_figures(found: dict[str, dict[str, Any]]) -> list[Row]:
    """The loss search's two ends per peer: the highest offered rate that lost nothing,
    and the first that lost events; where the search ended without a loss, that row has
    no value and says how far it went."""
    def summary(tracer: str, key: str) -> Summary | None:
        step = (found.get(tracer) or {}).get(key)
        if not step:
            return None
        rate = float(step["offered_per_s"])
        return Summary(rate, rate, rate, 1)

    rows: list[Row] = []
    for figure, key in MAX_RATE_FIGURES:
        stock = summary(STOCK_PEER, key)
        for tracer, result in found.items():
            rows.append(row(figure, tracer, summary(tracer, key), "ev/s",
                            STOCK_PEER if tracer != STOCK_PEER else None, stock))
            steps = result.get("steps") or []
            if key == "first_with_loss" and not result.get(key) and steps:
                top = max(step["offered_per_s"] for step in steps)
                why = WHY_NO_LOSS.get(result.get("ended", ""), "the search's end")
                rows[-1]["note"] = f"no loss up to {top:,.0f} ev/s ({why})"
    return rows
