"""The LTTng-only figures: control-plane latency and memory (6), loss-free rate (7).

Both compare pylttng-sessiond (with pylttng-consumerd) and the stock lttng-sessiond (with
the stock lttng-consumerd), each driving the same pylttng.ko through the stock lttng CLI:
the peers "pylttng" and "stock-daemons-on-pylttng".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .tracers import Capture, Daemons, Lttng, lttng_cli, peer_name, rss_kib
from .workloads import SyscallLoop

KINDS = ("pylttng", "stock")
COMMANDS = ("create", "enable-event", "start", "stop", "destroy")


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
        lttng_cli(env, *args[command])
        times[command] = time.monotonic() - begin
    return times


def memory_with_sessions(daemons: Daemons, env: dict[str, str], count: int,
                         workdir: Path) -> tuple[float, float]:
    """(sessiond, consumerd) RSS in MiB with `count` sessions tracing sched_switch."""
    for i in range(count):
        session = f"mem{i}"
        lttng_cli(env, "create", session, f"--output={workdir / session}")
        lttng_cli(env, "enable-event", "-k", "-s", session, "sched_switch")
        lttng_cli(env, "start", session)
    sessiond = rss_kib(daemons.sessiond_pid()) / 1024
    consumerd = sum(rss_kib(pid) for pid in daemons.consumerd_pids()) / 1024
    lttng_cli(env, "destroy", "-a")
    return sessiond, consumerd


def control_plane(daemons: Daemons, reps: int, sessions: int, workdir: Path,
                  kinds: Sequence[str] = KINDS) -> dict[str, list[dict[str, Any]]]:
    """Per daemon kind: a fresh daemon's idle RSS, `reps` timed create..destroy cycles,
    then the RSS with `sessions` sessions (kept in the first cycle's record).  The last
    daemon is left running for the next step."""
    runs: dict[str, list[dict[str, Any]]] = {peer_name(k): [] for k in kinds}
    for kind in kinds:
        daemons.close()  # a fresh daemon: idle means never used
        env = daemons.use(kind, warm_up=False)
        time.sleep(1)
        idle = rss_kib(daemons.sessiond_pid()) / 1024
        daemons.warm_up()  # the cycles time the commands, not the consumer's start-up
        records = runs[peer_name(kind)]
        for rep in range(reps):
            times = timed_cycle(env, f"ctl{rep}", workdir)
            records.append({"wall_s": sum(times.values()), "commands_s": times})
        sessiond, consumerd = memory_with_sessions(daemons, env, sessions, workdir)
        records[0] |= {"rss_idle_mib": idle, "memory_sessions": sessions,
                       "rss_sessions_mib": sessiond, "consumerd_rss_sessions_mib": consumerd}
        walls = ", ".join(f"{r['wall_s']:.2f}" for r in records)
        print(f"  control   {peer_name(kind):24} wall={walls} s, rss idle={idle:.1f} MiB, "
              f"{sessions} sessions={sessiond:.1f} + consumerd {consumerd:.1f} MiB", flush=True)
    return runs


def highest_rate(daemons: Daemons, binary: Path, calls: int, max_threads: int,
                 workdir: Path, kinds: Sequence[str] = KINDS) -> dict[str, dict[str, Any]]:
    """Raise the syscall-loop threads until the first discarded event, on the default
    channel; the best loss-free rate in events per second, per daemon kind."""
    found: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        tracer = Lttng(daemons, kind, default_channel=True, count=False)
        best: float | None = None
        steps = []
        for threads in range(1, max_threads + 1):
            loop = SyscallLoop(binary, calls, threads)
            tracer.start(loop.events, workdir / kind)
            try:
                outcome = loop.run()
            finally:
                capture: Capture = tracer.stop()
            # Every call is an entry and an exit event; `lttng list` counts the lost ones.
            events = 2 * calls * threads - (capture.discarded or 0)
            rate = events / outcome.seconds
            steps.append({"threads": threads, "events": events,
                          "discarded": capture.discarded, "events_per_s": rate})
            print(f"  max-rate  {peer_name(kind):24} threads={threads} rate={rate:.0f} ev/s "
                  f"discarded={capture.discarded}", flush=True)
            if capture.discarded:
                break
            best = max(best or 0.0, rate)
        found[peer_name(kind)] = {"events_per_s": best, "steps": steps}
    return found
