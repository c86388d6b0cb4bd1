"""bench/: figures, targets and the rendered table, from synthetic runs (no VM)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The checkout root holds the bench package; appended so it cannot shadow pylttng.
sys.path.append(str(Path(__file__).resolve().parents[2]))

from bench import control, figures, report, run
from bench.run import only_steps
from bench.stats import Verdict, at_most, summarize, within_bound
from bench.tracers import STOCK_PEER


def runs(costs: dict[str, list[float]], **extra: Any) -> dict[str, list[dict[str, Any]]]:
    return {tracer: [{"cost": c, "seconds": 1.0, **extra} for c in values]
            for tracer, values in costs.items()}


def find(rows: list[dict[str, Any]], figure: str, tracer: str) -> dict[str, Any]:
    return next(r for r in rows if r["figure"] == figure and r["tracer"] == tracer)


def test_event_cost_is_half_the_paired_difference() -> None:
    syscall = runs({"untraced": [1000, 1100], "ftrace": [3000, 3100], "pylttng": [2000, 2100]},
                   events=200, bytes=1600, discarded=0)
    rows = figures.producer_figures({"syscall": syscall})
    ours = find(rows, "1. syscall loop: ns per event", "pylttng")
    assert ours["summary"]["median"] == 500
    assert ours["ratio"] == pytest.approx(0.5)   # ftrace: 1000 ns per event
    assert find(rows, "4. syscall loop: bytes per event", "pylttng")["summary"]["median"] == 8


def test_targets_met_and_missed() -> None:
    syscall = runs({"untraced": [1000], "ftrace": [3000], "pylttng": [3000]},
                   events=100, bytes=1000, record_bytes=900, discarded=3)
    rows = figures.producer_figures({"syscall": syscall})
    cost = find(rows, "1. syscall loop: ns per event", "pylttng")
    assert report.target_cell(cost) == "≤ 0.9 x ref: **not met**"
    discarded = find(rows, "1. syscall loop: discarded", "pylttng")
    assert "**not met**" in report.target_cell(discarded)
    size = find(rows, "4. syscall loop: bytes per event record", "pylttng")
    assert report.target_cell(size).endswith(": **not met**")   # 9 B > 8 B


def test_record_bytes_rows_only_for_tracers_that_tell() -> None:
    syscall = runs({"untraced": [1000], "ftrace": [3000]}, events=100, bytes=2400)
    syscall |= runs({"pylttng": [2000]}, events=100, bytes=1000, record_bytes=800)
    rows = figures.producer_figures({"syscall": syscall})
    record = find(rows, "4. syscall loop: bytes per event record", "pylttng")
    assert record["summary"]["median"] == 8
    assert report.target_cell(record) == "≤ 8.0 B: met"
    # Judged to 0.1 B, as the issue states it: 8.04 B is 8.0 B, 8.06 B is not.
    for record_bytes, met in ((804, True), (806, False)):
        syscall["pylttng"][0]["record_bytes"] = record_bytes
        rows = figures.producer_figures({"syscall": syscall})
        record = find(rows, "4. syscall loop: bytes per event record", "pylttng")
        verdict = report.Target(record["figure"], "pylttng", "value", 8.0,
                                decimals=1).verdict(record)
        assert verdict is (Verdict.MET if met else Verdict.NOT_MET)
    assert find(rows, "4. syscall loop: bytes per event", "pylttng")["summary"]["median"] == 10
    assert not [r for r in rows if r["figure"].endswith("record") and r["tracer"] == "ftrace"]


def test_markdown_and_plot(tmp_path: Path) -> None:
    syscall = runs({"untraced": [1000], "ftrace": [3000], "pylttng": [2000]},
                   events=100, bytes=800, discarded=0)
    results = {
        "meta": {"quick": True, "kernel": "6.1", "cpus": 2, "reps": 1, "counter": "x",
                 "buffer": {"subbuf_size": 4 << 20, "num_subbuf": 8, "bytes_per_cpu": 32 << 20}},
        "figures": figures.producer_figures({"syscall": syscall}), "errors": [],
    }
    source = tmp_path / "in.json"
    source.write_text(json.dumps(results))
    sys.argv = ["report", str(source), str(tmp_path / "out")]
    assert report.main() == 0
    table = (tmp_path / "out" / "results.md").read_text()
    assert "| 1. syscall loop: ns per event | lower | pylttng | 500 ns |" in table
    assert "≤ 0.9 x ref: met" in table
    assert (tmp_path / "out" / "results.png").read_bytes()[:4] == b"\x89PNG"


def test_consumer_figures() -> None:
    """CPU per MB over the whole trace; MB/s over what was written while the workload ran
    (not the teardown); stop + destroy apart."""
    record = {"cost": 1.0, "seconds": 1.0, "traced_s": 2.5, "bytes": 4_000_000,
              "drained_bytes": 3_000_000, "drain_s": 1.5, "stop_s": 0.1}
    consumer = {"pylttng-mmap": [record | {"consumer_cpu_s": 0.2, "consumer_setup_cpu_s": 0.5,
                                           "destroy_s": 0.02}],
                f"{STOCK_PEER}-mmap": [record | {"consumer_cpu_s": 0.1,
                                                 "consumer_setup_cpu_s": 0.1,
                                                 "destroy_s": 0.5}]}
    rows = figures.consumer_figures(consumer)
    cpu = find(rows, "5. consumer: CPU s per MB", "pylttng-mmap")
    assert cpu["summary"]["median"] == pytest.approx(0.05)   # 0.2 s / 4 MB
    assert cpu["ratio"] == pytest.approx(2.0)
    assert cpu["reference"] == f"{STOCK_PEER}-mmap"
    assert report.target_cell(cpu) == "≤ 1 x ref: **not met**"
    setup = find(rows, "5. consumer: set-up CPU per session", "pylttng-mmap")
    assert setup["summary"]["median"] == pytest.approx(0.5)
    drained = find(rows, "5. consumer: MB/s drained while tracing", "pylttng-mmap")
    assert drained["summary"]["median"] == pytest.approx(2.0)   # 3 MB in 1.5 s
    assert drained["ratio"] == pytest.approx(1.0) and drained["better"] == "higher"
    teardown = find(rows, "5. consumer: stop + destroy wall time", "pylttng-mmap")
    assert teardown["summary"]["median"] == pytest.approx(0.12)
    assert teardown["ratio"] == pytest.approx(0.2) and teardown["better"] == "lower"
    # The splice rows exist, unmeasured.
    assert find(rows, "5. consumer: CPU s per MB", "pylttng-splice")["summary"] is None


def test_memory_rows_say_how_many_sessions_were_open() -> None:
    def runs(sessions: int) -> dict[str, list[dict[str, Any]]]:
        first = {"wall_s": 0.1, "rss_idle_mib": 20.0, "memory_sessions": sessions,
                 "rss_sessions_mib": 22.0, "consumerd_rss_sessions_mib": 25.0}
        return {"pylttng": [first, {"wall_s": 0.2}],
                STOCK_PEER: [first | {"rss_sessions_mib": 11.0}, {"wall_s": 0.5}]}

    rows = figures.control_figures(runs(2))
    ours = find(rows, "6. sessiond RSS with 2 sessions", "pylttng")
    assert ours["summary"]["median"] == 22.0
    assert ours["ratio"] == pytest.approx(2.0)
    assert find(rows, "6. consumerd RSS with 2 sessions", STOCK_PEER)
    assert find(figures.control_figures(runs(10)), "6. sessiond RSS with 10 sessions",
                STOCK_PEER)["summary"]["median"] == 11.0


def test_only_steps() -> None:
    steps = [("syscall", 1), ("hackbench", 2), ("consumer", 3)]
    assert only_steps(steps, "") == steps
    assert only_steps(steps, "consumer,syscall") == [("syscall", 1), ("consumer", 3)]
    with pytest.raises(ValueError, match="unknown step.*: nope"):
        only_steps(steps, "syscall,nope")


@dataclass
class FakeTracer:
    name: str
    daemon: str


def test_smoke_run_starts_each_daemon_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full run: one phase, every tracer compared within each step.  Smoke run: one phase
    per session daemon, each step given only the tracers of that daemon."""
    assert run.phases(False) == [frozenset({"", "pylttng", "stock"})]
    assert run.phases(True) == [frozenset({""}), frozenset({"pylttng"}), frozenset({"stock"})]
    given: list[list[str]] = []
    monkeypatch.setattr(run, "compare", lambda workload, tracers, *rest: given.append(
        [t.name for t in tracers]) or {})
    tracers = [FakeTracer("perf", ""), FakeTracer("pylttng", "pylttng"),
               FakeTracer(STOCK_PEER, "stock")]
    step = run.tracer_step(None, tracers, 1, Path("/nowhere"), [])  # type: ignore[arg-type]
    assert step.daemons == frozenset({"", "pylttng", "stock"})
    for phase in run.phases(True):
        step.run(phase)
    step.run(run.phases(False)[0])
    assert given == [["perf"], ["pylttng"], [STOCK_PEER], ["perf", "pylttng", STOCK_PEER]]
    assert run.kinds_in(frozenset({"", "stock"})) == ["stock"]


