"""The LTTng-only figures: control-plane latency and memory (6), loss-free rate (7).

Both compare pylttng-sessiond (with pylttng-consumerd) and the stock lttng-sessiond (with
the stock lttng-consumerd), each driving the same pylttng.ko through the stock lttng CLI.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .tracers import Capture, Daemons, Lttng, rss_kib, run
from .workloads import SyscallLoop

KINDS = ("pylttng", "stock")
COMMANDS = ("create", "enable-event", "start", "stop", "destroy")


def tracer_name(kind: str) -> str:
    return "pylttng" if kind == "pylttng" else "stock-lttng"


def timed_cycle(env: dict[str, str], session: str, workdir: Path) -> dict[str, float]:
    """Wall time of each command of one create..destroy cycle, through the CLI."""
    args = {
        "create": ["create", session, f"--output={workdir / session}"],
        "enable-event": ["enable-event", "-k", "sched_switch"],
        "start": ["start"], "stop": ["stop"], "destroy": ["destroy"],
    }
    times = {}
    for command in COMMANDS:
        begin = time.monotonic()
        run("lttng", *args[command], env=env)
        times[command] = time.monotonic() - begin
    return times


def memory_with_sessions(daemons: Daemons, env: dict[str, str], count: int,
                         workdir: Path) -> tuple[float, float]:
    """(sessiond, consumerd) RSS in MiB with `count` sessions tracing sched_switch."""
    for i in range(count):
        session = f"mem{i}"
        run("lttng", "create", session, f"--output={workdir / session}", env=env)
        run("lttng", "enable-event", "-k", "-s", session, "sched_switch", env=env)
        run("lttng", "start", session, env=env)
    sessiond = rss_kib(daemons.sessiond_pid()) / 1024
    consumerd = sum(rss_kib(pid) for pid in daemons.consumerd_pids()) / 1024
    run("lttng", "destroy", "-a", env=env)
    return sessiond, consumerd


def control_plane(daemons: Daemons, reps: int, workdir: Path | None = None
                  ) -> dict[str, list[dict[str, Any]]]:
    """Per daemon kind and repetition: a fresh daemon's idle RSS, one timed cycle, and
    the RSS with 10 sessions."""
    workdir = workdir or daemons.home / "control"
    runs: dict[str, list[dict[str, Any]]] = {tracer_name(k): [] for k in KINDS}
    for rep in range(reps):
        for kind in KINDS if rep % 2 == 0 else KINDS[::-1]:
            daemons.close()  # a fresh daemon each time: idle means never used
            env = daemons.use(kind)
            time.sleep(1)
            idle = rss_kib(daemons.sessiond_pid()) / 1024
            times = timed_cycle(env, f"ctl{rep}", workdir)
            sessiond, consumerd = memory_with_sessions(daemons, env, 10, workdir)
            runs[tracer_name(kind)].append(
                {"wall_s": sum(times.values()), "commands_s": times, "rss_idle_mib": idle,
                 "rss_10_mib": sessiond, "consumerd_rss_10_mib": consumerd})
            print(f"  control   {tracer_name(kind):18} wall={sum(times.values()):.2f}s "
                  f"rss idle={idle:.1f} MiB, 10 sessions={sessiond:.1f}+{consumerd:.1f} MiB",
                  flush=True)
    daemons.close()
    return runs


def highest_rate(daemons: Daemons, binary: Path, calls: int, max_threads: int,
                 workdir: Path) -> dict[str, dict[str, Any]]:
    """Raise the syscall-loop threads until the first discarded event, on the default
    channel; the best loss-free rate in events per second, per daemon kind."""
    found: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        tracer = Lttng(daemons, kind, default_channel=True)
        best: float | None = None
        steps = []
        for threads in range(1, max_threads + 1):
            loop = SyscallLoop(binary, calls, threads)
            tracer.start(loop.events, workdir / kind)
            try:
                outcome = loop.run()
            finally:
                capture: Capture = tracer.stop()
            rate = (capture.events or 0) / outcome.seconds
            steps.append({"threads": threads, "events": capture.events,
                          "discarded": capture.discarded, "events_per_s": rate})
            print(f"  max-rate  {tracer_name(kind):18} threads={threads} rate={rate:.0f} ev/s "
                  f"discarded={capture.discarded}", flush=True)
            if capture.discarded:
                break
            best = max(best or 0.0, rate)
        found[tracer_name(kind)] = {"events_per_s": best, "steps": steps}
    return found
