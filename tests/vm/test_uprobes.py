"""Issue 3, dynamic probes: `enable-event -k --userspace-probe elf:PATH:SYMBOL` (uprobes).

A tiny C program, compiled in the guest, calls a noinline function N times; the probe on
it records exactly N events carrying the program's pid, through pylttng's daemons and
through the stock lttng-sessiond + lttng-consumerd driving pylttng.ko.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import Lttng, build_c_program, read_trace

CALLS = 7
FUNCTION = "pyl_probed"
PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int pyl_probed(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1, sum = 0;

	for (int i = 0; i < n; i++)
		sum += pyl_probed(i);
	printf("%d\n", sum);
	return 0;
}
"""


@pytest.fixture
def program(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return build_c_program(request, tmp_path, "probed", PROGRAM, "-O2")


def run_program(path: Path, calls: int) -> int:
    with subprocess.Popen([str(path), str(calls)], stdout=subprocess.PIPE, text=True) as proc:
        stdout, _ = proc.communicate()
    assert proc.returncode == 0 and stdout.strip() == str(3 * sum(range(calls)))
    return proc.pid


def uprobe_scenario(lttng: Lttng, session: str, program: Path) -> None:
    lttng.ok("create", session)
    made = lttng.ok("enable-event", "-k", "--userspace-probe", f"elf:{program}:{FUNCTION}",
                    "myuprobe")
    assert "kernel event myuprobe created in channel channel0" in made.out, made.text
    lttng.ok("add-context", "-k", "-t", "pid")
    lttng.ok("start")
    pid = run_program(program, CALLS)
    run_program(program, 0)  # a run that never calls it records nothing
    lttng.ok("stop")
    lttng.ok("destroy")

    lines = read_trace(lttng, session)
    hits = [line for line in lines if " myuprobe: " in line]
    assert len(hits) == CALLS, lines[-30:]
    ips = set()
    for line in hits:
        assert re.search(rf"\{{ pid = {pid} \}}", line), line
        m = re.search(r"\{ ip = (0x[0-9A-Fa-f]+) \}$", line)
        assert m, line
        ips.add(int(m.group(1), 16))
    # One user-space address: the function's first instruction in the process.
    assert len(ips) == 1 and 0 < ips.pop() < 0x800000000000


def bad_locations(lttng: Lttng, program: Path) -> None:
    lttng.ok("create", "bad")
    bad = lttng("enable-event", "-k", "--userspace-probe", f"elf:{program}:no_such_fn",
                "badfn")
    assert bad.rc != 0
    assert "Invalid userspace probe location" in bad.text, bad.text
    missing = lttng("enable-event", "-k", "--userspace-probe", "elf:/no/such/binary:main",
                    "nobin")
    assert missing.rc != 0
    assert "Cannot find binary at path: /no/such/binary." in missing.text, missing.text
    # Not an ELF file: the lookup fails the same way.
    notelf = lttng("enable-event", "-k", "--userspace-probe", "elf:/etc/hostname:main",
                   "notelf")
    assert notelf.rc == bad.rc and "Invalid userspace probe location" in notelf.text
    listed = lttng.ok("list", "bad")
    assert "badfn" not in listed.out and "notelf" not in listed.out
    print("bad symbol:", bad.rc, bad.text)


def test_uprobe_records_each_call(daemon: Lttng, program: Path) -> None:
    uprobe_scenario(daemon, "up", program)


def test_uprobe_bad_location_gets_lttng_error(daemon: Lttng, program: Path) -> None:
    bad_locations(daemon, program)


# The stock CLI wants the binary's fd back with the LIST_EVENTS reply (lttcomm_lttng_msg
# fd_count, then SCM_RIGHTS), and prints the location from it.
def test_uprobe_event_listed(daemon: Lttng, program: Path) -> None:
    daemon.ok("create", "uplist")
    daemon.ok("enable-event", "-k", "--userspace-probe", f"elf:{program}:{FUNCTION}",
              "myuprobe")
    listed = daemon.ok("list", "uplist")
    assert "myuprobe (type: userspace-probe) [enabled]" in listed.out, listed.out
    assert f"Binary path:   {program}" in listed.out, listed.out
    assert f"Function:      {FUNCTION}()" in listed.out, listed.out
