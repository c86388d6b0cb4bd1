"""The LTTng-only figures: control-plane latency and memory (6), the rates with and
without loss (7).

Both compare pylttng-sessiond (with pylttng-consumerd) and the stock lttng-sessiond (with
the stock lttng-consumerd), each driving the same pylttng.ko through the stock lttng CLI:
the peers "pylttng" and "stock-daemons-on-pylttng".
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
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


@dataclass(frozen=True)
class RateSearch:
    """The loss search's bounds: offered rates start, start x factor, ... for at most
    `steps` runs of `seconds` each (at the offered rate)."""

    start_ev_s: float
    factor: float
    steps: int
    seconds: float


# Events of getpid entry and exit with these contexts: 16 bytes on average instead of 8,
# so that one CPU's producer can outrun the default channel (4 x 1 MiB per CPU, drained
# every 200 ms by its read timer): on the benchmark's one-CPU guest, getpid events alone
# (~1.75 M/s at most, 14 MB/s) never fill it, however many producer threads share the CPU
# (bench/README.md).
RATE_CONTEXTS = ("pid", "tid")


def loss_step(recorded: int, discarded: int, seconds: float, target: float,
              trace_bytes: int) -> dict[str, Any]:
    """One run of the search: the rates as the trace tells them. Offered = recorded +
    discarded events over the loop's time: what the producer asked the tracer to keep."""
    return {"target_per_s": target, "seconds": seconds, "recorded": recorded,
            "discarded": discarded, "offered_per_s": (recorded + discarded) / seconds,
            "recorded_per_s": recorded / seconds, "mb_per_s": trace_bytes / 1e6 / seconds}


def search_loss(run_step: Callable[[float], dict[str, Any]],
                search: RateSearch) -> dict[str, Any]:
    """Offer higher and higher rates until a run loses events, or the producer cannot
    reach the rate asked (its ceiling: nothing higher can be offered), or `search.steps`
    runs.  run_step(target ev/s) -> loss_step(); the steps, the highest loss-free step,
    the first lossy one (None: no loss found) and why the search ended."""
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    target = search.start_ev_s
    for _ in range(search.steps):
        step = run_step(target)
        steps.append(step)
        if step["discarded"]:
            return {"steps": steps, "highest_without_loss": best, "first_with_loss": step,
                    "ended": "loss"}
        best = step
        if step["offered_per_s"] < 0.95 * target:
            return {"steps": steps, "highest_without_loss": best, "first_with_loss": None,
                    "ended": "ceiling"}
        target *= search.factor
    return {"steps": steps, "highest_without_loss": best, "first_with_loss": None,
            "ended": "bound"}


def highest_rate(daemons: Daemons, binary: Path, search: RateSearch, workdir: Path,
                 kinds: Sequence[str] = KINDS) -> dict[str, dict[str, Any]]:
    """Per daemon kind, on the default channel: one producer thread (getpid, entry and
    exit, RATE_CONTEXTS) paced to higher and higher rates until the trace shows a loss.
    Events recorded are counted by babeltrace2, events discarded from the packets'
    events_discarded: both from the trace."""
    found: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        tracer = Lttng(daemons, kind, default_channel=True, contexts=RATE_CONTEXTS)

        def run_step(target: float, tracer: Lttng = tracer, kind: str = kind
                     ) -> dict[str, Any]:
            calls = max(1, round(target / 2 * search.seconds))  # two events per call
            loop = SyscallLoop(binary, calls, 1, rate=target / 2)
            tracer.start(loop.events, workdir / kind)
            try:
                outcome = loop.run()
            finally:
                capture: Capture = tracer.stop()
            shutil.rmtree(capture.trace, ignore_errors=True)  # traces are counted, not kept
            if capture.events is None or capture.discarded is None:
                raise RuntimeError("the loss search needs the trace's event counts")
            step = loss_step(capture.events, capture.discarded, outcome.seconds, target,
                             capture.bytes or 0)
            print(f"  max-rate  {peer_name(kind):24} asked {target:,.0f} ev/s: offered "
                  f"{step['offered_per_s']:,.0f} ev/s ({step['mb_per_s']:.1f} MB/s), "
                  f"recorded {step['recorded']:,}, discarded {step['discarded']:,}",
                  flush=True)
            return step

        found[peer_name(kind)] = search_loss(run_step, search) | {
            "contexts": list(RATE_CONTEXTS), "search": asdict(search)}
    return found
