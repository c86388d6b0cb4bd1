"""Kernel ABI pieces of event sources and trackers: syscall list text, syscall and kprobe EVENT
unions, tracker ioctls and list text."""

from __future__ import annotations

import pytest
from pylttng.protocol import kernel_abi as abi


def test_parse_syscall_list_stops_at_first_bad_line() -> None:
    text = (
        "syscall { index = 0; name = read; bitness = 64; };\n"
        "syscall { index = 257; name = openat; bitness = 64; };\n"
        "garbage\n"
        "syscall { index = 3; name = close; bitness = 64; };\n"
    )
    assert abi.parse_syscall_list(text) == [
        abi.SyscallListEntry(0, "read", 64),
        abi.SyscallListEntry(257, "openat", 64),
    ]


def test_syscall_event_union() -> None:
    raw = abi.build_event("openat", abi.Instrumentation.SYSCALL,
                          syscall_entryexit=abi.SyscallEntryExit.EXIT)
    assert len(raw) == abi.EVENT_SIZE == 564
    ev = abi.Event.parse(raw)
    assert ev.instrumentation == abi.Instrumentation.SYSCALL
    sc = abi.Syscall.parse(ev.u)
    assert (sc.entryexit, sc.abi, sc.match, sc.nr) == (2, 0, 0, 0)


def test_kprobe_and_kretprobe_unions() -> None:
    where = abi.ProbeLocation(offset=0x10, symbol_name="do_sys_openat2")
    kp = abi.Event.parse(abi.build_event("myprobe", abi.Instrumentation.KPROBE, probe=where))
    parsed = abi.Kprobe.parse(kp.u)
    assert (parsed.addr, parsed.offset) == (0, 0x10)
    assert parsed.symbol_name.rstrip(b"\0") == b"do_sys_openat2"
    raw = abi.build_event("myfn", abi.Instrumentation.KRETPROBE,
                          probe=abi.ProbeLocation(addr=0xFFFFFFFF81000000))
    assert len(raw) == abi.EVENT_SIZE
    krp = abi.Kretprobe.parse(abi.Event.parse(raw).u)
    assert (krp.addr, krp.symbol_name[0], krp.entryexit) == (0xFFFFFFFF81000000, 0, 0)


def test_tracker_ioctls_and_args() -> None:
    # lttng-modules include/lttng/abi.h: the pid ones share 0x58/0x59 with _IO commands.
    assert abi.SESSION_TRACK_PID == 0x4004F658
    assert abi.SESSION_LIST_TRACKER_PIDS == 0xF658
    assert abi.SESSION_METADATA_REGEN == 0xF659
    assert abi.SESSION_TRACK_ID == 0x4008F6A1
    raw = abi.build_tracker_args(abi.TrackerType.VGID, abi.TRACKER_ALL_IDS)
    assert raw == bytes([5, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])


def test_parse_tracker_list() -> None:
    text = "user { vuid = -1; };\n"
    assert abi.parse_tracker_list(abi.TrackerType.VUID, text) == [abi.TRACKER_ALL_IDS]
    text = "process { pid = 3; };\nprocess { pid = 42; };\n"
    assert abi.parse_tracker_list(abi.TrackerType.PID, text) == [3, 42]
    assert abi.parse_tracker_list(abi.TrackerType.GID, "") == []
    with pytest.raises(ValueError):
        abi.parse_tracker_list(abi.TrackerType.VPID, text)
