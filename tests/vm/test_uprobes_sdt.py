"""Issue 3, dynamic probes: `--userspace-probe sdt:PATH:PROVIDER:NAME` (SDT probes).

The test program carries the stapsdt notes sys/sdt.h would emit (hand-written: the guest
has no systemtap headers); "tick" fires on each of N iterations, "odd" on half of them.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import Lttng, build_c_program, read_trace

CALLS = 6
# Shared with the host test of the SDT note reader.
PROGRAM = (Path(__file__).resolve().parents[1] / "host" / "data" / "sdt_probes.c").read_text()


@pytest.fixture
def program(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return build_c_program(request, tmp_path, "sdt", PROGRAM, "-O2")


def sdt_scenario(lttng: Lttng, session: str, program: Path) -> None:
    lttng.ok("create", session)
    for name in ("tick", "odd"):
        made = lttng.ok("enable-event", "-k", "--userspace-probe", f"sdt:{program}:pyl:{name}",
                        f"sdt_{name}")
        assert f"kernel event sdt_{name} created in channel channel0" in made.out, made.text
    guarded = lttng("enable-event", "-k", "--userspace-probe", f"sdt:{program}:pyl:guarded",
                    "sdt_guarded")
    assert guarded.rc != 0 and "Invalid userspace probe location" in guarded.text, guarded.text
    lttng.ok("add-context", "-k", "-t", "pid")
    lttng.ok("start")
    with subprocess.Popen([str(program), str(CALLS)], stdout=subprocess.PIPE) as proc:
        proc.communicate()
    assert proc.returncode == 0
    lttng.ok("stop")
    lttng.ok("destroy")

    lines = read_trace(lttng, session)
    for name, want in (("tick", CALLS), ("odd", CALLS // 2)):
        hits = [line for line in lines if f" sdt_{name}: " in line]
        assert len(hits) == want, (name, hits)
        assert all(re.search(rf"\{{ pid = {proc.pid} \}}", line) for line in hits), hits


def test_sdt_probes_record_each_hit(daemon: Lttng, program: Path) -> None:
    sdt_scenario(daemon, "sdt", program)
