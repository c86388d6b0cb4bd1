"""Thin wrappers of the ring-buffer reader ioctls on one stream fd.

``SubbufReader`` is the interface the drain loop needs; ``KernelStream`` implements it
with real ioctls on an LTTng-modules (or pylttng.ko) stream fd.  Host tests substitute a
fake, since the ioctls only exist with the kernel module loaded.
"""

from __future__ import annotations

import enum
import errno
import fcntl
import mmap
import struct
from typing import Protocol

from pylttng.protocol import ringbuffer_abi as abi

_ULONG = struct.Struct(abi.ULONG_FORMAT)
_U64 = struct.Struct(abi.U64_FORMAT)


class Next(enum.Enum):
    """Outcome of GET_NEXT_SUBBUF."""

    OK = "ok"  # a sub-buffer is now held for reading
    AGAIN = "again"  # -EAGAIN: nothing complete yet
    NODATA = "nodata"  # -ENODATA: stream finalized and fully consumed


class SubbufReader(Protocol):
    """The operations of a ring-buffer stream that the drain loop uses."""

    @property
    def fd(self) -> int:
        """The fd to poll (POLLIN: sub-buffer ready; POLLHUP: finalized and empty)."""
        ...

    def get_next_subbuf(self) -> Next: ...
    def put_next_subbuf(self) -> None: ...
    def put_subbuf(self) -> None: ...
    def subbuf_size(self) -> int: ...
    def padded_subbuf_size(self) -> int: ...
    def max_subbuf_size(self) -> int: ...
    def mmap_read_offset(self) -> int: ...
    def flush(self) -> None: ...
    def map(self) -> mmap.mmap: ...
    def splice_source(self) -> int: ...


def _ioctl_none(fd: int, request: int) -> None:
    fcntl.ioctl(fd, request, 0)


def _ioctl_read(fd: int, request: int, fmt: struct.Struct) -> int:
    buf = bytearray(fmt.size)
    fcntl.ioctl(fd, request, buf, True)
    value: int = fmt.unpack(buf)[0]
    return value


class KernelStream:
    """A kernel ring-buffer stream fd (the caller owns and closes the fd)."""

    __slots__ = ("_fd",)

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @property
    def fd(self) -> int:
        return self._fd

    def get_next_subbuf(self) -> Next:
        try:
            _ioctl_none(self._fd, abi.RING_BUFFER_GET_NEXT_SUBBUF)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return Next.AGAIN
            if exc.errno == errno.ENODATA:
                return Next.NODATA
            raise
        return Next.OK

    def put_next_subbuf(self) -> None:
        _ioctl_none(self._fd, abi.RING_BUFFER_PUT_NEXT_SUBBUF)

    def put_subbuf(self) -> None:
        """Release the held sub-buffer without consuming it (data_pending probe)."""
        _ioctl_none(self._fd, abi.RING_BUFFER_PUT_SUBBUF)

    def subbuf_size(self) -> int:
        return _ioctl_read(self._fd, abi.RING_BUFFER_GET_SUBBUF_SIZE, _ULONG)

    def padded_subbuf_size(self) -> int:
        return _ioctl_read(self._fd, abi.RING_BUFFER_GET_PADDED_SUBBUF_SIZE, _ULONG)

    def max_subbuf_size(self) -> int:
        return _ioctl_read(self._fd, abi.RING_BUFFER_GET_MAX_SUBBUF_SIZE, _ULONG)

    def mmap_len(self) -> int:
        return _ioctl_read(self._fd, abi.RING_BUFFER_GET_MMAP_LEN, _ULONG)

    def mmap_read_offset(self) -> int:
        return _ioctl_read(self._fd, abi.RING_BUFFER_GET_MMAP_READ_OFFSET, _ULONG)

    def metadata_version(self) -> int:
        return _ioctl_read(self._fd, abi.RING_BUFFER_GET_METADATA_VERSION, _U64)

    def flush(self) -> None:
        _ioctl_none(self._fd, abi.RING_BUFFER_FLUSH)

    def flush_empty(self) -> None:
        _ioctl_none(self._fd, abi.RING_BUFFER_FLUSH_EMPTY)

    def map(self) -> mmap.mmap:
        # The whole buffer, read-only and private as lttng-consumerd maps it: never written,
        # so it shows the kernel's pages as they are.  Offsets come from MMAP_READ_OFFSET.
        return mmap.mmap(self._fd, self.mmap_len(), flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)

    def splice_source(self) -> int:
        # The kernel resets the file position to 0 at each GET_NEXT_SUBBUF, so splicing from
        # the fd itself (no offset) reads the held sub-buffer from its start.
        return self._fd
