"""Issue 2 acceptance: the stock lttng CLI traces through pylttng, babeltrace2 reads it."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
from conftest import (
    Lttng,
    assert_forks_and_execs,
    assert_sched_switch_fields,
    fork_exec_workload,
    read_kernel_trace,
)


@pytest.mark.fresh_daemon
def test_trace_fork_and_exec_read_by_babeltrace2(lttng: Lttng) -> None:
    created = lttng.ok("create", "demo")
    assert "Spawning a session daemon" in created.out
    assert "Session demo created." in created.out
    enabled = lttng.ok("enable-event", "-k", "sched_switch,sched_process_fork,sched_process_exec")
    for name in ("sched_switch", "sched_process_fork", "sched_process_exec"):
        assert f"kernel event {name} created in channel channel0" in enabled.out
    assert lttng.ok("start").out.strip() == "Tracing started for session demo"
    pids = fork_exec_workload(5)
    time.sleep(0.5)
    stopped = lttng.ok("stop")
    assert "Tracing stopped for session demo" in stopped.out
    lttng.ok("destroy")

    lines = read_kernel_trace(lttng, "demo", "--clock-date")
    assert_sched_switch_fields(lines)

    # Wall-clock timestamps: the clock offset maps to today's date and time.
    stamp = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d+\]", lines[0])
    assert stamp, lines[0]
    when = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert abs(when.timestamp() - time.time()) < 600, f"timestamp far from now: {lines[0]}"

    assert_forks_and_execs(lines, pids)


def test_repeated_commands_and_bad_input(lttng: Lttng) -> None:
    lttng.ok("create", "dup")
    again = lttng("create", "dup")
    assert (again.rc, again.err.strip()) == (1, "Error: Session name already exists")

    pending = lttng("enable-event", "-k", "no_such_tracepoint_xyz")
    assert pending.rc == 0
    assert "kernel event no_such_tracepoint_xyz created in channel channel0" in pending.out

    lttng.ok("enable-event", "-k", "sched_switch")
    twice = lttng("enable-event", "-k", "sched_switch")
    assert twice.rc == 35
    assert ("Warning: Kernel event sched_switch already enabled (channel channel0, session dup)"
            in twice.text)

    lttng.ok("start")
    started = lttng("start")
    assert started.rc == 80
    assert "Warning: Tracing already started for session dup" in started.text

    lttng.ok("stop")
    stopped = lttng("stop")
    assert stopped.rc == 81
    assert "Warning: Tracing already stopped for session dup" in stopped.text

    unknown = lttng("destroy", "nosuch")
    assert (unknown.rc, unknown.err.strip()) == (23, "Error: Session name nosuch not found")

    bad = lttng("enable-channel", "-k", "--num-subbuf", "0", "c3")
    assert bad.rc == 1
    assert "Error: Wrong value in --num-subbuf parameter: 0" in bad.text

    # The daemon carried on through all of that.
    listed = lttng.ok("list", "dup")
    assert listed.out.startswith("Recording session dup: [inactive]")
    lttng.ok("destroy", "dup")
