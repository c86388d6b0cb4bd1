"""Issue 3, acceptance under load: every tracepoint, every system call and every context
that has no hardware behind it, recorded during 20 s of stress-ng, through each daemon.

The guest kernel must log no warning (the runner checks dmesg after the run) and
babeltrace2 must read the whole trace without an error or a warning other than its
report of events the full buffers discarded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import Lttng, counted_events

from bench.workloads import execute

# `lttng add-context -k --list` of 2.13 but for the hardware PMU counters (TCG has none).
CONTEXTS = [
    "pid", "procname", "prio", "nice", "vpid", "tid", "vtid", "ppid", "vppid", "hostname",
    "interruptible", "preemptible", "need_reschedule", "migratable", "callstack-kernel",
    "callstack-user", "cgroup_ns", "ipc_ns", "mnt_ns", "net_ns", "pid_ns", "time_ns",
    "user_ns", "uts_ns", "uid", "euid", "suid", "gid", "egid", "sgid", "vuid", "veuid",
    "vsuid", "vgid", "vegid", "vsgid", "perf:cpu:cpu-clock", "perf:cpu:context-switches",
    "perf:cpu:page-fault",
]

STRESS = ["stress-ng", "--timeout", "20s", "--metrics-brief", "--cpu", "1", "--switch", "1",
          "--open", "1", "--vm", "1", "--vm-bytes", "32M"]


def test_everything_on_under_stress(daemon: Lttng) -> None:
    lttng = daemon
    # Under TCG, arming or disarming every probe while every probe records the tracer's
    # own work takes minutes; the trace goes to the guest's memory (/tmp), where the
    # consumer's writes cost less than on the shared folder and feed back fewer events.
    lttng.timeout = 600
    output = Path("/tmp/pylttng-stress")
    shutil.rmtree(output, ignore_errors=True)
    lttng.ok("create", "stress", f"--output={output}")
    lttng.ok("enable-channel", "-k", "--subbuf-size", "1M", "--num-subbuf", "4", "chan")
    # With no event type, `-a` enables every tracepoint and every system call.
    enabled = lttng.ok("enable-event", "-k", "-c", "chan", "-a")
    assert "All kernel events are enabled in channel chan" in enabled.out, enabled.out
    again = lttng("enable-event", "-k", "-c", "chan", "--syscall", "-a")
    assert "Kernel events already enabled (channel chan, session stress)" in again.err, again
    added = lttng("add-context", "-k", "-c", "chan",
                  *[arg for ctx in CONTEXTS for arg in ("-t", ctx)])
    # The stock daemon refuses, as a whole, contexts it believes this kernel lacks.
    assert added.rc == 0 or "Context unavailable on this kernel" in added.err, added.text
    lttng.ok("start")
    execute(STRESS, timeout=180)  # WorkloadError with its output if it fails
    lttng.ok("stop")
    listed = lttng.ok("list", "stress")
    lttng.ok("destroy")

    # Full buffers drop events under this load: babeltrace2 says so, and only that.
    events = counted_events(output, discards_allowed=True, timeout=900)
    shutil.rmtree(output, ignore_errors=True)
    assert events > 10_000, f"only {events} events in 20 s of stress-ng"
    assert "Discarded events:" in listed.out, listed.out
