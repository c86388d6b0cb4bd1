"""The benchmark inside the test VM: every workload untraced and under every tracer.

    python3 -m bench.run --out DIR [--quick] [--only STEP,...] [--reps N]

Writes DIR/results.json (raw runs and derived figures) and logs progress on stdout;
bench/report.py turns the JSON into results.md and results.png on the host. Any tracer
or workload that fails to run fails the whole run (exit 1), so the smoke run catches rot.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from . import figures
from .control import KINDS, RateSearch, control_plane, highest_rate
from .streaming import streaming_loop, streaming_tracers
from .tracers import (
    BUFFER_BYTES_PER_CPU,
    NUM_SUBBUF,
    SUBBUF_SIZE,
    Daemons,
    Ftrace,
    Lttng,
    Perf,
    TraceCmd,
    Tracer,
    Untraced,
)
from .workloads import Hackbench, StressNg, SyscallLoop, Workload


@dataclass(frozen=True)
class Sizes:
    """How much work each run does: the full run stays under ~20 minutes under TCG."""

    reps: int
    syscall_calls: int
    hackbench_groups: int
    hackbench_loops: int
    stress_seconds: int
    stress_ops: int  # per stressor, 0: as many as the time allows
    consumer_calls: int
    max_rate: RateSearch
    control_reps: int
    memory_sessions: int  # sessions open while the daemons' memory is read


FULL = Sizes(reps=5, syscall_calls=100_000, hackbench_groups=2, hackbench_loops=50,
             stress_seconds=2, stress_ops=0, consumer_calls=2_000_000,
             max_rate=RateSearch(start_ev_s=600_000, factor=1.1, steps=12, seconds=0.8),
             control_reps=5, memory_sessions=10)
# The smoke run: every code path once, at sizes where the daemons' starts dominate.
QUICK = Sizes(reps=1, syscall_calls=20_000, hackbench_groups=1, hackbench_loops=10,
              stress_seconds=1, stress_ops=20, consumer_calls=50_000,
              max_rate=RateSearch(start_ev_s=600_000, factor=2.0, steps=2, seconds=0.1),
              control_reps=1, memory_sessions=2)


# The kernel's clock: what a CLOCK_MONOTONIC read (every LTTng event's timestamp) costs.
CLOCKSOURCE = Path("/sys/devices/system/clocksource/clocksource0")
PROC_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class GuestTime:
    """The guest's clock and its CPUs' busy and idle time so far, in seconds.

    Much of a step can be spent waiting (the stock lttng-sessiond's destroy waits ~0.5 s on
    a timer, for one): the log and results.json say how much, so a slow step shows whether
    it computes or waits.
    """

    wall: float
    busy: float
    idle: float

    @staticmethod
    def now() -> GuestTime:
        # /proc/stat's first line, all CPUs: user nice system idle iowait irq softirq steal
        # (guest time is already counted in user), in clock ticks.
        ticks = [int(f) for f in PROC_STAT.read_text().split("\n", 1)[0].split()[1:9]]
        hz = os.sysconf("SC_CLK_TCK")
        idle = ticks[3] + ticks[4]
        return GuestTime(time.monotonic(), (sum(ticks) - idle) / hz, idle / hz)

    def since(self, start: GuestTime) -> dict[str, float]:
        return {"wall_s": round(self.wall - start.wall, 2),
                "busy_s": round(self.busy - start.busy, 2),
                "idle_s": round(self.idle - start.idle, 2)}


# The session daemons a run needs (Tracer.daemon: "pylttng", "stock", "" for none).
Phase = frozenset[str]
EVERY_DAEMON: Phase = frozenset({"", *KINDS})


@dataclass(frozen=True)
class Step:
    """One step of the run: its figures for the tracers that need the daemons of a phase."""

    daemons: Phase  # the session daemons its tracers need
    run: Callable[[Phase], dict[str, Any]]  # tracer name -> its records, for one phase


def phases(quick: bool) -> list[Phase]:
    """The full run compares every tracer within each step (ABBA order, see compare()).

    The smoke run checks that everything runs, not what it measures: it goes through the
    steps once per session daemon, so each daemon starts once: a daemon's start costs
    seconds under TCG, and a step-by-step run switches daemons about ten times.
    """
    if not quick:
        return [EVERY_DAEMON]
    return [frozenset({kind}) for kind in ("", *KINDS)]


def kinds_in(phase: Phase) -> list[str]:
    return [kind for kind in KINDS if kind in phase]


def tracer_step(workload: Workload, tracers: list[Tracer], reps: int, workdir: Path,
                errors: list[str], reverse_first: bool = False) -> Step:
    """compare() the workload under those of the tracers that a phase's daemons serve."""
    return Step(frozenset(t.daemon for t in tracers), lambda phase: compare(
        workload, [t for t in tracers if t.daemon in phase], reps, workdir, errors,
        reverse_first))

