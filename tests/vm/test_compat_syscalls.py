"""Issue 3, system calls: 32-bit compat calls recorded as `compat_syscall_*`.

No 32-bit toolchain is needed: a 64-bit program issuing `int $0x80` enters the kernel's
ia32 compat path (CONFIG_IA32_EMULATION), with i386 numbers: 20 getpid, 5 open, 6 close,
and 7 waitpid, an i386-only call (no x86-64 number: its description comes from the
kernel's SYSCALL_DEFINE metadata, found by symbol).
"""

from __future__ import annotations

import gzip
import os
import platform
import re
import subprocess
from pathlib import Path

import pytest
from conftest import Lttng, build_c_program, read_trace

OPENED = "/etc/hostname"
PROGRAM = r"""
#include <stdio.h>

/* Linked without PIE: the string's address fits the 32-bit ebx. */
static const char path[] = "@OPENED@";

static long int80(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "r8", "r9", "r10", "r11", "memory");
	return ret;
}

int main(void)
{
	long pid = int80(20, 0, 0, 0);			/* getpid */
	long fd;

	/* Fault the string's page in: the probe copies it without faulting. */
	if (*(volatile const char *)path != '/')
		return 1;
	fd = int80(5, (long)path, 0, 0);		/* open(path, O_RDONLY) */

	int80(6, fd, 0, 0);				/* close */
	int80(7, -1, 0, 1);				/* waitpid(-1, NULL, WNOHANG) */
	printf("%ld %ld\n", pid, fd);
	return 0;
}
""".replace("@OPENED@", OPENED)

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86 ia32 compat path")


def ia32_emulation() -> bool:
    # A kernel built here (make debug-kernel) has no /boot/config-*, but /proc/config.gz.
    config = Path(f"/boot/config-{os.uname().release}")
    text = config.read_text() if config.exists() else gzip.decompress(
        Path("/proc/config.gz").read_bytes()).decode()
    return "CONFIG_IA32_EMULATION=y" in text


@pytest.fixture
def program(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return build_c_program(request, tmp_path, "int80", PROGRAM, "-O1", "-no-pie", "-fno-pie")


def payload(line: str) -> str:
    return line[line.rindex("{"):]


def compat_scenario(lttng: Lttng, session: str, program: Path) -> None:
    assert ia32_emulation(), "the guest kernel has no ia32 emulation"
    lttng.ok("create", session)
    made = lttng.ok("enable-event", "-k", "--syscall", "getpid,open,close,waitpid")
    assert "kernel event getpid created in channel channel0" in made.out, made.text
    lttng.ok("add-context", "-k", "-t", "pid")
    lttng.ok("start")
    with subprocess.Popen([str(program)], stdout=subprocess.PIPE, text=True) as proc:
        stdout, _ = proc.communicate()
    assert proc.returncode == 0
    lttng.ok("stop")
    lttng.ok("destroy")
    pid_s, fd_s = stdout.split()
    pid, fd = int(pid_s), int(fd_s)
    assert pid == proc.pid and fd >= 0, stdout

    mine = [line for line in read_trace(lttng, session)
            if re.search(rf"\{{ pid = {pid} \}}", line)]
    def events(name: str) -> list[str]:
        return [payload(line) for line in mine if f" {name}: " in line]

    assert events("compat_syscall_entry_getpid") == ["{ }"], mine
    assert events("compat_syscall_exit_getpid") == [f"{{ ret = {pid} }}"], mine
    assert events("compat_syscall_entry_open") == [
        f'{{ filename = "{OPENED}", flags = 0, mode = 0 }}'], mine
    assert events("compat_syscall_exit_open") == [f"{{ ret = {fd} }}"], mine
    assert events("compat_syscall_entry_close") == [f"{{ fd = {fd} }}"], mine
    assert events("compat_syscall_exit_close") == ["{ ret = 0 }"], mine
    # No child to wait for: -ECHILD.  The status pointer is an output, recorded on exit.
    assert events("compat_syscall_entry_waitpid") == ["{ pid = -1, options = 1 }"], mine
    [waited] = events("compat_syscall_exit_waitpid")
    assert re.fullmatch(r"\{ ret = -10, stat_addr = 0(x0)? \}", waited), mine
    # The 64-bit calls of the same process stay native (glibc's close of stdout, ...).
    assert not any(" compat_syscall_entry_unknown: " in line for line in mine), mine


def compat_listing(lttng: Lttng) -> None:
    lttng.ok("create", "spawn")  # `lttng list` does not spawn a session daemon
    listed = lttng.ok("list", "-k", "--syscall")
    lines = listed.out.splitlines()
    assert "      getpid [32/64-bit]" in lines, listed.out[:2000]
    assert "      open [32/64-bit]" in lines
    assert "      close [32/64-bit]" in lines
    # i386-only calls, described by their SYSCALL_DEFINE's metadata found by symbol.
    assert "      waitpid [32-bit]" in lines, listed.out[:2000]
    assert "      socketcall [32-bit]" in lines
    both = [line for line in lines if line.endswith(" [32/64-bit]")]
    assert len(both) > 250, len(both)


def test_compat_syscalls_recorded(daemon: Lttng, program: Path) -> None:
    compat_scenario(daemon, "compat", program)


def test_list_shows_compat_syscalls(daemon: Lttng) -> None:
    compat_listing(daemon)
