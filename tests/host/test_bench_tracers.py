"""bench/tracers.py housekeeping that needs no VM: what close() leaves to undo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The checkout root holds the bench package; appended so it cannot shadow pylttng.
sys.path.append(str(Path(__file__).resolve().parents[2]))

from bench import tracers
from bench.tracers import Daemons, EventSet, Ftrace, Lttng, TraceCmd, TracerError

SCHED_SWITCH = EventSet("sched", tracepoints=(("sched", "sched_switch"),))


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every process the tracers would start, recorded instead of run."""
    started: list[list[str]] = []

    def fake_run(cmd: list[str], *args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        started.append(list(cmd))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(tracers.subprocess, "run", fake_run)
    return started


def test_close_without_start_touches_nothing(commands: list[list[str]],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """run.py closes every tracer after every step: the ones a step did not use must not
    reset tracefs (that waits for perf's event mutex) nor start processes."""
    writes: list[str] = []
    monkeypatch.setattr(Ftrace, "_write", lambda self, name, value: writes.append(str(name)))
    ftrace = Ftrace()
    commands.clear()  # a host without tracefs mounted: Ftrace() mounts it
    ftrace.close()
    TraceCmd().close()
    Lttng(Daemons(Path("/nonexistent")), "pylttng").close()
    assert writes == [] and commands == []

    ftrace.start(SCHED_SWITCH, Path("/nonexistent"))
    writes.clear()
    ftrace.close()
    assert "events/enable" in writes and "buffer_size_kb" in writes
    writes.clear()
    ftrace.close()  # the second close has nothing left to undo
    assert writes == []


def test_trace_cmd_is_reset_once_after_a_start(commands: list[list[str]],
                                               monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    """Even after a start that failed (trace-cmd exited at once)."""
    read_end, write_end = os.pipe()
    os.close(write_end)

    class ExitedAtOnce:
        stdout = os.fdopen(read_end)

        def poll(self) -> int:
            return 1

    monkeypatch.setattr(tracers.subprocess, "Popen", lambda *a, **k: ExitedAtOnce())
    trace_cmd = TraceCmd()
    try:
        with pytest.raises(TracerError):
            trace_cmd.start(SCHED_SWITCH, tmp_path)
    finally:
        ExitedAtOnce.stdout.close()
    trace_cmd.close()
    trace_cmd.close()
    assert commands == [["trace-cmd", "reset"]]
