"""The work that is traced: each workload runs to completion and says how long it took.

`Outcome.cost` is the workload's own figure of slowness (higher is slower): ns per call
for the syscall loop, seconds for hackbench, seconds per bogo operation for stress-ng.
The slowdown under a tracer is traced cost / untraced cost.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .tracers import EventSet

GETPID = EventSet("getpid", syscalls=("getpid",))
SCHED = EventSet("sched", tracepoints=(("sched", "sched_switch"), ("sched", "sched_wakeup"),
                                       ("sched", "sched_waking")))
EVERYTHING = EventSet("everything", syscalls=("*",), tracepoints=(("*", "*"),))


class WorkloadError(RuntimeError):
    """The workload failed or printed nothing we can read: the run is invalid."""


@dataclass(frozen=True)
class Outcome:
    cost: float      # the workload's own measure, higher is slower (see the module doc)
    seconds: float   # wall time of the work, for events per second
    detail: str = ""


class Workload(Protocol):
    name: str
    events: EventSet

    def run(self) -> Outcome: ...


def execute(cmd: list[str], timeout: float = 1800,
            success: tuple[int, ...] = (0,)) -> tuple[str, float]:
    """Run the work; its output and wall time, or WorkloadError if it exits with a code
    not in `success`.

    In its own process group, its output in a file: workers that outlive their parent
    (stress-ng's) are killed with the group, and hold no pipe that would keep us waiting.
    """
    with tempfile.TemporaryFile() as sink:
        begin = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
        seconds = time.monotonic() - begin
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        sink.seek(0)
        out = sink.read().decode(errors="replace")
    if rc not in success:
        why = f"timed out after {timeout:g} s" if rc is None else f"exited {rc}"
        raise WorkloadError(f"{' '.join(cmd)} {why}: {out[-2000:]}")
    return out, seconds


@dataclass
class SyscallLoop:
    """bench/syscall_loop.c: getpid(2) `calls` times per thread, thread i on CPU i; with
    `rate`, each thread paced to that many calls per second."""

    binary: Path
    calls: int
    threads: int = 1
    name: str = "syscall"
    events: EventSet = GETPID
    rate: float = 0  # calls per second per thread; 0: as fast as it can

    def command(self) -> list[str]:
        pace = ["0", f"{self.rate:.0f}"] if self.rate > 0 else []
        return [str(self.binary), str(self.calls), str(self.threads), *pace]

    def run(self) -> Outcome:
        out, _ = execute(self.command())
        return self.outcome(out)

    @staticmethod
    def outcome(out: str) -> Outcome:
        """The timing syscall_loop printed."""
        found = re.search(r"ns=(\d+) ns_per_call=([\d.]+)", out)
        if found is None:
            raise WorkloadError(f"syscall_loop printed no timing: {out!r}")
        return Outcome(cost=float(found.group(2)), seconds=int(found.group(1)) / 1e9,
                       detail=out.strip())


@dataclass
class Hackbench:
    """rt-tests hackbench: groups of senders and receivers over sockets; its Time: line.

    All its tasks run on CPU 0 (taskset).  In a guest with two TCG vCPUs (run turn by turn
    on one host thread), spread over both, its time varied from 0.5 to 2.9 times the
    untraced run's under one tracer (8 runs); on one CPU, from 0.9 to 1.5.  The bench
    guest now has one vCPU (bench/README.md, the guest's clock).
    """

    groups: int
    loops: int
    name: str = "hackbench"
    events: EventSet = SCHED
    cpu: int | None = 0  # None: wherever the scheduler puts them

    def run(self) -> Outcome:
        pin = ["taskset", "-c", str(self.cpu)] if self.cpu is not None else []
        out, _ = execute([*pin, "hackbench", "-g", str(self.groups), "-l", str(self.loops)])
        found = re.search(r"Time:\s+([\d.]+)", out)
        if found is None:
            raise WorkloadError(f"hackbench printed no time: {out!r}")
        return Outcome(cost=float(found.group(1)), seconds=float(found.group(1)))


@dataclass
class StressNg:
    """stress-ng for a fixed time (or fewer operations); cost = seconds per bogo op,
    geometric mean over the stressors (each has its own scale of operations)."""

    seconds: int
    ops: int = 0  # stop each stressor after this many bogo ops (0: run for the time)
    stressors: tuple[str, ...] = ("switch", "fork", "pipe")
    name: str = "stress-ng"
    events: EventSet = EVERYTHING

    def run(self) -> Outcome:
        cmd = ["stress-ng", "--timeout", f"{self.seconds}s", "--metrics-brief"]
        for stressor in self.stressors:
            cmd += [f"--{stressor}", "1"]
            if self.ops > 0:
                cmd += [f"--{stressor}-ops", str(self.ops)]
        out, wall = execute(cmd, timeout=self.seconds * 20 + 120)
        rates = []
        for stressor in self.stressors:
            # "stress-ng: metrc: [pid] switch  123456  10.00  0.5  9.4  12345.60  ..."
            found = re.search(rf"\]\s+{stressor}\s+(\d+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+"
                              r"([\d.]+)", out)
            if found is None or float(found.group(3)) <= 0:
                raise WorkloadError(f"stress-ng printed no rate for {stressor}: {out[-1500:]}")
            rates.append(float(found.group(3)))
        mean_rate = math.exp(sum(math.log(r) for r in rates) / len(rates))
        return Outcome(cost=1 / mean_rate, seconds=wall, detail=out[-600:])
