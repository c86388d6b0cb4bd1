"""Kernel ABI pieces of event sources: syscall list text, syscall and kprobe EVENT unions."""

from __future__ import annotations

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