# The consumer workload: one producer thread and the consumer daemon, both on CPU 0; the
# other vCPU stays idle.  QEMU's TCG runs both vCPUs on one host thread, turn by turn,
# while the guest clock keeps going: a process is charged for the other vCPU's turns as
# well, so a busy second vCPU adds noise of the order of the figure to its CPU time.
CONSUMER_CPU = 0


def consumer_loop(binary: Path, calls: int) -> SyscallLoop:
    return SyscallLoop(binary, calls, 1, name="consumer")  # thread 0 runs on CPU 0


Named = TypeVar("Named")


def only_steps(steps: list[tuple[str, Named]], only: str) -> list[tuple[str, Named]]:
    """The steps named in `only` (comma-separated; empty: all); ValueError on a name that
    is not a step."""
    if not only:
        return steps
    wanted = set(only.split(","))
    unknown = wanted - {name for name, _ in steps}
    if unknown:
        raise ValueError(f"unknown step(s): {', '.join(sorted(unknown))}")
    return [(name, step) for name, step in steps if name in wanted]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def one_run(tracer: Tracer, workload: Workload, workdir: Path) -> dict[str, Any]:
    """Start the tracer, run the work, stop the tracer: the record of one run."""
    tracer.start(workload.events, workdir)
    started = time.monotonic()
    try:
        outcome = workload.run()
    finally:
        capture = tracer.stop()
    traced_s = time.monotonic() - started
    record = asdict(outcome) | asdict(capture) | {"traced_s": traced_s}
    log(f"  {workload.name:9} {tracer.name:30} cost={outcome.cost:.4g} "
        f"events={capture.events} discarded={capture.discarded} bytes={capture.bytes}")
    remove(capture.trace)
    return record


def remove(trace: str) -> None:
    """Traces are counted, not kept: the guest's /tmp is memory."""
    if trace and Path(trace).is_dir():
        shutil.rmtree(trace, ignore_errors=True)
    elif trace:
        Path(trace).unlink(missing_ok=True)


