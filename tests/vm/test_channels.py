"""Issue 3, channels: enable-channel -k options take effect in the kernel ring buffer."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import Lttng, read_trace


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
    lines = read_trace(lttng, "sw")
    assert sum(" sched_switch: " in line for line in lines) > 10
