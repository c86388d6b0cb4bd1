"""The kernel tracepoint catalogue: `lttng list -k`, LTTng-modules names, wildcards, `-a`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

from conftest import DISCARDED_EVENTS, Lttng, babeltrace2_lines, counted_events, run

# ftrace name -> LTTng-modules name, a sample of pylttng-rename.c's table.
RENAMED = {
    "hrtimer_start": "timer_hrtimer_start",
    "softirq_entry": "irq_softirq_entry",
    "mm_page_alloc": "kmem_mm_page_alloc",
    "kmalloc": "kmem_kmalloc",
    "local_timer_entry": "x86_irq_vectors_local_timer_entry",
    "cpu_idle": "power_cpu_idle",
    "netif_rx": "net_if_rx",
}
LINE = re.compile(r"      (\S+) \(loglevel: TRACE_EMERG \(0\)\) \(type: tracepoint\)")


def kernel_events() -> list[str]:
    """`system:name` of every trace event of the running kernel (tracefs)."""
    tracing = Path("/sys/kernel/tracing")
    if not (tracing / "available_events").exists():
        run("mount", "-t", "tracefs", "nodev", str(tracing))
    return (tracing / "available_events").read_text().split()


def listed_names(lttng: Lttng) -> list[str]:
    out = lttng.ok("list", "-k").out
    assert out.startswith("Kernel events:\n-------------\n"), out[:200]
    lines = out.splitlines()[2:]
    names = []
    for line in lines:
        if not line:
            continue
        m = LINE.fullmatch(line)
        assert m, f"unexpected line {line!r}"
        names.append(m[1])
    return names


def rename_table() -> dict[str, str]:
    """The module's whole ftrace -> LTTng-modules event name table."""
    source = (Path(__file__).resolve().parents[2] / "kmod" / "pylttng-rename.c").read_text()
    table = dict(re.findall(r'\{ "(\w+)", "(\w+)" \},', source))
    assert RENAMED.items() <= table.items()
    return table


def test_list_kernel_lists_every_tracepoint(lttng: Lttng) -> None:
    lttng.ok("create", "catalogue")  # `lttng list` spawns no daemon: create does
    names = set(listed_names(lttng))
    table = rename_table()
    expected = {name for name in names if name.startswith("lttng_statedump_")}
    for event in kernel_events():
        system, name = event.split(":", 1)
        if system in ("ftrace", "kprobes", "uprobes", "synthetic"):
            continue
        expected.add(table.get(name, name))
    missing = sorted(expected - names)
    extra = sorted(names - expected)
    # For the kernels table (tests/vm/kernels.py): tracepoints listed / tracefs has.
    statedump = sum(name.startswith("lttng_statedump_") for name in names)
    tracefs = len(expected) - statedump
    counts = {"listed": len(names) - statedump, "tracefs": tracefs}
    (Path(os.environ.get("PYLTTNG_VM_OUT", ".")) / "catalogue.json").write_text(
        json.dumps(counts) + "\n")
    assert not missing, f"{len(missing)} kernel events not listed, e.g. {missing[:10]}"
    assert not extra, f"{len(extra)} listed events the kernel lacks, e.g. {extra[:10]}"
    for ftrace, lttng_name in RENAMED.items():
        if any(e.endswith(":" + ftrace) for e in kernel_events()):
            assert lttng_name in names and ftrace not in names, ftrace
    for name in ("sched_switch", "irq_handler_entry", "lttng_statedump_process_state",
                 "lttng_statedump_file_descriptor"):
        assert name in names
    # The stock CLI lists kernel events alike with --fields (fields are a user-space thing).
    assert lttng.ok("list", "-k", "-f").out == lttng.ok("list", "-k").out


def traced_names(trace: Path, *options: str, tolerated: re.Pattern[str] | None = None
                 ) -> tuple[set[str], list[str]]:
    lines = babeltrace2_lines(trace, *options, tolerated=tolerated)
    return {m[1] for line in lines if (m := re.search(r"\] \(\S+\) \S+ (\w+): ", line))}, lines


def workload() -> None:
    for _ in range(3):
        subprocess.run(["/bin/true"], check=True)
    time.sleep(0.3)


def test_wildcards(daemon: Lttng) -> None:
    lttng = daemon
    lttng.ok("create", "globs")
    lttng.ok("enable-event", "-k", "sched_process_*")
    lttng.ok("enable-event", "-k", "timer_hrtimer_*t")   # '*' inside the name
    lttng.ok("start")
    workload()
    lttng.ok("stop")
    lttng.ok("destroy")
    [trace] = lttng.traces("globs")
    names, _ = traced_names(trace)
    assert {"sched_process_fork", "sched_process_exec"} <= names, names
    assert not any(n.startswith("sched_") and not n.startswith("sched_process_")
                   for n in names), names
    hr = {n for n in names if n.startswith("timer_hrtimer_")}
    assert hr, names
    assert all(n.endswith("t") for n in hr), hr        # _start, _init, _exit... only *t


def test_enable_all_then_read(lttng: Lttng) -> None:
    lttng.ok("create", "all")
    lttng.ok("enable-event", "-k", "-a", "--tracepoint")
    lttng.ok("start")
    began = time.time()
    workload()
    ended = time.time()
    lttng.ok("stop")
    lttng.ok("destroy")
    [trace] = lttng.traces("all")
    # Every tracepoint of a kernel with lockdep and preemptirq events (the debug kernel of
    # make stress) floods the default channel: it discards, and says so.  The whole trace
    # must decode; it is read as text only around the workload, since on that kernel the
    # start and stop alone record millions of events, more than the guest formats in time.
    assert counted_events(trace, discards_allowed=True) > 0
    names, _ = traced_names(trace, f"--begin={began - 1:.9f}", f"--end={ended + 1:.9f}",
                            tolerated=DISCARDED_EVENTS)
    assert {"sched_switch", "sched_process_exec"} <= names, names
    assert len(names) > 20, names
    # Events perf may not sample are reported once each, not once per CPU and event.
    dmesg = run("dmesg").out
    assert not re.search(r"pylttng: \w+ on cpu \d+: error", dmesg)
    for name in re.findall(r"pylttng: (\w+) is not recorded", dmesg):
        assert dmesg.count(f"pylttng: {name} is not recorded") == 1, name
