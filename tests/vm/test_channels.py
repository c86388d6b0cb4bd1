"""Issue 3, channels: enable-channel -k options take effect in the kernel ring buffer."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import DISCARDED_EVENTS, Lttng, babeltrace2_lines, fork_exec_workload
from differential import Transcript, assert_same_transcripts, run_on_both


def stream_bytes(lttng: Lttng, session: str, channel: str) -> int:
    [trace] = lttng.traces(session)
    return sum(f.stat().st_size for f in Path(trace, "kernel").glob(f"{channel}_*"))


def test_switch_timer_delivers_packets_without_flush(daemon: Lttng) -> None:
    lttng = daemon
    lttng.ok("create", "sw")
    # 1 MiB sub-buffers never fill in 3 s of sched_switch on an idle guest.
    lttng.ok("enable-channel", "-k", "--switch-timer", "200000", "timed")
    lttng.ok("enable-channel", "-k", "untimed")
    lttng.ok("enable-event", "-k", "-c", "timed", "sched_switch")
    lttng.ok("enable-event", "-k", "-c", "untimed", "sched_switch")
    listed = lttng.ok("list", "sw")
    assert "Switch timer:     200000 us" in listed.out, listed.out
    lttng.ok("start")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and stream_bytes(lttng, "sw", "timed") == 0:
        time.sleep(0.5)
    timed = stream_bytes(lttng, "sw", "timed")
    untimed = stream_bytes(lttng, "sw", "untimed")
    lttng.ok("stop")
    lttng.ok("destroy")
    assert timed > 0, "switch timer produced no packet while tracing"
    assert untimed == 0, "a channel without switch timer got a packet before stop"
    # A packet every 200 ms fills the timed channel's four sub-buffers in 0.8 s: a consumer
    # slower than that for a while (the debug kernel's, while it starts) makes it discard,
    # which babeltrace2 reports.
    [trace] = lttng.traces("sw")
    lines = babeltrace2_lines(trace, tolerated=DISCARDED_EVENTS)
    assert sum(" sched_switch: " in line for line in lines) > 10


def channel_options(t: Transcript) -> None:
    """Every enable-channel -k option a user types, accepted or refused, then listed with
    the statistics of a run (nothing discarded, nothing lost on an idle guest)."""
    t("create", "opts", "-o", str(t.scratch / "opts"))
    t("enable-channel", "-k", "mon", "--monitor-timer", "250000", "--read-timer", "100000")
    t("enable-channel", "-k", "nomon", "--monitor-timer", "0")
    t("enable-channel", "-k", "files", "--subbuf-size", "8k", "--tracefile-size", "65536",
      "--tracefile-count", "4")
    t("enable-channel", "-k", "one", "--subbuf-size", "4k", "--num-subbuf", "1", "--discard")
    t("enable-channel", "-k", "ow1", "--subbuf-size", "4k", "--num-subbuf", "1", "--overwrite")
    t("enable-channel", "-k", "blk", "--blocking-timeout", "100")
    t("enable-channel", "-k", "buf", "--buffers-pid")
    t("enable-channel", "-k", "mmap", "--output", "mmap", "--switch-timer", "50000")
    t("enable-event", "-k", "-c", "mon", "sched_switch")
    t("enable-event", "-k", "-c", "one", "sched_process_fork")
    t("list", "opts")
    t("start")
    fork_exec_workload(5)
    t("stop")
    t("list", "opts")
    t("--mi", "xml", "list", "opts")
    t("destroy")


def test_channel_options_as_the_stock_daemon(lttng: Lttng, tmp_path: Path) -> None:
    assert_same_transcripts(*run_on_both(lttng, tmp_path, channel_options))
