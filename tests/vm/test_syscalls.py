"""Issue 3, system calls: `enable-event -k --syscall`, `lttng list -k --syscall`, typed events."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

from conftest import Lttng, read_trace

# A process that opens a file gets the lowest free fd: holding many makes the test's own
# fd numbers stand out from those of other processes in the trace.
HELD_FDS = 150


def payload(line: str) -> str:
    """The last { ... } of a babeltrace2 text line: the event's own fields."""
    return line[line.rindex("{"):]


def test_openat_read_write_close_fields(daemon: Lttng) -> None:
    lttng = daemon
    path = f"/tmp/pylttng-probe-{os.getpid()}"
    missing = f"/tmp/pylttng-missing-{os.getpid()}"
    held = [os.open("/dev/null", os.O_RDONLY) for _ in range(HELD_FDS)]
    try:
        lttng.ok("create", "sc")
        enabled = lttng.ok("enable-event", "-k", "--syscall", "openat,read,write,close")
        for name in ("openat", "read", "write", "close"):
            assert f"kernel event {name} created in channel channel0" in enabled.out
        lttng.ok("start")
        wflags = os.O_CREAT | os.O_WRONLY | os.O_TRUNC
        wfd = os.open(path, wflags, 0o640)
        os.write(wfd, b"hello")
        os.close(wfd)
        rfd = os.open(path, os.O_RDONLY)
        got = os.read(rfd, 100)
        os.close(rfd)
        try:
            os.open(missing, os.O_RDONLY)
        except FileNotFoundError:
            pass
        time.sleep(0.3)
        lttng.ok("stop")
        lttng.ok("destroy")
    finally:
        for fd in held:
            os.close(fd)
        Path(path).unlink(missing_ok=True)
    assert got == b"hello"

    lines = read_trace(lttng, "sc")
    # Python adds O_CLOEXEC to every os.open().
    want_open = (f'{{ dfd = -100, filename = "{path}", '
                 f"flags = {wflags | os.O_CLOEXEC}, mode = {0o640} }}")
    entries = [i for i, line in enumerate(lines)
               if " syscall_entry_openat: " in line and payload(line) == want_open]
    assert entries, f"no syscall_entry_openat of {path}: {[x for x in lines if path in x]}"
    after = lines[entries[0]:]
    assert any(" syscall_exit_openat: " in line and payload(line) == f"{{ ret = {wfd} }}"
               for line in after), "openat's exit does not return the fd"
    assert any(" syscall_entry_write: " in line
               and re.fullmatch(rf"\{{ fd = {wfd}, buf = \d+, count = 5 \}}", payload(line))
               for line in after), "write of 5 bytes missing"
    assert any(" syscall_entry_close: " in line and payload(line) == f"{{ fd = {wfd} }}"
               for line in after), "close missing"
    assert any(" syscall_entry_read: " in line and payload(line) == f"{{ fd = {rfd}, count = 100 }}"
               for line in after), "read entry missing"
    assert any(" syscall_exit_read: " in line
               and re.fullmatch(r"\{ ret = 5, buf = [1-9]\d* \}", payload(line))
               for line in after), "read exit (ret, then the output buffer) missing"
    # A failing call: signed ret, the path still copied from user space.
    missing_at = [i for i, line in enumerate(lines)
                  if " syscall_entry_openat: " in line and f'filename = "{missing}"' in line]
    assert missing_at, "openat of a missing file not recorded"
    assert any(" syscall_exit_openat: " in line and payload(line) == "{ ret = -2 }"
               for line in lines[missing_at[0]:]), "ENOENT not recorded as ret = -2"


def test_all_syscalls_under_a_short_workload(lttng: Lttng) -> None:
    lttng.ok("create", "scall")
    enabled = lttng.ok("enable-event", "-k", "--syscall", "-a")
    assert "All kernel system calls are enabled in channel channel0" in enabled.out
    lttng.ok("start")
    for _ in range(3):
        subprocess.run(["/bin/true"], check=True)
    subprocess.run(["/bin/ls", "/"], check=True, capture_output=True)
    time.sleep(0.3)
    lttng.ok("stop")
    lttng.ok("destroy")

    lines = read_trace(lttng, "scall")
    names = {m.group(1) for line in lines
             if (m := re.search(r" (syscall_(?:entry|exit)_\w+): ", line))}
    for name in ("openat", "read", "close", "execve", "mmap", "newfstatat"):
        assert f"syscall_entry_{name}" in names, f"no syscall_entry_{name} in {sorted(names)}"
        assert f"syscall_exit_{name}" in names, f"no syscall_exit_{name}"
    assert any(" syscall_entry_execve: " in line and 'filename = "/bin/true"' in line
               for line in lines), "execve of /bin/true without its filename"
    assert len([line for line in lines if " syscall_entry_" in line]) > 100


def test_list_kernel_syscalls(daemon: Lttng) -> None:
    lttng = daemon
    lttng.ok("create", "spawn")  # `lttng list` does not spawn a session daemon
    listed = lttng.ok("list", "-k", "--syscall")
    lines = listed.out.splitlines()
    assert lines[:2] == ["System calls:", "-------------"]
    names = {line.split()[0] for line in lines[2:] if line.strip()}
    for name in ("openat", "read", "write", "close", "execve", "getppid"):
        assert name in names, f"{name} not listed"
    assert len(names) > 300
    assert "      openat [64-bit]" in lines or "      openat [32/64-bit]" in lines


def test_syscall_rule_that_matches_nothing(lttng: Lttng) -> None:
    lttng.ok("create", "nomatch")
    enabled = lttng("enable-event", "-k", "--syscall", "no_such_syscall")
    assert enabled.rc == 0, enabled.text
    assert "kernel event no_such_syscall created in channel channel0" in enabled.out
    lttng.ok("enable-event", "-k", "--syscall", "getppid")
    lttng.ok("start")
    os.getppid()
    listed = lttng.ok("list", "nomatch")
    assert "      no_such_syscall (type:syscall) [enabled]" in listed.out
    assert "      getppid (type:syscall) [enabled]" in listed.out
    lttng.ok("stop")
    lttng.ok("destroy")
    lines = read_trace(lttng, "nomatch")
    assert any(" syscall_entry_getppid: " in line and payload(line) == "{ }" for line in lines)
    assert any(" syscall_exit_getppid: " in line and payload(line) == f"{{ ret = {os.getppid()} }}"
               for line in lines)


def test_syscall_and_kprobe_events_carry_contexts(daemon: Lttng) -> None:
    lttng = daemon
    path = f"/tmp/pylttng-ctx-{os.getpid()}"
    lttng.ok("create", "scctx")
    lttng.ok("enable-event", "-k", "--syscall", "openat")
    lttng.ok("enable-event", "-k", "--probe", "do_sys_openat2", "ctxprobe")
    lttng.ok("add-context", "-k", "-t", "pid", "-t", "procname")
    lttng.ok("start")
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    time.sleep(0.3)
    lttng.ok("stop")
    lttng.ok("destroy")
    Path(path).unlink(missing_ok=True)

    lines = read_trace(lttng, "scctx")
    mine = [line for line in lines if " syscall_entry_openat: " in line and path in line]
    assert mine, "openat of the test's file missing"
    assert f"{{ pid = {os.getpid()}, procname = " in mine[0], mine[0]
    assert any(" ctxprobe: " in line and f"pid = {os.getpid()}," in line for line in lines)
