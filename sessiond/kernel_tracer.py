"""Thin typed wrapper over the LTTng-modules ioctls of /proc/lttng (ABI 2.6).

The call sequence mirrors lttng-tools src/common/kernel-ctl/kernel-ctl.c so that a module
written against abi.h behaves the same under this daemon and under the stock one.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time

from pylttng.protocol import kernel_abi as abi
from pylttng.protocol import ringbuffer_abi


class KernelTracerError(OSError):
    """An ioctl on the tracer failed (errno kept)."""


def _ioctl(fd: int, request: int, arg: bytes | None = None) -> int:
    try:
        if arg is None:
            return int(fcntl.ioctl(fd, request, 0))
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


def creation_time_iso8601(timestamp: int) -> str:
    """time_to_iso8601_str() (src/common/time.c): local time, "%Y%m%dT%H%M%S%z"."""
    return time.strftime("%Y%m%dT%H%M%S%z", time.localtime(timestamp))


class KernelTracer:
    """The open /proc/lttng control file and the operations lttng-sessiond performs on it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, path: str = abi.PROC_PATH) -> KernelTracer:
        return cls(os.open(path, os.O_RDWR | os.O_CLOEXEC))

    def close(self) -> None:
        os.close(self.fd)

    # --- tracer fd ---
    def abi_version(self) -> tuple[int, int]:
        raw = _ioctl_read(self.fd, abi.TRACER_ABI_VERSION, abi.TRACER_ABI_VERSION_SIZE)
        v = abi.TracerAbiVersion.parse(raw)
        return int(v.major), int(v.minor)

    def tracer_version(self) -> tuple[int, int, int]:
        raw = _ioctl_read(self.fd, abi.TRACER_VERSION, abi.TRACER_VERSION_SIZE)
        v = abi.TracerVersion.parse(raw)
        return int(v.major), int(v.minor), int(v.patchlevel)

    def wait_quiescent(self) -> None:
        _ioctl(self.fd, abi.WAIT_QUIESCENT)

    def list_syscalls(self) -> list[abi.SyscallListEntry]:
        """kernctl_syscall_list() read to the end, parsed like syscall_init_table()."""
        fd = _ioctl(self.fd, abi.SYSCALL_LIST)
        with os.fdopen(fd, "rb") as f:
            text = f.read().decode(errors="replace")
        return abi.parse_syscall_list(text)

    def create_session(self) -> int:
        return _set_cloexec(_ioctl(self.fd, abi.SESSION))

    # --- session fd ---
    def session_set_name(self, session_fd: int, name: str) -> None:
        _ioctl(session_fd, abi.SESSION_SET_NAME, abi.build_session_name(name))

    def session_set_creation_time(self, session_fd: int, timestamp: int) -> None:
        iso = creation_time_iso8601(timestamp)
        _ioctl(session_fd, abi.SESSION_SET_CREATION_TIME, abi.build_creation_time(iso))

    def create_channel(self, session_fd: int, channel: bytes) -> int:
        return _set_cloexec(_ioctl(session_fd, abi.CHANNEL, channel))

    def open_metadata(self, session_fd: int, channel: bytes) -> int:
        return _set_cloexec(_ioctl(session_fd, abi.METADATA, channel))

    def start_session(self, session_fd: int) -> None:
        _ioctl(session_fd, abi.SESSION_START)

    def destroy_session(self, session_fd: int) -> None:
        """Close the session fd once every channel and event fd is closed: the module tears
        the session down, which waits for its tracepoints to be unhooked (pylttng.ko: the
        background perf releases of a stopped session, about a second after one that records
        every tracepoint)."""
        os.close(session_fd)

    def stop_session(self, session_fd: int) -> None:
        _ioctl(session_fd, abi.SESSION_STOP)

    # --- stream fd ---
    def flush_buffer(self, stream_fd: int) -> None:
        """kernctl_buffer_flush(): close the stream's current packet, making it readable."""
        _ioctl(stream_fd, ringbuffer_abi.RING_BUFFER_FLUSH)

    # --- channel fd ---
    def create_stream(self, channel_fd: int) -> int | None:
        """One more stream (per-CPU buffer) fd, or None once the channel has no more."""
        try:
            return _set_cloexec(_ioctl(channel_fd, abi.STREAM))
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

    def create_event(self, channel_fd: int, event: bytes) -> int:
        return _set_cloexec(_ioctl(channel_fd, abi.EVENT, event))

    def add_context(self, channel_fd: int, context: bytes) -> None:
        _ioctl(channel_fd, abi.CONTEXT, context)

    # --- event fd ---
    def add_callsite(self, event_fd: int, callsite: bytes) -> None:
        _ioctl(event_fd, abi.ADD_CALLSITE, callsite)

    # --- event / channel / session fd ---
    def enable(self, fd: int) -> None:
        _ioctl(fd, abi.ENABLE)

    def disable(self, fd: int) -> None:
        _ioctl(fd, abi.DISABLE)


def _set_cloexec(fd: int) -> int:
    # The stock daemon marks every tracer fd FD_CLOEXEC so spawned consumers don't inherit it.
    os.set_inheritable(fd, False)
    return fd