def test_summary_spread() -> None:
    summary = summarize([1.0, 2.0, 3.0])
    assert summary is not None and summary.median == 2.0 and summary.spread == 1.0
    assert summarize([]) is None


def test_cpu_seconds_of_another_process() -> None:
    """Read to the nanosecond, not in 10 ms ticks, and including threads that ended."""
    from bench.tracers import cpu_seconds

    code = ("import threading\n"
            "def spin():\n"
            "    x = 0\n"
            "    for i in range(2_000_000): x += i\n"
            "t = threading.Thread(target=spin); t.start(); t.join()\n"
            "import sys; sys.stdout.write('done\\n'); sys.stdout.flush()\n"
            "sys.stdin.read()\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "done\n"
        spent = cpu_seconds(child.pid)
        fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        assert spent > 0.01  # the ended thread's loop is counted
        assert abs(spent - ticks) < 0.05
        assert spent != round(spent, 2)  # finer than a tick
    finally:
        child.communicate("")
    with pytest.raises(OSError):
        cpu_seconds(child.pid)  # reaped: no such process


def test_guest_time_counts_busy_and_idle_cpu_seconds() -> None:
    start = run.GuestTime.now()
    deadline = start.wall + 0.2
    while run.GuestTime.now().wall < deadline:
        pass  # busy: this process's CPU time is counted in /proc/stat
    took = run.GuestTime.now().since(start)
    assert took["wall_s"] >= 0.2
    assert took["busy_s"] > 0
    assert took["idle_s"] >= 0
    # All CPUs together: busy + idle cannot exceed wall time x CPUs (ticks round up to 0.01).
    assert took["busy_s"] + took["idle_s"] <= took["wall_s"] * (os.cpu_count() or 1) + 0.1


def test_report_says_how_long_the_run_took_when_recorded() -> None:
    sentence = report.guest_time_sentence({"wall_s": 31.0, "busy_s": 22.3, "idle_s": 9.5})
    assert "31.0 s of the guest's clock" in sentence
    assert "busy 22.3 s and idle 9.5 s" in sentence
    assert report.guest_time_sentence(None) == ""


# --- verdicts: on ranges, never on medians alone ------------------------------------------

@pytest.mark.parametrize("ours, limit, verdict", [
    ((1.0, 2.0), (3.0, 4.0), Verdict.MET),          # wholly below
    ((5.0, 6.0), (3.0, 4.0), Verdict.NOT_MET),      # wholly above
    ((2.0, 3.5), (3.0, 4.0), Verdict.UNDECIDED),    # overlapping
    ((1.0, 3.0), (3.0, 4.0), Verdict.UNDECIDED),    # a shared end is an overlap
    ((3.0, 3.0), (3.0, 3.0), Verdict.UNDECIDED),    # one run each, equal
    ((0.5, 9.0), (3.0, 4.0), Verdict.UNDECIDED),    # ours spans the limit's range
])
def test_at_most_compares_ranges(ours: tuple[float, float], limit: tuple[float, float],
                                 verdict: Verdict) -> None:
    assert at_most(*ours, *limit) is verdict


@pytest.mark.parametrize("low, high, bound, exact, verdict", [
    (7.0, 8.0, 8.0, False, Verdict.MET),            # every run within the bound
    (8.1, 9.0, 8.0, False, Verdict.NOT_MET),        # none
    (7.0, 9.0, 8.0, False, Verdict.UNDECIDED),      # runs on both sides
    (0.0, 0.0, 0.0, True, Verdict.MET),
    (1.0, 3.0, 0.0, True, Verdict.NOT_MET),
    (0.0, 2.0, 0.0, True, Verdict.UNDECIDED),
])
def test_within_bound(low: float, high: float, bound: float, exact: bool,
                      verdict: Verdict) -> None:
    assert within_bound(low, high, bound, exact) is verdict


def hackbench_slowdown(ftrace: list[float], ours: list[float]) -> dict[str, Any]:
    hackbench = runs({"untraced": [1.0] * len(ours), "ftrace": ftrace, "pylttng": ours},
                     events=100, bytes=100)
    return find(figures.producer_figures({"hackbench": hackbench}), "2. hackbench: slowdown",
                "pylttng")


def test_a_lower_median_with_overlapping_ranges_is_undecided() -> None:
    """The full run on 785bb94: pylttng 1.00 (0.861-1.29) against ftrace 1.21
    (0.982-1.28), a ratio of 0.83, was reported as "<= 1x ftrace: met"."""
    row = hackbench_slowdown([0.982, 1.21, 1.28], [0.861, 1.00, 1.29])
    assert row["ratio"] < 1
    assert row["reference_summary"]["low"] == pytest.approx(0.982)
    assert report.target_cell(row) == "≤ 1 x ref: undecided (ranges overlap)"
    assert report.target_cell(hackbench_slowdown([0.982, 1.21, 1.28], [0.8, 0.85, 0.9])) \
        == "≤ 1 x ref: met"
    assert report.target_cell(hackbench_slowdown([0.982, 1.21, 1.28], [1.3, 1.4, 1.5])) \
        == "≤ 1 x ref: **not met**"


def test_the_bound_scales_the_reference_range() -> None:
    """≤ 0.9 x ftrace: ours must lie below 0.9 x ftrace's lowest run."""
    def cost(ours: list[float]) -> str:
        syscall = runs({"untraced": [0.0, 0.0], "ftrace": [1900.0, 2000.0], "pylttng": ours},
                       events=100, bytes=800)
        return report.target_cell(find(figures.producer_figures({"syscall": syscall}),
                                       "1. syscall loop: ns per event", "pylttng"))
    # Per event: ftrace 950-1000 ns, so the limit spans 855-900 ns.
    assert cost([1700.0, 1760.0]) == "≤ 0.9 x ref: undecided (ranges overlap)"  # ratio 0.89
    assert cost([1600.0, 1700.0]) == "≤ 0.9 x ref: met"                        # 800-850 ns
    assert cost([1820.0, 1900.0]) == "≤ 0.9 x ref: **not met**"                # 910-950 ns


@pytest.mark.parametrize("target", report.TARGETS, ids=lambda t: f"{t.figure}/{t.tracer}")
def test_every_target_is_judged_on_ranges(target: report.Target) -> None:
    """A median on the right side is not enough: a range across the limit is undecided."""
    bound = target.bound
    if target.on == "ratio":
        summary = {"median": 0.5 * bound, "low": 0.4 * bound, "high": 1.2 * bound, "runs": 5}
        row = {"summary": summary, "ratio": 0.5 * bound,
               "reference_summary": {"median": 1.0, "low": 0.9, "high": 1.1, "runs": 5}}
    elif target.exact:
        row = {"summary": {"median": bound, "low": bound, "high": bound + 3, "runs": 5}}
    else:
        row = {"summary": {"median": bound / 2, "low": bound / 2, "high": 2 * bound + 1,
                           "runs": 5}}
    assert target.verdict(row | {"figure": target.figure, "tracer": target.tracer}) \
        is Verdict.UNDECIDED
    assert target.verdict({"summary": None}) is None


def test_a_reference_row_is_not_its_own_ratio() -> None:
    syscall = runs({"untraced": [1000], "ftrace": [3000], "pylttng": [2000]}, events=100,
                   bytes=800)
    rows = figures.producer_figures({"syscall": syscall})
    ftrace = find(rows, "1. syscall loop: ns per event", "ftrace")
    assert ftrace["ratio"] is None and ftrace["reference_summary"] is None
    assert find(rows, "1. syscall loop: ns per event", "pylttng")["reference"] == "ftrace"


# --- the plot ---------------------------------------------------------------------------

def test_plot_groups_one_panel_per_workload() -> None:
    syscall = runs({"untraced": [1000, 1000], "ftrace": [3000, 3200], "perf": [5000, 5000],
                    "pylttng": [2000, 2100]}, events=100, bytes=800, discarded=0)
    hackbench = runs({"untraced": [1.0], "ftrace": [1.2], "pylttng": [1.1]}, events=100,
                     bytes=4000)
    control = {"pylttng": [{"wall_s": 0.1, "rss_idle_mib": 24.0}],
               STOCK_PEER: [{"wall_s": 0.5, "rss_idle_mib": 10.0}]}
    rows = (figures.producer_figures({"syscall": syscall, "hackbench": hackbench})
            + figures.control_figures(control))
    panels = report.plot_groups(rows)
    assert list(panels) == ["syscall loop", "hackbench", "control plane"]
    cost = panels["syscall loop"][0]
    assert cost.name == "ns per event" and cost.better == "lower"
    assert [b.tracer for b in cost.bars] == ["ftrace", "perf", "pylttng"]
    ftrace, _, ours = cost.bars
    # ftrace: 1000-1100 ns per event, median 1050; pylttng 500-550.
    assert (ftrace.median, ftrace.low, ftrace.high) == pytest.approx((1, 1000 / 1050,
                                                                      1100 / 1050))
    assert (ours.median, ours.low, ours.high) == pytest.approx((0.5, 500 / 1050, 550 / 1050))
    assert cost.targets == ["target ≤ 0.9 x ref: met"]
    # Figures without a reference (events recorded, discarded) are left to the table.
    assert [g.name for g in panels["syscall loop"]] == ["ns per event", "bytes per event"]
    assert [g.better for g in panels["hackbench"]] == ["lower", "higher", "lower"]
    assert [g.name for g in panels["control plane"]] == [
        "create..destroy wall time", "sessiond RSS idle"]
    assert report.peer_label(f"{STOCK_PEER}-mmap") == "stock daemons/pylttng.ko (mmap)"
    record = {"bytes": 4_000_000, "consumer_cpu_s": 0.1, "drained_bytes": 10**6, "drain_s": 1.0}
    consumer = figures.consumer_figures({f"pylttng-{o}": [record] for o in ("mmap", "splice")}
                                        | {f"{STOCK_PEER}-{o}": [record]
                                           for o in ("mmap", "splice")})
    panels = report.plot_groups(consumer)
    assert list(panels) == ["consumer, --output mmap", "consumer, --output splice"]
    assert [g.name for g in panels["consumer, --output mmap"]] == [
        "MB/s drained while tracing", "CPU s per MB"]
    assert [b.tracer for b in panels["consumer, --output splice"][0].bars] == [
        f"{STOCK_PEER}-splice", "pylttng-splice"]
    labels = [b.tracer for gs in panels.values() for g in gs for b in g.bars]
    assert "None" not in labels and None not in labels


# --- the loss search --------------------------------------------------------------------

def fake_steps(loses_above: float, ceiling: float) -> Any:
    """A tracer that loses 1 % of what is offered above `loses_above` ev/s, and a producer
    that cannot offer more than `ceiling`."""
    asked: list[float] = []

    def run_step(target: float) -> dict[str, Any]:
        asked.append(target)
        offered = min(target, ceiling)
        lost = round(offered * 0.01) if offered > loses_above else 0
        return control.loss_step(round(offered) - lost, lost, 1.0, target, 16 * round(offered))
    return run_step, asked


def test_the_search_goes_up_until_the_trace_shows_a_loss() -> None:
    run_step, asked = fake_steps(loses_above=1_000_000, ceiling=2_000_000)
    found = control.search_loss(run_step, control.RateSearch(600_000, 1.2, 10, 1.0))
    assert asked == pytest.approx([600_000, 720_000, 864_000, 1_036_800])
    assert found["ended"] == "loss"
    assert found["highest_without_loss"]["offered_per_s"] == pytest.approx(864_000)
    lossy = found["first_with_loss"]
    assert lossy["discarded"] == 10_368 and lossy["offered_per_s"] == pytest.approx(1_036_800)
    rows = figures.max_rate_figures({"pylttng": found, STOCK_PEER: found})
    best = find(rows, "7. highest rate without loss (default channel)", "pylttng")
    assert best["summary"]["median"] == pytest.approx(864_000) and best["better"] == "higher"
    assert best["ratio"] == pytest.approx(1.0)
    assert find(rows, "7. first rate with loss (default channel)", "pylttng")[
        "summary"]["median"] == pytest.approx(1_036_800)


def test_the_search_is_bounded_and_says_why_it_found_no_loss() -> None:
    run_step, asked = fake_steps(loses_above=10**9, ceiling=800_000)
    found = control.search_loss(run_step, control.RateSearch(600_000, 1.2, 10, 1.0))
    assert found["ended"] == "ceiling" and found["first_with_loss"] is None
    assert asked == pytest.approx([600_000, 720_000, 864_000])  # offered 800,000 < 0.95 x
    run_step, asked = fake_steps(loses_above=10**9, ceiling=10**9)
    found = control.search_loss(run_step, control.RateSearch(600_000, 1.2, 3, 1.0))
    assert found["ended"] == "bound" and len(asked) == 3
    rows = figures.max_rate_figures({"pylttng": found})
    lossy = find(rows, "7. first rate with loss (default channel)", "pylttng")
    assert lossy["summary"] is None
    assert lossy["note"] == "no loss up to 864,000 ev/s (the search's bound)"
    results = {"meta": {"quick": True, "kernel": "6.1", "cpus": 1, "reps": 1, "counter": "x",
                        "buffer": {"subbuf_size": 4 << 20, "num_subbuf": 8,
                                   "bytes_per_cpu": 32 << 20}},
               "figures": rows, "errors": []}
    assert "| — no loss up to 864,000 ev/s (the search's bound) |" in report.markdown(results)


def test_the_paced_loop_asks_syscall_loop_for_its_rate() -> None:
    from bench.workloads import SyscallLoop

    assert SyscallLoop(Path("loop"), 10).command() == ["loop", "10", "1"]
    assert SyscallLoop(Path("loop"), 10, 1, rate=518_400.4).command() == [
        "loop", "10", "1", "0", "518400"]
