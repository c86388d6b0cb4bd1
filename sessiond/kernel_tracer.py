"""The kernel tracer layer: every ioctl on /proc/lttng and on the fds it hands out.

Typed arguments in, fds and typed values out; the ABI bytes are built here only. The call
sequence mirrors lttng-tools src/common/kernel-ctl/kernel-ctl.c, so the module behaves
the same under this daemon and under the stock one. Calls that can block in the module
(it registers probes, waits for RCU grace periods, walks every task, tears a session down)
are coroutines that run the ioctl in a worker thread, so the daemon's loop keeps serving.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import time
from collections.abc import Callable
from typing import TypeVar

import trio
from pylttng.protocol import kernel_abi as abi
from pylttng.protocol import ringbuffer_abi

T = TypeVar("T")

# kernel_list_events() scans the fd with fscanf("event { name = %m[^;]; };\n").
_TRACEPOINT_LINE = re.compile(r"event \{ name = ([^;]+); \};")


class KernelTracerError(OSError):
    """An ioctl on the tracer failed (errno kept)."""


def _ioctl(fd: int, request: int, arg: bytes | int = 0) -> int:
    """An ioctl whose argument is a value (an int) or points to a struct (bytes)."""
    try:
        if isinstance(arg, int):
            return int(fcntl.ioctl(fd, request, arg))
        # A mutable buffer makes fcntl.ioctl return the syscall result (the new fd).
        return int(fcntl.ioctl(fd, request, bytearray(arg), True))
    except OSError as exc:
        raise KernelTracerError(exc.errno, f"ioctl {request:#x}: {exc.strerror}") from None


def _ioctl_read(fd: int, request: int, size: int) -> bytes:
    buf = bytearray(size)
    try:
        fcntl.ioctl(fd, request, buf, True)
    except OSError as exc:
        raise KernelTracerError(exc.errno, f"ioctl {request:#x}: {exc.strerror}") from None
    return bytes(buf)


def _new_fd(fd: int, request: int, arg: bytes | int = 0) -> int:
    # The stock daemon marks every tracer fd FD_CLOEXEC so spawned consumers don't inherit it.
    new = _ioctl(fd, request, arg)
    os.set_inheritable(new, False)
    return new


def _read_listing(fd: int) -> str:
    with os.fdopen(fd, "rb") as f:
        return f.read().decode(errors="replace")


async def _off_loop(fn: Callable[..., T], *args: object) -> T:
    return await trio.to_thread.run_sync(fn, *args)


def creation_time_iso8601(timestamp: int) -> str:
    """time_to_iso8601_str() (src/common/time.c): local time, "%Y%m%dT%H%M%S%z"."""
    return time.strftime("%Y%m%dT%H%M%S%z", time.localtime(timestamp))


def parse_tracepoint_list(text: str) -> list[str]:
    """The names of a TRACEPOINT_LIST fd's text, stopping at the first line fscanf rejects."""
    names = []
    for line in text.splitlines():
        m = _TRACEPOINT_LINE.fullmatch(line)
        if m is None:
            break
        names.append(m[1])
    return names


