"""Issue 3: the events of the stock stack's reference trace, declared as LTTng-modules 2.13
declares them on this kernel (../shared/reference/lttng-modules-2.13-kernel-metadata.tsdl),
through both daemons: same fields, types and order, same event context.

sched_process_fork carries LTTng-modules' extra fields (tgids, pid namespaces, the
child's tid in each pid namespace): checked on a fork into a new pid namespace.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from conftest import Lttng, babeltrace2, read_trace

REFERENCE = Path(os.environ.get("PYLTTNG_SHARED", Path(__file__).resolve().parents[3] / "shared"),
                 "reference", "lttng-modules-2.13-kernel-metadata.tsdl")
TRACEPOINTS = ["sched_switch", "sched_wakeup", "sched_process_fork", "sched_process_exec",
               "sched_process_exit", "irq_handler_entry", "irq_handler_exit"]
SYSCALLS = ["openat", "close", "read", "write", "getppid"]
CONTEXTS = ["pid", "tid", "procname", "ppid", "prio"]

EVENT = re.compile(r'event \{\s*name = "([^"]+)";.*?fields := struct \{(.*?)\n\t\};',
                   re.DOTALL)
EVENT_CONTEXT = re.compile(r"event\.context := struct \{(.*?)\n\t\};", re.DOTALL)


def event_fields(tsdl: str) -> dict[str, list[str]]:
    """Each event's field declarations, one stripped line each."""
    return {name: [line.strip() for line in body.strip().splitlines()]
            for name, body in EVENT.findall(tsdl)}


def event_context(tsdl: str) -> list[str]:
    [body] = EVENT_CONTEXT.findall(tsdl)
    return [line.strip() for line in body.strip().splitlines()]


def test_reference_events_declared_alike(daemon: Lttng) -> None:
    reference = REFERENCE.read_text()
    expected = event_fields(reference)
    assert set(TRACEPOINTS) <= set(expected), sorted(expected)

    daemon.ok("create", "refmeta")
    daemon.ok("enable-event", "-k", ",".join(TRACEPOINTS))
    daemon.ok("enable-event", "-k", "--syscall", ",".join(SYSCALLS))
    for context in CONTEXTS:
        daemon.ok("add-context", "-k", "-t", context)
    daemon.ok("start")
    # A fork into a new pid namespace: the child is pid 1 there.
    subprocess.run(["unshare", "--pid", "--fork", "/bin/true"], check=True, timeout=60)
    with open("/etc/hostname") as f:
        f.read()
    daemon.ok("stop")
    daemon.ok("destroy")
    lines = read_trace(daemon, "refmeta")

    [trace] = daemon.traces("refmeta")
    shown = babeltrace2("--output-format=ctf-metadata", str(trace / "kernel"))
    assert shown.rc == 0, shown.err
    ours = event_fields(shown.out)
    missing = set(expected) - set(ours)
    assert not missing, sorted(missing)
    for name, fields in expected.items():
        assert ours[name] == fields, f"{name}:\nours {ours[name]}\nreference {fields}"
    assert event_context(shown.out) == event_context(reference)

    check_fork_into_pid_namespace(lines)


FORK = re.compile(
    r"sched_process_fork: .*\{ parent_comm = \"(?P<parent_comm>[^\"]*)\", "
    r"parent_tid = (?P<parent_tid>\d+), parent_pid = (?P<parent_pid>\d+), "
    r"parent_ns_inum = (?P<parent_ns>\d+), child_comm = \"[^\"]*\", "
    r"child_tid = (?P<child_tid>\d+), _vtids_length = (?P<levels>\d+), "
    r"vtids = \[ (?P<vtids>(?:\[\d+\] = \d+(?:, )?)*) \], "
    r"child_pid = (?P<child_pid>\d+), child_ns_inum = (?P<child_ns>\d+) \}")


def check_fork_into_pid_namespace(lines: list[str]) -> None:
    host_ns = os.stat("/proc/self/ns/pid").st_ino
    forks = [m.groupdict() for line in lines if (m := FORK.search(line))]
    assert forks, [line for line in lines if "sched_process_fork" in line][:5]
    unshare = [f for f in forks if f["parent_comm"] == "unshare"]
    assert unshare, forks
    [fork] = unshare  # unshare --fork forks once: its child is pid 1 of the new namespace
    vtids = [int(v) for v in re.findall(r"\[\d+\] = (\d+)", fork["vtids"])]
    assert int(fork["levels"]) == 2 and vtids == [int(fork["child_tid"]), 1], fork
    assert int(fork["parent_ns"]) == host_ns, fork
    assert int(fork["child_ns"]) not in (0, host_ns), fork
    assert fork["child_pid"] == fork["child_tid"], fork
    assert fork["parent_pid"] == fork["parent_tid"], fork
    # The test's own forks stay in the host namespace, one level deep.
    mine = [f for f in forks if int(f["parent_pid"]) == os.getpid()]
    assert mine, forks
    for f in mine:
        assert f["levels"] == "1" and int(f["child_ns"]) == host_ns, f
