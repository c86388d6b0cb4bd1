"""Issue 3, acceptance under load: every tracepoint (but those only a kernel built to debug
locking has), every system call and every context that has no hardware behind it, recorded
during 20 s of stress-ng, through each daemon.

The guest kernel must log no warning (the runner checks dmesg after the run) and
babeltrace2 must read the whole trace without an error or a warning other than its
report of events the full buffers discarded.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from conftest import Lttng, counted_events
from test_catalogue import listed_names

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
# stress-ng's exit code when a stressor ended early for want of memory: the guest's /tmp,
# which holds the trace, is in memory, and the debug kernel's checkers take their share.
STRESS_NO_RESOURCE = 3


# The tracepoints a kernel has only when built to debug locking (PROVE_LOCKING,
# PREEMPTIRQ_TRACEPOINTS: the debug kernel of make stress). They fire at every lock taken and
# every interrupt or preemption toggle, the tracer's own included: recording each with two
# call stacks stalls that kernel under TCG for longer than the test may take.
DEBUG_ONLY = {"lock_acquire", "lock_release", "lock_contended", "lock_acquired",
              "preemptirq_irq_disable", "preemptirq_irq_enable",
              "preemptirq_preempt_disable", "preemptirq_preempt_enable"}


def step(what: str, began: float) -> None:
    """Where the time goes, shown with the test's output (-rA) and live under -s."""
    print(f"{what}: {time.monotonic() - began:.0f} s after `lttng start` was run", flush=True)


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
    # Each tracepoint by name, as a user listing them would: more events than the 1024 open
    # files a process starts with, each held by the session daemon as a file descriptor.
    names = sorted(set(listed_names(lttng)) - DEBUG_ONLY)
    assert len(names) > 1024, names
    enabled = lttng.ok("enable-event", "-k", "-c", "chan", "--tracepoint", ",".join(names))
    assert enabled.out.count(" created in channel chan\n") == len(names), enabled.out
    lttng.ok("enable-event", "-k", "-c", "chan", "--syscall", "-a")
    again = lttng("enable-event", "-k", "-c", "chan", "--syscall", "-a")
    assert "Kernel events already enabled (channel chan, session stress)" in again.err, again
    added = lttng("add-context", "-k", "-c", "chan",
                  *[arg for ctx in CONTEXTS for arg in ("-t", ctx)])
    # The stock daemon refuses, as a whole, contexts it believes this kernel lacks.
    assert added.rc == 0 or "Context unavailable on this kernel" in added.err, added.text
    began = time.monotonic()
    lttng.ok("start")
    step("started", began)
    # Stopped however the workload ends: pytest reports a failure far faster untraced.
    # stress-ng stops its workers after 20 s; they take minutes to wind down on the debug
    # kernel with every probe recording.
    try:
        # WorkloadError with its output if it fails
        execute(STRESS, timeout=600, success=(0, STRESS_NO_RESOURCE))
        step("stress-ng done", began)
    finally:
        stopped = lttng("stop")
        step("stopped", began)
    assert stopped.rc == 0, stopped.text
    listed = lttng.ok("list", "stress")
    lttng.ok("destroy")
    step("destroyed", began)

    # Full buffers drop events under this load: babeltrace2 says so, and only that.
    events = counted_events(output, discards_allowed=True, timeout=900)
    step("read", began)
    shutil.rmtree(output, ignore_errors=True)
    assert events > 10_000, f"only {events} events in 20 s of stress-ng"
    assert "Discarded events:" in listed.out, listed.out
