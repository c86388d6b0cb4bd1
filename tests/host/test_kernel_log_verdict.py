"""The short form of issue 23's debug-kernel check: the guest kernel log's verdict
(tests/vm/runner.py) fails a run on each checker's report, and the debug kernel's
config (tests/vm/debug-kernel.config) turns every checker on.

`make stress` boots that kernel and runs the whole VM suite on it; this keeps the two
halves of that check honest in `make check`, which cannot afford the kernel's build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2]
sys.path.append(str(SRC / "tests" / "vm"))

import runner
import stress

# The first line of each report, as the 6.1 and 6.12 kernels print it
# (mm/kasan/report.c, kernel/locking/lockdep.c, lib/ubsan.c, mm/kmemleak.c as
# forwarded by tests/vm/guest.sh, kernel/sched/core.c, kernel/hung_task.c, ...).
REPORTS = [
    "[  12.3] BUG: KASAN: slab-out-of-bounds in pylttng_ring_reserve+0x1c4/0x2a0 [pylttng]",
    "[  12.3] BUG: KASAN: use-after-free in kfree+0x5e/0x140",
    "[  12.3] WARNING: possible circular locking dependency detected",
    "[  12.3] WARNING: possible recursive locking detected",
    "[  12.3] WARNING: inconsistent lock state",
    "[  12.3] WARNING: bad unlock balance detected!",
    "[  12.3] WARNING: suspicious RCU usage",
    "[  12.3] WARNING: lock held when returning to user space!",
    "[  12.3] UBSAN: array-index-out-of-bounds in kmod/pylttng-events.c:210:14",
    "[  12.3] UBSAN: shift-out-of-bounds in kmod/pylttng-ringbuffer.c:88:30",
    "[  12.3] kmemleak: unreferenced object 0xffff888004a1c000 (size 64):",
    "[  12.3] BUG: sleeping function called from invalid context at mm/slab.h:723",
    "[  12.3] BUG: scheduling while atomic: lttng/212/0x00000002",
    "[  12.3] INFO: task pylttng-consum:301 blocked for more than 120 seconds.",
    ("[  12.3] general protection fault, probably for non-canonical address "
     "0xdffffc0000000003: 0000 [#1] PREEMPT SMP KASAN"),
    "[  12.3] refcount_t: underflow; use-after-free.",
    "[  12.3] list_del corruption. prev->next should be ffff8880, but was dead000000000100",
    ("[  12.3] WARNING: CPU: 1 PID: 212 at kmod/pylttng-ringbuffer.c:301 "
     "pylttng_ring_commit+0x90/0xc0 [pylttng]"),
]

# Lines a healthy debug-kernel run logs (from its guests' dmesg.txt).
HEALTHY = [
    "[ 236.9] pylttng: loading out-of-tree module taints kernel.",
    "[ 237.4] pylttng: LTTng-modules ABI 2.6 tracer ready",
    "[  38.3] hrtimer: interrupt took 3103220 ns",
    "[  18.9] ip (74) used greatest stack depth: 24656 bytes left",
    ("[ 511.3] Scheduler tracepoints stat_sleep, stat_iowait, stat_blocked and stat_runtime "
     "require the kernel parameter schedstats=enable or kernel.sched_schedstats=1"),
    ("[ 517.3] pylttng: x86_irq_vectors_irq_work_exit is not recorded: the kernel forbids "
     "sampling this tracepoint"),
    "[   0.0] kmemleak: Kernel memory leak detector initialized (mem pool free: 36251)",
    "[   0.0] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar",
]

# Each checker the issue names, and its config symbol.
CHECKERS = ["CONFIG_KASAN", "CONFIG_PROVE_LOCKING", "CONFIG_DEBUG_KMEMLEAK",
            "CONFIG_DEBUG_ATOMIC_SLEEP", "CONFIG_UBSAN"]


@pytest.mark.parametrize("report", REPORTS)
def test_each_checker_report_fails_the_run(report: str, tmp_path: Path) -> None:
    dmesg = "\n".join([*HEALTHY, report, HEALTHY[0]])
    (tmp_path / "dmesg.txt").write_text(dmesg + "\n")
    assert runner.kernel_trouble(tmp_path / "dmesg.txt") == [report]
    assert not runner.dmesg_clean(tmp_path)
    assert (tmp_path / "dmesg-verdict.txt").read_text() == "1 trouble lines\n"


def test_a_healthy_debug_kernel_log_passes(tmp_path: Path) -> None:
    (tmp_path / "dmesg.txt").write_text("\n".join(HEALTHY) + "\n")
    assert runner.dmesg_clean(tmp_path)
    assert (tmp_path / "dmesg-verdict.txt").read_text() == "clean\n"


def test_a_missing_log_fails_the_run(tmp_path: Path) -> None:
    assert not runner.dmesg_clean(tmp_path)


def test_the_debug_kernel_turns_every_checker_on() -> None:
    lines = (SRC / "tests" / "vm" / "debug-kernel.config").read_text().splitlines()
    for symbol in CHECKERS:
        assert f"{symbol}=y" in lines, symbol
        assert f"# {symbol} is not set" not in lines, symbol
    # A leak report needs the scan tests/vm/guest.sh starts; kmemleak must be on at boot.
    assert "# CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF is not set" in lines


def test_stress_knows_a_kernel_tree_with_kmemleak(tmp_path: Path) -> None:
    (tmp_path / ".config").write_text("CONFIG_KASAN=y\nCONFIG_DEBUG_KMEMLEAK=y\n")
    assert stress.has_kmemleak(tmp_path)
    (tmp_path / ".config").write_text("# CONFIG_DEBUG_KMEMLEAK is not set\n")
    assert not stress.has_kmemleak(tmp_path)
    assert not stress.has_kmemleak(None)