class KernelTracer:
    """The open /proc/lttng control file and the operations lttng-sessiond performs on it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, path: str = abi.PROC_PATH) -> KernelTracer:
        return cls(os.open(path, os.O_RDWR | os.O_CLOEXEC))

    def close(self) -> None:
        os.close(self.fd)

    # --- tracer fd ---------------------------------------------------------------------
    def answers(self) -> bool:
        """Whether the module behind the fd is still loaded (it answers its ABI version)."""
        try:
            self.abi_version()
        except KernelTracerError:
            return False
        return True

    def abi_version(self) -> tuple[int, int]:
        raw = _ioctl_read(self.fd, abi.TRACER_ABI_VERSION, abi.TRACER_ABI_VERSION_SIZE)
        v = abi.TracerAbiVersion.parse(raw)
        return int(v.major), int(v.minor)

    def tracer_version(self) -> tuple[int, int, int]:
        raw = _ioctl_read(self.fd, abi.TRACER_VERSION, abi.TRACER_VERSION_SIZE)
        v = abi.TracerVersion.parse(raw)
        return int(v.major), int(v.minor), int(v.patchlevel)

    async def wait_quiescent(self) -> None:
        await _off_loop(_ioctl, self.fd, abi.WAIT_QUIESCENT)

    async def list_syscalls(self) -> list[abi.SyscallListEntry]:
        """kernctl_syscall_list() read to the end, parsed like syscall_init_table()."""
        fd = _ioctl(self.fd, abi.SYSCALL_LIST)
        return abi.parse_syscall_list(await _off_loop(_read_listing, fd))

    async def list_tracepoints(self) -> list[str]:
        """kernctl_tracepoint_list() read to the end, parsed like kernel_list_events()."""
        fd = _ioctl(self.fd, abi.TRACEPOINT_LIST)
        return parse_tracepoint_list(await _off_loop(_read_listing, fd))

    async def create_session(self) -> int:
        return await _off_loop(_new_fd, self.fd, abi.SESSION)

    # --- session fd --------------------------------------------------------------------
    def session_set_name(self, session_fd: int, name: str) -> None:
        _ioctl(session_fd, abi.SESSION_SET_NAME, abi.build_session_name(name))

    def session_set_creation_time(self, session_fd: int, timestamp: int) -> None:
        iso = creation_time_iso8601(timestamp)
        _ioctl(session_fd, abi.SESSION_SET_CREATION_TIME, abi.build_creation_time(iso))

    async def create_channel(
        self,
        session_fd: int,
        *,
        subbuf_size: int,
        num_subbuf: int,
        switch_timer_us: int,
        read_timer_us: int,
        mmap_output: bool,
        overwrite: bool,
    ) -> int:
        raw = abi.build_channel(
            subbuf_size=subbuf_size,
            num_subbuf=num_subbuf,
            switch_timer_interval=switch_timer_us,
            read_timer_interval=read_timer_us,
            output=abi.Output.MMAP if mmap_output else abi.Output.SPLICE,
            overwrite=int(overwrite),
        )
        return await _off_loop(_new_fd, session_fd, abi.CHANNEL, raw)

    async def open_metadata(self, session_fd: int, *, subbuf_size: int, num_subbuf: int) -> int:
        raw = abi.build_channel(
            subbuf_size=subbuf_size,
            num_subbuf=num_subbuf,
            switch_timer_interval=0,
            read_timer_interval=0,
            output=abi.Output.MMAP,
            overwrite=0,
        )
        return await _off_loop(_new_fd, session_fd, abi.METADATA, raw)

    async def start_session(self, session_fd: int) -> None:
        await _off_loop(_ioctl, session_fd, abi.SESSION_START)

    async def stop_session(self, session_fd: int) -> None:
        await _off_loop(_ioctl, session_fd, abi.SESSION_STOP)

    async def statedump(self, session_fd: int) -> None:
        await _off_loop(_ioctl, session_fd, abi.SESSION_STATEDUMP)

    async def set_tracked(
        self, session_fd: int, tracker: abi.TrackerType, id_: int, *, tracked: bool
    ) -> None:
        """kernctl_track_pid()/_id(), kernctl_untrack_pid()/_id(): -1 is every id. The pid
        tracker keeps its pre-2.12 ioctls, whose argument is the pid itself."""
        if tracker == abi.TrackerType.PID:
            request = abi.SESSION_TRACK_PID if tracked else abi.SESSION_UNTRACK_PID
            await _off_loop(_ioctl, session_fd, request, id_)
        else:
            request = abi.SESSION_TRACK_ID if tracked else abi.SESSION_UNTRACK_ID
            await _off_loop(_ioctl, session_fd, request, abi.build_tracker_args(tracker, id_))

    async def regenerate_metadata(self, session_fd: int) -> None:
        await _off_loop(_ioctl, session_fd, abi.SESSION_METADATA_REGEN)

    async def destroy_session(self, session_fd: int) -> None:
        """Close the session fd once every channel and event fd is closed: the module tears
        the session down, which waits for its tracepoints to be unhooked."""
        await _off_loop(os.close, session_fd)

    # --- channel fd --------------------------------------------------------------------
    def create_stream(self, channel_fd: int) -> int | None:
        """One more stream (per-CPU buffer) fd, or None once the channel has no more."""
        try:
            return _new_fd(channel_fd, abi.STREAM)
        except KernelTracerError as exc:
            # kernel_open_channel_stream() loops until the ioctl fails (ENOENT at the end).
            if exc.errno in (errno.ENOENT, errno.ENODEV, errno.EINVAL):
                return None
            raise

    def channel_stats(self, channel_fd: int) -> tuple[int, int]:
        """(discarded events, lost packets) of the packets consumed so far."""
        raw = _ioctl_read(channel_fd, abi.CHANNEL_STATS, abi.CHANNEL_STATS_SIZE)
        stats = abi.ChannelStats.parse(raw)
        return int(stats.discarded_events), int(stats.lost_packets)

    async def create_event(
        self,
        channel_fd: int,
        name: str,
        instrumentation: abi.Instrumentation,
        *,
        probe: abi.ProbeLocation | None = None,
        uprobe_fd: int = -1,
    ) -> int:
        raw = abi.build_event(name, instrumentation, probe=probe, uprobe_fd=uprobe_fd)
        return await _off_loop(_new_fd, channel_fd, abi.EVENT, raw)

    async def add_context(
        self,
        channel_fd: int,
        context: abi.ContextType,
        *,
        perf_type: int = 0,
        perf_config: int = 0,
        perf_name: str = "",
    ) -> None:
        raw = abi.build_context(
            context, perf_type=perf_type, perf_config=perf_config, perf_name=perf_name
        )
        await _off_loop(_ioctl, channel_fd, abi.CONTEXT, raw)

    # --- stream fd ---------------------------------------------------------------------
    async def flush_buffer(self, stream_fd: int) -> None:
        """kernctl_buffer_flush(): close the stream's current packet, making it readable."""
        await _off_loop(_ioctl, stream_fd, ringbuffer_abi.RING_BUFFER_FLUSH)

    async def clear_buffer(self, stream_fd: int) -> None:
        """consumer_clear_stream(): close the current packet, then drop every packet not
        consumed (kernctl_buffer_clear())."""
        await _off_loop(_ioctl, stream_fd, ringbuffer_abi.RING_BUFFER_FLUSH)
        await _off_loop(_ioctl, stream_fd, ringbuffer_abi.RING_BUFFER_CLEAR)

    # --- event fd ----------------------------------------------------------------------
    async def add_callsite(self, event_fd: int, offset: int) -> None:
        await _off_loop(_ioctl, event_fd, abi.ADD_CALLSITE, abi.build_callsite(offset))

    # --- event / channel / session fd --------------------------------------------------
    async def enable(self, fd: int) -> None:
        await _off_loop(_ioctl, fd, abi.ENABLE)

    async def disable(self, fd: int) -> None:
        await _off_loop(_ioctl, fd, abi.DISABLE)
