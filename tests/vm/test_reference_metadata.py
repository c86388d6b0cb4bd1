"""Issue 3: the events of the stock stack's reference trace, declared as LTTng-modules 2.13
declares them on 6.1 (../shared/reference/lttng-modules-2.13-kernel-metadata.tsdl),
through both daemons: same fields, types and order, same event context.

Issue 20: on other kernels, every difference must come from the kernel itself (a type or
field the kernel changed): each is listed in KERNEL_CHANGES, with the kernel change behind
it, and reported in metadata-differences.txt; any other difference fails.

sched_process_fork carries LTTng-modules' extra fields (tgids, pid namespaces, the
child's tid in each pid namespace): checked on a fork into a new pid namespace.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class KernelChange:
    """A change of the kernel's own event definitions that shows in the metadata."""

    since: tuple[int, int]
    why: str
    explains: Callable[[str, str], bool]   # (reference line, our line) -> True if it is this


KERNEL_CHANGES = (
    KernelChange((6, 2), "char is unsigned on every architecture since v6.2 (-funsigned-char): "
                 "the kernel declares its char arrays unsigned, as LTTng-modules built "
                 "there would",
                 lambda ref, ours: ref.replace("signed = 1; encoding = UTF8",
                                               "signed = 0; encoding = UTF8") == ours),
)


def kernel_version() -> tuple[int, int]:
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int(minor)


def differences(name: str, reference: list[str], ours: list[str]) -> list[tuple[str, str, str]]:
    """(event, reference line, our line) for each line that differs; '' where one has none."""
    if len(reference) == len(ours):
        return [(name, r, o) for r, o in zip(reference, ours, strict=True) if r != o]
    diff = difflib.ndiff(reference, ours)
    return [(name, line[2:], "") if line[0] == "-" else (name, "", line[2:])
            for line in diff if line[:1] in "-+"]


def explain(diffs: list[tuple[str, str, str]]) -> tuple[list[str], list[str]]:
    """(report lines, differences no kernel change explains)."""
    changes = [c for c in KERNEL_CHANGES if kernel_version() >= c.since]
    report, unexplained = [], []
    for name, ref, ours in diffs:
        why = next((c.why for c in changes if c.explains(ref, ours)), None)
        line = f"{name}: reference {ref or '(none)'!r}, here {ours or '(none)'!r}"
        if why is None:
            unexplained.append(line)
        report.append(f"{line}\n    {why or 'NOT EXPLAINED BY ANY KERNEL CHANGE'}")
    return report, unexplained


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
    diffs = [d for name, fields in expected.items() for d in differences(name, fields, ours[name])]
    diffs += differences("event.context", event_context(reference), event_context(shown.out))
    report, unexplained = explain(diffs)
    out = Path(os.environ.get("PYLTTNG_VM_OUT", "."))
    which = "pylttng" if "LTTNG_SESSIOND_PATH" in daemon.env else "stock"
    (out / f"metadata-differences-{which}.txt").write_text(
        f"{len(report)} differences from the reference metadata on Linux "
        f"{os.uname().release}\n" + "".join(f"{line}\n" for line in report))
    print(*report, sep="\n")
    assert not unexplained, "\n".join(unexplained)
    # A kernel change that applies must show: else the table above is out of date.
    if kernel_version() < (6, 2):
        assert not diffs, report

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
