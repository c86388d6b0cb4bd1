"""The lttng_statedump_* events: at session start and on `lttng regenerate statedump`."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from conftest import Lttng, read_trace


def test_statedump_at_start_and_on_regenerate(lttng: Lttng, tmp_path: Path) -> None:
    held = tmp_path / "held-open-by-the-test.txt"
    held.write_text("x")
    with open(held) as f:
        lttng.ok("create", "dump")
        lttng.ok("enable-event", "-k", "lttng_statedump_*")
        not_started = lttng("regenerate", "statedump")
        assert not_started.rc != 0
        lttng.ok("start")
        time.sleep(0.2)
        lttng.ok("regenerate", "statedump")
        time.sleep(0.2)
        lttng.ok("stop")
        lttng.ok("destroy")
        fd = f.fileno()

    lines = read_trace(lttng, "dump")
    starts = [line for line in lines if " lttng_statedump_start: " in line]
    ends = [line for line in lines if " lttng_statedump_end: " in line]
    assert len(starts) == 2 and len(ends) == 2, (len(starts), len(ends))

    me = os.getpid()
    mine = [line for line in lines if " lttng_statedump_process_state: " in line
            and re.search(rf"\btid = {me}, pid = {me}, ppid = {os.getppid()}\b", line)]
    assert len(mine) == 2, f"process_state of pid {me}: {mine}"
    assert 'name = "python' in mine[0] or 'name = "pytest' in mine[0], mine[0]

    fds = [line for line in lines if " lttng_statedump_file_descriptor: " in line
           and f'filename = "{held}"' in line]
    assert len(fds) == 2, fds
    assert re.search(rf"\bfd = {fd}\b", fds[0]), fds[0]

    for event in ("interrupt", "network_interface", "cpu_topology"):
        assert any(f" lttng_statedump_{event}: " in line for line in lines), event
    # One block_device event per disk and partition; a guest may have none (the cloud
    # kernels build no ramdisk or loop device in).
    disks = sorted(p.name for p in Path("/sys/block").iterdir())
    dumped = [line for line in lines if " lttng_statedump_block_device: " in line]
    assert bool(dumped) == bool(disks), (disks, dumped[:3])
    loopback = [line for line in lines if " lttng_statedump_network_interface: " in line
                and 'name = "lo"' in line]
    assert loopback and "address_ipv4 = 0x7f000001" in loopback[0].lower(), loopback
    cpus = [line for line in lines if " lttng_statedump_cpu_topology: " in line]
    assert len(cpus) == 2 * os.cpu_count(), cpus  # type: ignore[operator]
