"""bench/streaming.py and figure 8 (streaming through lttng-relayd), from synthetic runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# The checkout root holds the bench package; appended so it cannot shadow pylttng.
sys.path.append(str(Path(__file__).resolve().parents[2]))

from bench import figures, report
from bench.relayd import Relayd
from bench.streaming import StreamingLttng, missing_events, streaming_loop, streaming_tracers
from bench.tracers import STOCK_PEER, Daemons


def find(rows: list[dict[str, Any]], figure: str, tracer: str) -> dict[str, Any]:
    return next(r for r in rows if r["figure"] == figure and r["tracer"] == tracer)


def streamed(consumer_cpu_s: float, relayd_cpu_s: float, stop_s: float,
             events: int | None = 100_000) -> dict[str, Any]:
    return {"cost": 1.0, "seconds": 1.0, "bytes": 8_000_000, "drained_bytes": 4_000_000,
            "drain_s": 2.0, "stop_s": stop_s, "destroy_s": 0.1, "events": events,
            "discarded": 0, "consumer_cpu_s": consumer_cpu_s, "relayd_cpu_s": relayd_cpu_s}


def test_streaming_figures() -> None:
    """MB/s while tracing = what the relay daemon held when the workload ended; start to
    stop = the whole trace over start..stop; CPU per MB of the consumer and of the relay
    daemon apart; the counts side by side, without a ratio."""
    runs = {"pylttng-mmap": [streamed(0.4, 0.2, 0.5)],
            f"{STOCK_PEER}-mmap": [streamed(0.2, 0.1, 0.0, events=None),
                                   streamed(0.2, 0.1, 0.0, events=100_002)]}
    rows = figures.streaming_figures(runs)
    live = find(rows, "8. streaming: MB/s received while tracing", "pylttng-mmap")
    assert live["summary"]["median"] == pytest.approx(2.0)   # 4 MB in 2 s
    assert live["better"] == "higher" and live["ratio"] == pytest.approx(1.0)
    whole = find(rows, "8. streaming: MB/s received, start to stop", "pylttng-mmap")
    assert whole["summary"]["median"] == pytest.approx(3.2)   # 8 MB in 2.5 s
    assert whole["ratio"] == pytest.approx(0.8)   # stock: 8 MB in 2.0 s
    cpu = find(rows, "8. streaming: consumer CPU s per MB", "pylttng-mmap")
    assert cpu["summary"]["median"] == pytest.approx(0.05) and cpu["better"] == "lower"
    assert cpu["ratio"] == pytest.approx(2.0) and cpu["reference"] == f"{STOCK_PEER}-mmap"
    relayd = find(rows, "8. streaming: relayd CPU s per MB", "pylttng-mmap")
    assert relayd["summary"]["median"] == pytest.approx(0.025)
    assert relayd["ratio"] == pytest.approx(2.0)
    # Only the counted run of the stock peer counts; no ratio on counts.
    counted = find(rows, "8. streaming: events recorded", STOCK_PEER + "-mmap")
    assert counted["summary"]["runs"] == 1 and counted["summary"]["median"] == 100_002
    for figure in ("8. streaming: events recorded", "8. streaming: discarded"):
        ours = find(rows, figure, "pylttng-mmap")
        assert ours["reference"] is None and ours["ratio"] is None
    assert find(rows, "8. streaming: events recorded", "pylttng-mmap")["better"] == ""
    # Unmeasured splice rows are there, empty; no target judges these figures.
    assert find(rows, "8. streaming: consumer CPU s per MB", "pylttng-splice")["summary"] is None
    assert all(report.target_cell(r) == "" for r in rows)


def test_streaming_panels_one_per_output_mode() -> None:
    runs = {f"{peer}-{output}": [streamed(0.1, 0.1, 0.1)]
            for peer in ("pylttng", STOCK_PEER) for output in ("mmap", "splice")}
    panels = report.plot_groups(figures.streaming_figures(runs))
    assert list(panels) == ["streaming, --output mmap", "streaming, --output splice"]
    assert [g.name for g in panels["streaming, --output mmap"]] == [
        "MB/s received while tracing", "MB/s received, start to stop", "consumer CPU s per MB",
        "relayd CPU s per MB"]
    assert [b.tracer for b in panels["streaming, --output splice"][0].bars] == [
        f"{STOCK_PEER}-splice", "pylttng-splice"]


def test_missing_events() -> None:
    assert missing_events(100_030, 0, 100_000) == 0   # other processes' getpid calls too
    assert missing_events(99_000, 1_000, 100_000) == 0   # counted as discarded
    assert missing_events(99_000, 0, 100_000) == 1_000
    assert missing_events(None, None, 100_000) == 0   # not counted (a later run)


def test_streaming_tracers_share_one_relayd() -> None:
    loop = streaming_loop(Path("/nonexistent/syscall_loop"), 1_000)
    peers = streaming_tracers(Daemons(Path("/nonexistent")), Path("/nonexistent/work"), loop,
                              0, ("pylttng", "stock"))
    assert [p.name for p in peers] == ["pylttng-mmap", "pylttng-splice",
                                       f"{STOCK_PEER}-mmap", f"{STOCK_PEER}-splice"]
    assert len({id(p.relayd) for p in peers}) == 1
    assert all(p.expected_events == 2_000 for p in peers)
    assert loop.name == "streaming" and loop.threads == 1


def test_trace_dir_is_the_relayds_folder_for_the_session(tmp_path: Path) -> None:
    """HOST/SESSION-DATE under the relay daemon's output; a session whose name is a prefix
    of another's is not confused with it."""
    relayd = Relayd(tmp_path / "relayd", "127.0.0.1", 1, 2, 3)
    peer = StreamingLttng(Daemons(tmp_path / "home"), "pylttng", "mmap", relayd, 2, 0)
    peer._name = "bench12"
    assert not peer._trace_dir().exists()   # not made yet
    (tmp_path / "relayd/host/bench123-20261206-172000/kernel").mkdir(parents=True)
    assert not peer._trace_dir().exists()
    mine = tmp_path / "relayd/host/bench12-20261206-172000"
    (mine / "kernel").mkdir(parents=True)
    (mine / "kernel/bench_0").write_bytes(b"x" * 10)
    (mine / "kernel/metadata").write_bytes(b"y")
    assert peer._trace_dir() == mine
    assert peer._stream_bytes() == 10
