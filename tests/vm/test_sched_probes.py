"""Issue 4: the scheduler events' direct probes record what the kernel's own trace events do.

pylttng.ko records sched_switch, sched_waking and sched_wakeup with probes of its own
(kmod/pylttng-sched-probes.c) that rebuild the kernel's record.  ftrace traces the same
tracepoints at the same time, on before the session starts and off after it stops.  The
events of hackbench's tasks (which start after `lttng start` and end before `lttng stop`)
must then be the same in both traces, CPU by CPU, in the same order, field for field.
These tracepoints fire with interrupts off, so both tracers see a CPU's hits in one order.
"""

from __future__ import annotations

import re
from pathlib import Path

from conftest import Lttng, read_trace

from bench.tracers import TRACEFS, Ftrace
from bench.workloads import SCHED, Hackbench

# TP_printk of sched_switch: the state's letters (TASK_REPORT bits), "+" when preempted.
STATE_LETTERS = ["S", "D", "T", "t", "X", "Z", "P", "I"]
TASK_REPORT_MAX = 0x100
MAX_RT_PRIO = 100  # LTTng-modules records prio - MAX_RT_PRIO

Event = tuple[str, ...]

FTRACE_LINE = re.compile(r"\[(\d+)\][^:]*: (sched_switch|sched_wakeup|sched_waking): (.*)$")
FTRACE_SWITCH = re.compile(r"prev_comm=(.*) prev_pid=(\d+) prev_prio=(-?\d+) prev_state=(\S+) "
                           r"==> next_comm=(.*) next_pid=(\d+) next_prio=(-?\d+)$")
FTRACE_WAKE = re.compile(r"comm=(.*) pid=(\d+) prio=(-?\d+) target_cpu=(\d+)$")
LTTNG_LINE = re.compile(r" (sched_switch|sched_wakeup|sched_waking): \{ cpu_id = (\d+) \}, "
                        r"\{ (.*) \}$")


def state_letters(state: int) -> str:
    """What sched_switch's TP_printk shows for a recorded prev_state."""
    bits = [STATE_LETTERS[i] for i in range(len(STATE_LETTERS)) if state & (1 << i)]
    return ("|".join(bits) or "R") + ("+" if state & TASK_REPORT_MAX else "")


def prio(kernel_prio: str) -> str:
    return str(int(kernel_prio) - MAX_RT_PRIO)


def ftrace_events(text: str) -> dict[int, list[Event]]:
    """ftrace's text output, as (name, fields...) by CPU in LTTng's units."""
    by_cpu: dict[int, list[Event]] = {}
    for line in text.splitlines():
        found = FTRACE_LINE.search(line)
        if found is None:
            continue
        cpu, name, payload = int(found.group(1)), found.group(2), found.group(3)
        if name == "sched_switch":
            s = FTRACE_SWITCH.match(payload)
            assert s, line
            event: Event = (name, s.group(1), s.group(2), prio(s.group(3)), s.group(4),
                            s.group(5), s.group(6), prio(s.group(7)))
        else:
            w = FTRACE_WAKE.match(payload)
            assert w, line
            event = (name, w.group(1), w.group(2), prio(w.group(3)), str(int(w.group(4))))
        by_cpu.setdefault(cpu, []).append(event)
    return by_cpu


def lttng_events(lines: list[str]) -> dict[int, list[Event]]:
    """babeltrace2's text output, as (name, fields...) by CPU, prev_state as ftrace shows it."""
    by_cpu: dict[int, list[Event]] = {}
    for line in lines:
        found = LTTNG_LINE.search(line)
        if found is None:
            continue
        name, cpu = found.group(1), int(found.group(2))
        fields = dict(re.findall(r'(\w+) = ("[^"]*"|-?\d+)', found.group(3)))
        value = {k: v.strip('"') for k, v in fields.items()}
        if name == "sched_switch":
            event: Event = (name, value["prev_comm"], value["prev_tid"], value["prev_prio"],
                            state_letters(int(value["prev_state"])), value["next_comm"],
                            value["next_tid"], value["next_prio"])
        else:
            event = (name, value["comm"], value["tid"], value["prio"], value["target_cpu"])
        by_cpu.setdefault(cpu, []).append(event)
    return by_cpu


def of_task(events: list[Event], comm: str) -> list[Event]:
    """The events that name a task called `comm` (sched_switch: either task)."""
    return [event for event in events if comm in (event[1], event[5] if len(event) > 5 else "")]


def exits_as_one(events: list[Event]) -> list[Event]:
    """The events, with an exiting task's prev_state "Z" and "X" made one.

    Each probe reads prev->exit_state when it runs (__trace_sched_switch_state()); a
    parent reaping the task on another CPU between the two probes turns EXIT_ZOMBIE
    into EXIT_DEAD (wait_task_zombie()), so the two tracers may see either.
    """
    return [event[:4] + ("exited",) + event[5:]
            if event[0] == "sched_switch" and event[4] in ("X", "Z") else event
            for event in events]


def first_difference(ours: list[Event], theirs: list[Event]) -> str:
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return f"event {i}: LTTng {a}, ftrace {b}"
    return f"LTTng has {len(ours)} events, ftrace {len(theirs)}"


def test_sched_events_match_ftrace(lttng: Lttng, tmp_path: Path) -> None:
    ftrace = Ftrace()
    lttng.ok("create", "schedprobes")
    lttng.ok("enable-event", "-k", "sched_switch,sched_waking,sched_wakeup")
    ftrace.start(SCHED, tmp_path)  # on before LTTng starts and off after it stops
    try:
        lttng.ok("start")
        Hackbench(groups=1, loops=20, cpu=None).run()  # on both CPUs: wake-ups across them
        lttng.ok("stop")
        capture = ftrace.stop()
        text = (TRACEFS / "trace").read_text(errors="replace")
    finally:
        ftrace.close()
    listed = lttng.ok("list", "schedprobes").out
    lttng.ok("destroy", "schedprobes")
    assert capture.discarded == 0, "ftrace dropped events: its trace is incomplete"
    assert re.search(r"Discarded events:\s+0\b", listed), listed
    theirs = ftrace_events(text)
    ours = lttng_events(read_trace(lttng, "schedprobes"))
    assert set(ours) == set(theirs), (set(ours), set(theirs))
    for cpu in ours:
        mine = exits_as_one(of_task(ours[cpu], "hackbench"))
        seen = exits_as_one(of_task(theirs[cpu], "hackbench"))
        assert {event[0] for event in mine} == {"sched_switch", "sched_waking", "sched_wakeup"}
        assert mine == seen, f"CPU {cpu}: {first_difference(mine, seen)}"
    assert sum(len(of_task(events, "hackbench")) for events in ours.values()) > 500