def compare(workload: Workload, tracers: list[Tracer], reps: int, workdir: Path,
            errors: list[str], reverse_first: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Each repetition runs every tracer once, every other one in reverse order (ABBA), so
    slow drift of an emulated machine weighs on all tracers alike and daemons switch
    less (reverse_first: start reversed, where the previous workload ended forward).
    A tracer that fails is reported in `errors` and left out of the later repetitions."""
    active = [t for t in tracers if t.supports(workload.events)]
    runs: dict[str, list[dict[str, Any]]] = {t.name: [] for t in active}
    for rep in range(reps):
        forward = (rep % 2 == 0) != reverse_first
        for tracer in list(active if forward else active[::-1]):
            try:
                runs[tracer.name].append(one_run(tracer, workload, workdir / tracer.name))
            except Exception:  # noqa: BLE001 (reported; the other tracers go on)
                errors.append(f"{workload.name} / {tracer.name}: {traceback.format_exc()}")
                log(f"  {workload.name:9} {tracer.name:30} FAILED:\n{traceback.format_exc()}")
                tracer.close()
                active.remove(tracer)
    return runs


def tool_versions() -> dict[str, str]:
    versions = {}
    for tool, cmd in (("perf", ["perf", "--version"]), ("trace-cmd", ["trace-cmd", "-h"]),
                      ("stress-ng", ["stress-ng", "--version"]),
                      ("babeltrace2", ["babeltrace2", "--version"]),
                      ("lttng", ["lttng", "--version"])):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        versions[tool] = next((line for line in lines if "version" in line.lower()), "?")
    return versions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="every workload once, small")
    parser.add_argument("--only", default="",
                        help="comma-separated steps to run (syscall, hackbench, stress-ng, "
                             "consumer, streaming, control, max-rate); default: all")
    parser.add_argument("--reps", type=int, default=0, help="repetitions (default: 5, quick 1)")
    parser.add_argument("--syscall-loop", type=Path, default=None,
                        help="the built bench/syscall_loop.c (default: build/syscall_loop)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.reps > 0:
        sizes = replace(sizes, reps=args.reps)
    src = Path(os.environ.get("PYLTTNG_SRC", Path(__file__).resolve().parents[1]))
    binary = args.syscall_loop or src / "build" / "syscall_loop"
    # Traces go to the guest's own memory-backed /tmp, not the shared folder: the host
    # file-system link would be what the consumers are measured against.
    work = Path("/tmp/bench-work")
    daemons = Daemons(Path(args.out) / "home", warm_ups=not args.quick)
    # Written by tests/vm/runner.py: whether the guest's clock counts emulated instructions.
    machine_file = Path(os.environ.get("PYLTTNG_VM_OUT", args.out)) / "machine.json"
    machine = json.loads(machine_file.read_text()) if machine_file.exists() else {}
    results: dict[str, Any] = {
        "meta": {
            "quick": args.quick, "kernel": platform.release(), "cpus": os.cpu_count(),
            "clocksource": (CLOCKSOURCE / "current_clocksource").read_text().strip(),
            "instruction_clock": machine.get("instruction_clock", False),
            "reps": sizes.reps, "sizes": asdict(sizes),
            "buffer": {"subbuf_size": SUBBUF_SIZE, "num_subbuf": NUM_SUBBUF,
                       "bytes_per_cpu": BUFFER_BYTES_PER_CPU},
            "counter": "babeltrace2 -c sink.utils.counter (LTTng traces); perf report "
                       "--stats; trace-cmd's and ftrace's per-CPU ring-buffer stats",
            "tools": tool_versions(),
        },
        "workloads": {}, "figures": [], "errors": [],
    }
    tracers: list[Tracer] = [Untraced(), Ftrace(), Ftrace("mono"), Perf(), TraceCmd(),
                             Lttng(daemons, "pylttng"), Lttng(daemons, "stock")]
    consumers: list[Tracer] = [Lttng(daemons, kind, output, count=False,
                                     consumer_cpu=CONSUMER_CPU)
                               for kind in KINDS for output in ("mmap", "splice")]
    streamed = streaming_loop(binary, sizes.consumer_calls)
    streamers: list[Tracer] = list(streaming_tracers(daemons, work / "streaming", streamed,
                                                     CONSUMER_CPU, KINDS))
    workloads: list[Workload] = [
        SyscallLoop(binary, sizes.syscall_calls),
        Hackbench(sizes.hackbench_groups, sizes.hackbench_loops),
        StressNg(sizes.stress_seconds, ops=sizes.stress_ops),
    ]
    errors: list[str] = results["errors"]
    steps: list[tuple[str, Step]] = []
    # Each workload starts with the daemons the previous one ended with (odd reps: the
    # order flips from one workload to the next).
    for i, workload in enumerate(workloads):
        flip = sizes.reps % 2 == 1 and i % 2 == 1
        steps.append((workload.name, tracer_step(workload, tracers, sizes.reps,
                                                 work / workload.name, errors, flip)))
    steps.append(("consumer", tracer_step(consumer_loop(binary, sizes.consumer_calls),
                                          consumers, sizes.reps, work / "consumer", errors)))
    steps.append(("streaming", tracer_step(streamed, streamers, sizes.reps, work / "streaming",
                                           errors)))
    steps.append(("control", Step(frozenset(KINDS), lambda phase: control_plane(
        daemons, sizes.control_reps, sizes.memory_sessions, work / "control",
        kinds_in(phase)))))
    steps.append(("max-rate", Step(frozenset(KINDS), lambda phase: highest_rate(
        daemons, binary, sizes.max_rate, work / "max-rate", kinds_in(phase)))))
    if args.quick:
        # The control step measures a daemon's idle memory, so it needs a daemon never
        # used: each phase's first start gives one.
        steps.sort(key=lambda named: named[0] != "control")
    try:
        steps = only_steps(steps, args.only)
    except ValueError as exc:
        parser.error(str(exc))
    run_start = GuestTime.now()
    try:
        for phase in phases(args.quick):
            for name, step in steps:
                if not step.daemons & phase:
                    continue
                log(f"{name} ..." + (f" ({', '.join(sorted(phase)) or 'no daemon'})"
                                     if args.quick else ""))
                step_start = GuestTime.now()
                try:
                    results["workloads"].setdefault(name, {}).update(step.run(phase))
                except Exception:  # noqa: BLE001 (one failure must not hide the others)
                    errors.append(f"{name}: {traceback.format_exc()}")
                    log(f"{name} FAILED:\n{traceback.format_exc()}")
                for tracer in tracers + consumers + streamers:
                    tracer.close()
                took = GuestTime.now().since(step_start)
                log(f"{name} took {took['wall_s']:.1f} s, CPU idle {took['idle_s']:.1f} s")
    finally:
        daemons.close()
    results["meta"]["guest_time"] = GuestTime.now().since(run_start)
    found = results["workloads"]
    results["figures"] = (
        figures.producer_figures({k: v for k, v in found.items()
                                  if k in ("syscall", "hackbench", "stress-ng")})
        + (figures.consumer_figures(found["consumer"]) if "consumer" in found else [])
        + (figures.streaming_figures(found["streaming"]) if "streaming" in found else [])
        + (figures.control_figures(found["control"]) if "control" in found else [])
        + (figures.max_rate_figures(found["max-rate"]) if "max-rate" in found else []))
    (Path(args.out) / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    failed = bool(results["errors"])
    log(f"wrote {Path(args.out) / 'results.json'}" + (" (with errors)" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
