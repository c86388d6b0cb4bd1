"""LTTng-modules kernel ABI 2.6: ioctl numbers and struct layouts of /proc/lttng.

Facts from lttng-modules stable-2.13 include/lttng/abi.h (tracer, session, channel and
event file-descriptor ioctls). Ring-buffer (stream) ioctls live in ringbuffer_abi.py.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from construct import Bytes, Int8ul, Int32sl, Int32ul, Int64ul, Struct

ABI_MAJOR_VERSION: Final = 2
ABI_MINOR_VERSION: Final = 6

SYM_NAME_LEN: Final = 256
SESSION_NAME_LEN: Final = 256
SESSION_CREATION_TIME_ISO8601_LEN: Final = 26
CHANNEL_PADDING: Final = SYM_NAME_LEN + 32
EVENT_PADDING1: Final = 8
EVENT_PADDING2: Final = SYM_NAME_LEN + 32

PROC_PATH: Final = "/proc/lttng"

# asm-generic/ioctl.h encoding (x86-64, arm64): dir:2 size:14 type:8 nr:8.
_IOC_NONE: Final = 0
_IOC_WRITE: Final = 1
_IOC_READ: Final = 2


def _ioc(direction: int, type_: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (type_ << 8) | nr


def _io(type_: int, nr: int) -> int:
    return _ioc(_IOC_NONE, type_, nr, 0)


def _ior(type_: int, nr: int, size: int) -> int:
    return _ioc(_IOC_READ, type_, nr, size)


def _iow(type_: int, nr: int, size: int) -> int:
    return _ioc(_IOC_WRITE, type_, nr, size)


def _iowr(type_: int, nr: int, size: int) -> int:
    return _ioc(_IOC_READ | _IOC_WRITE, type_, nr, size)


class Instrumentation(enum.IntEnum):
    """enum lttng_kernel_abi_instrumentation."""

    TRACEPOINT = 0
    KPROBE = 1
    FUNCTION = 2
    KRETPROBE = 3
    NOOP = 4
    SYSCALL = 5
    UPROBE = 6


class Output(enum.IntEnum):
    """enum lttng_kernel_abi_output."""

    SPLICE = 0
    MMAP = 1


class SyscallEntryExit(enum.IntEnum):
    """enum lttng_kernel_abi_syscall_entryexit."""

    ENTRYEXIT = 0
    ENTRY = 1
    EXIT = 2


class SyscallAbi(enum.IntEnum):
    """enum lttng_kernel_abi_syscall_abi."""

    ALL = 0
    NATIVE = 1
    COMPAT = 2


class TrackerType(enum.IntEnum):
    """enum lttng_kernel_abi_tracker_type: the process attribute a tracker filters on."""

    PID = 0
    VPID = 1
    UID = 2
    VUID = 3
    GID = 4
    VGID = 5


# The id of TRACK (track every value) and of UNTRACK (track none).
TRACKER_ALL_IDS: Final = -1


# struct lttng_kernel_abi_tracer_version (packed)
TracerVersion = Struct("major" / Int32ul, "minor" / Int32ul, "patchlevel" / Int32ul)
# struct lttng_kernel_abi_tracer_abi_version (packed)
TracerAbiVersion = Struct("major" / Int32ul, "minor" / Int32ul)
# struct lttng_kernel_abi_session_name (packed)
SessionName = Struct("name" / Bytes(SESSION_NAME_LEN))
# struct lttng_kernel_abi_session_creation_time (packed)
SessionCreationTime = Struct("iso8601" / Bytes(SESSION_CREATION_TIME_ISO8601_LEN))
# struct lttng_kernel_abi_tracker_args
TrackerArgs = Struct("type" / Int32ul, "id" / Int32sl)

# struct lttng_kernel_abi_channel (packed, 320 bytes)
Channel = Struct(
    "subbuf_size" / Int64ul,
    "num_subbuf" / Int64ul,
    "switch_timer_interval" / Int32ul,
    "read_timer_interval" / Int32ul,
    "output" / Int32ul,
    "overwrite" / Int32sl,
    "padding" / Bytes(CHANNEL_PADDING),
)

# struct lttng_kernel_abi_syscall (packed), one member of the event's union
Syscall = Struct(
    "entryexit" / Int8ul,
    "abi" / Int8ul,
    "match" / Int8ul,
    "padding" / Int8ul,
    "nr" / Int32ul,
)

# struct lttng_kernel_abi_kprobe (packed): either addr, or symbol_name + offset
Kprobe = Struct(
    "addr" / Int64ul,
    "offset" / Int64ul,
    "symbol_name" / Bytes(SYM_NAME_LEN),
)

# struct lttng_kernel_abi_kretprobe (packed): a kprobe plus entryexit
Kretprobe = Struct(
    "addr" / Int64ul,
    "offset" / Int64ul,
    "symbol_name" / Bytes(SYM_NAME_LEN),
    "entryexit" / Int8ul,
)

# struct lttng_kernel_abi_event (packed, 564 bytes); the union stays raw: tracepoints
# leave it zeroed, syscalls put a Syscall at its start.
# struct lttng_kernel_abi_uprobe (packed): the binary, as an fd of the caller
Uprobe = Struct("fd" / Int32sl)

# struct lttng_kernel_abi_event_callsite (packed): ADD_CALLSITE's one uprobe offset
EventCallsite = Struct("offset" / Int64ul)

Event = Struct(
    "name" / Bytes(SYM_NAME_LEN),
    "instrumentation" / Int32ul,
    "token" / Int64ul,
    "padding" / Bytes(EVENT_PADDING1),
    "u" / Bytes(EVENT_PADDING2),
)

TRACER_VERSION_SIZE: Final[int] = TracerVersion.sizeof()
TRACER_ABI_VERSION_SIZE: Final[int] = TracerAbiVersion.sizeof()
TRACKER_ARGS_SIZE: Final[int] = TrackerArgs.sizeof()
CHANNEL_SIZE: Final[int] = Channel.sizeof()
EVENT_SIZE: Final[int] = Event.sizeof()

# /proc/lttng (tracer) ioctls
SESSION: Final = _io(0xF6, 0x45)
TRACER_VERSION: Final = _ior(0xF6, 0x46, TRACER_VERSION_SIZE)
TRACEPOINT_LIST: Final = _io(0xF6, 0x47)
WAIT_QUIESCENT: Final = _io(0xF6, 0x48)
SYSCALL_LIST: Final = _io(0xF6, 0x4A)
TRACER_ABI_VERSION: Final = _ior(0xF6, 0x4B, TRACER_ABI_VERSION_SIZE)

# session fd ioctls
METADATA: Final = _iow(0xF6, 0x54, CHANNEL_SIZE)
CHANNEL: Final = _iow(0xF6, 0x55, CHANNEL_SIZE)
SESSION_START: Final = _io(0xF6, 0x56)
SESSION_STOP: Final = _io(0xF6, 0x57)
# The pid is the ioctl's argument itself, not a pointer to it.
SESSION_TRACK_PID: Final = _iow(0xF6, 0x58, 4)
SESSION_UNTRACK_PID: Final = _iow(0xF6, 0x59, 4)
# Same numbers as the two above, told apart by the direction bits.
SESSION_LIST_TRACKER_PIDS: Final = _io(0xF6, 0x58)
SESSION_METADATA_REGEN: Final = _io(0xF6, 0x59)
SESSION_STATEDUMP: Final = _io(0xF6, 0x5C)
SESSION_SET_NAME: Final = _iow(0xF6, 0x5D, SESSION_NAME_LEN)
SESSION_SET_CREATION_TIME: Final = _iow(0xF6, 0x5E, SESSION_CREATION_TIME_ISO8601_LEN)

# session fd: trackers of any process attribute (struct lttng_kernel_abi_tracker_args)
SESSION_LIST_TRACKER_IDS: Final = _iow(0xF6, 0xA0, TRACKER_ARGS_SIZE)
SESSION_TRACK_ID: Final = _iow(0xF6, 0xA1, TRACKER_ARGS_SIZE)
SESSION_UNTRACK_ID: Final = _iow(0xF6, 0xA2, TRACKER_ARGS_SIZE)

# channel fd ioctls
STREAM: Final = _io(0xF6, 0x62)
EVENT: Final = _iow(0xF6, 0x63, EVENT_SIZE)
# pylttng's own: struct pyl_abi_channel_stats, the channel's `lttng list` statistics.
ChannelStats = Struct("discarded_events" / Int64ul, "lost_packets" / Int64ul)
CHANNEL_STATS_SIZE: Final = 16
CHANNEL_STATS: Final = _ior(0xF6, 0x6E, CHANNEL_STATS_SIZE)

# event, channel and session fd ioctls
# struct lttng_kernel_abi_context: u32 ctx, 16 bytes padding, union of 256 + 32 bytes.
CONTEXT_PADDING1: Final = 16
CONTEXT_PADDING2: Final = SYM_NAME_LEN + 32
CONTEXT_SIZE: Final = 4 + CONTEXT_PADDING1 + CONTEXT_PADDING2
CONTEXT: Final = _iow(0xF6, 0x71, CONTEXT_SIZE)

ENABLE: Final = _io(0xF6, 0x82)
DISABLE: Final = _io(0xF6, 0x83)

# event fd: add a uprobe callsite (an _IO number, though it takes a pointer)
ADD_CALLSITE: Final = _io(0xF6, 0x91)


def build_channel(
    *,
    subbuf_size: int,
    num_subbuf: int,
    switch_timer_interval: int,
    read_timer_interval: int,
    output: int,
    overwrite: int,
) -> bytes:
    return bytes(
        Channel.build(
            {
                "subbuf_size": subbuf_size,
                "num_subbuf": num_subbuf,
                "switch_timer_interval": switch_timer_interval,
                "read_timer_interval": read_timer_interval,
                "output": output,
                "overwrite": overwrite,
                "padding": bytes(CHANNEL_PADDING),
            }
        )
    )


@dataclass(frozen=True)
class ProbeLocation:
    """Where a kprobe/kretprobe goes: an address, or a symbol plus an offset."""

    addr: int = 0
    offset: int = 0
    symbol_name: str = ""


def _sym(name: str) -> bytes:
    return name.encode()[: SYM_NAME_LEN - 1].ljust(SYM_NAME_LEN, b"\0")


def _event_union(
    instrumentation: int,
    syscall_entryexit: int,
    syscall_abi: int,
    probe: ProbeLocation | None,
    uprobe_fd: int,
) -> bytes:
    raw = b""
    if instrumentation == Instrumentation.UPROBE:
        raw = Uprobe.build({"fd": uprobe_fd})
    if instrumentation == Instrumentation.SYSCALL:
        raw = Syscall.build(
            {"entryexit": syscall_entryexit, "abi": syscall_abi, "match": 0, "padding": 0, "nr": 0}
        )
    elif instrumentation in (Instrumentation.KPROBE, Instrumentation.KRETPROBE):
        where = probe or ProbeLocation()
        fields = {"addr": where.addr, "offset": where.offset, "symbol_name": _sym(where.symbol_name)}
        if instrumentation == Instrumentation.KRETPROBE:
            raw = Kretprobe.build({**fields, "entryexit": 0})
        else:
            raw = Kprobe.build(fields)
    return bytes(raw) + bytes(EVENT_PADDING2 - len(raw))


def build_event(
    name: str,
    instrumentation: int,
    *,
    token: int = 0,
    syscall_entryexit: int = SyscallEntryExit.ENTRYEXIT,
    syscall_abi: int = SyscallAbi.ALL,
    probe: ProbeLocation | None = None,
    uprobe_fd: int = -1,
) -> bytes:
    union = _event_union(instrumentation, syscall_entryexit, syscall_abi, probe, uprobe_fd)
    raw_name = name.encode()[: SYM_NAME_LEN - 1]
    return bytes(
        Event.build(
            {
                "name": raw_name.ljust(SYM_NAME_LEN, b"\0"),
                "instrumentation": instrumentation,
                "token": token,
                "padding": bytes(EVENT_PADDING1),
                "u": union,
            }
        )
    )


@dataclass(frozen=True)
class SyscallListEntry:
    """One line of the SYSCALL_LIST fd."""

    index: int
    name: str
    bitness: int


_SYSCALL_LINE = re.compile(r"syscall \{ index = (\d+); name = ([^;]{1,254}); bitness = (\d+); \};")


def parse_syscall_list(text: str) -> list[SyscallListEntry]:
    """The text of a SYSCALL_LIST fd, as syscall_init_table() scans it (stops at a bad line)."""
    entries = []
    for line in text.splitlines():
        m = _SYSCALL_LINE.fullmatch(line.strip())
        if m is None:
            break
        entries.append(SyscallListEntry(int(m[1]), m[2], int(m[3])))
    return entries


def build_callsite(offset: int) -> bytes:
    """struct lttng_kernel_abi_event_callsite for a uprobe at this file offset."""
    return bytes(EventCallsite.build({"offset": offset}))


def build_tracker_args(tracker: int, id_: int) -> bytes:
    """struct lttng_kernel_abi_tracker_args of TRACK_ID, UNTRACK_ID and LIST_TRACKER_IDS."""
    return bytes(TrackerArgs.build({"type": tracker, "id": id_}))


# What a LIST_TRACKER_* fd's lines name, by tracker (lttng-modules' id_list_show()).
_TRACKER_LINE_NAMES: Final = {
    TrackerType.PID: ("process", "pid"),
    TrackerType.VPID: ("process", "vpid"),
    TrackerType.UID: ("user", "uid"),
    TrackerType.VUID: ("user", "vuid"),
    TrackerType.GID: ("group", "gid"),
    TrackerType.VGID: ("group", "vgid"),
}


def parse_tracker_list(tracker: TrackerType, text: str) -> list[int]:
    """The ids of a LIST_TRACKER_* fd's text, one "process { pid = 42; };" line each;
    [TRACKER_ALL_IDS] for a tracker of every value, [] for one of none."""
    what, attr = _TRACKER_LINE_NAMES[tracker]
    line = re.compile(rf"{what} \{{ {attr} = (-?\d+); \}};")
    ids = []
    for raw in text.splitlines():
        m = line.fullmatch(raw)
        if m is None:
            raise ValueError(f"not a {attr} tracker line: {raw!r}")
        ids.append(int(m[1]))
    return ids


def build_session_name(name: str) -> bytes:
    raw = name.encode()[: SESSION_NAME_LEN - 1]
    return raw.ljust(SESSION_NAME_LEN, b"\0")


def build_creation_time(iso8601: str) -> bytes:
    raw = iso8601.encode()[: SESSION_CREATION_TIME_ISO8601_LEN - 1]
    return raw.ljust(SESSION_CREATION_TIME_ISO8601_LEN, b"\0")


class ContextType(enum.IntEnum):
    """enum lttng_kernel_abi_context_type."""

    PID = 0
    PERF_CPU_COUNTER = 1
    PROCNAME = 2
    PRIO = 3
    NICE = 4
    VPID = 5
    TID = 6
    VTID = 7
    PPID = 8
    VPPID = 9
    HOSTNAME = 10
    CPU_ID = 11
    INTERRUPTIBLE = 12
    PREEMPTIBLE = 13
    NEED_RESCHEDULE = 14
    MIGRATABLE = 15
    CALLSTACK_KERNEL = 16
    CALLSTACK_USER = 17
    CGROUP_NS = 18
    IPC_NS = 19
    MNT_NS = 20
    NET_NS = 21
    PID_NS = 22
    USER_NS = 23
    UTS_NS = 24
    UID = 25
    EUID = 26
    SUID = 27
    GID = 28
    EGID = 29
    SGID = 30
    VUID = 31
    VEUID = 32
    VSUID = 33
    VGID = 34
    VEGID = 35
    VSGID = 36
    TIME_NS = 37


PerfCounterCtx = Struct(
    "type" / Int32ul,
    "config" / Int64ul,
    "name" / Bytes(SYM_NAME_LEN),
)


def build_context(ctx: int, *, perf_type: int = 0, perf_config: int = 0, perf_name: str = "") -> bytes:
    """struct lttng_kernel_abi_context; the perf counter part only matters for PERF_CPU_COUNTER."""
    raw_name = perf_name.encode()[: SYM_NAME_LEN - 1].ljust(SYM_NAME_LEN, b"\0")
    perf = bytes(PerfCounterCtx.build({"type": perf_type, "config": perf_config, "name": raw_name}))
    union = perf + bytes(CONTEXT_PADDING2 - len(perf))
    return bytes(Int32ul.build(ctx)) + bytes(CONTEXT_PADDING1) + union
