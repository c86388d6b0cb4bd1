"""Issue 23, bad input to the module: tests/vm/ioctl_fuzz.py throws random ioctls, mmaps
and closes at every fd type of /proc/lttng from several threads at once.

The kernel must stay up and quiet (the runner fails the run on any oops, WARN or KASAN
line in the guest's log), the fuzzer must come back, and once its fds are closed the
module must hold nothing of it: its reference count back where it was, vmalloc'd
buffers given back. `make stress` runs the long form (pytest --stress).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import MODULE_REFCNT, meminfo_kb, settled_refcount

FUZZER = Path(__file__).with_name("ioctl_fuzz.py")
# ioctls in make check's short form and in make stress's long one (--stress).
SHORT_OPS, LONG_OPS = 20_000, 200_000
# A leak of the fuzzer's channel buffers (hundreds of channels of 8 KiB to 512 KiB per
# CPU) is far above what the rest of the guest allocates meanwhile.
VMALLOC_SLACK_KB = 8192


def test_ioctl_fuzzer_leaves_the_kernel_whole(stress: bool) -> None:
    ops = LONG_OPS if stress else SHORT_OPS
    subprocess.run(["modprobe", "pylttng"], check=True)
    refcount, vmalloc_kb = int(MODULE_REFCNT.read_text()), meminfo_kb("VmallocUsed")
    seed = int(os.environ.get("PYLTTNG_FUZZ_SEED", str(int(time.time()))))
    run = subprocess.run([sys.executable, str(FUZZER), "--ops", str(ops), "--threads", "4",
                          "--seed", str(seed)],
                         capture_output=True, text=True, timeout=1800, check=False)
    assert run.returncode == 0, f"seed {seed}: {run.stdout}{run.stderr}"
    summary = json.loads(run.stdout)
    print(f"figure: {summary['ioctls']} ioctls fuzzed (seed {seed}): {summary}")
    assert summary["ioctls"] >= ops
    # It reached deep enough to matter: every fd type made, ioctls that succeeded.
    for kind in ("session", "channel", "metadata", "stream", "event", "list"):
        assert summary["fds_created"].get(kind, 0) > 0, summary
    assert summary["outcomes"].get("ok", 0) > ops // 20, summary
    assert settled_refcount(refcount, 60) == refcount, f"seed {seed}: fds left in the module"
    assert meminfo_kb("VmallocUsed") - vmalloc_kb < VMALLOC_SLACK_KB, f"seed {seed}: vmalloc grew"
