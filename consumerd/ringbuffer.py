"""Thin wrappers of the ring-buffer reader ioctls on one stream fd.

``SubbufReader`` is the interface the drain loop needs; ``KernelStream`` implements it
with real ioctls on an LTTng-modules (or pylttng.ko) stream fd.  Host tests substitute a
fake, since the ioctls only exist with the kernel module loaded.
"""

from __future__ import annotations

import array
import enum
import errno
import fcntl
import mmap
from typing import Protocol

from pylttng.protocol import ringbuffer_abi as abi


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
    def metadata_version(self) -> int: ...
    def flush(self) -> None: ...
    def map(self) -> mmap.mmap: ...
    # rotation and clear (rotation.py)
    def sample_positions(self) -> None: ...
    def snapshot_consumed(self) -> int: ...
    def snapshot_produced(self) -> int: ...
    def flush_empty(self) -> None: ...
    def clear(self) -> None: ...
    def metadata_cache_dump(self) -> None: ...
    def splice_source(self) -> int: ...
    # live sessions (live_timer.py, relayd_sink.py)
    def current_timestamp(self) -> int: ...
    def stream_id(self) -> int: ...
    def snapshot(self) -> bool: ...
    def get_next_subbuf_metadata_check(self) -> tuple[Next, bool]: ...


# The drain loop runs these ioctls for every sub-buffer, and `make bench` counts the
# consumer's CPU per MB, so they take CPython's cheapest paths (callgrind, user-space
# instructions per call): no argument at all, ~1,700 (given 0, fcntl.ioctl first tries to
# parse it as a buffer and formats an error message for each failed try: ~10,800); a value
# read into a preallocated array, ~2,600 (a fresh bytearray unpacked by struct: ~4,700).


def _ioctl_none(fd: int, request: int) -> None:
    fcntl.ioctl(fd, request)


class KernelStream:
    """A kernel ring-buffer stream fd (the caller owns and closes the fd)."""

    __slots__ = ("_fd", "_u64", "_ulong")

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._ulong = array.array(abi.ULONG_FORMAT, [0])
        self._u64 = array.array(abi.U64_FORMAT, [0])

    def _read_ulong(self, request: int) -> int:
        fcntl.ioctl(self._fd, request, self._ulong, True)
        return self._ulong[0]

    def _read_u64(self, request: int) -> int:
        fcntl.ioctl(self._fd, request, self._u64, True)
        return self._u64[0]

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

    def get_next_subbuf_metadata_check(self) -> tuple[Next, bool]:
        """GET_NEXT_SUBBUF of a metadata stream, and whether the metadata handed out up to
        the end of this sub-buffer is coherent (parseable as a whole): a live viewer must
        never get half a declaration (kernel-consumer.c: get_next_subbuffer_metadata_check())."""
        u32 = array.array(abi.U32_FORMAT, [0])
        try:
            fcntl.ioctl(self._fd, abi.RING_BUFFER_GET_NEXT_SUBBUF_METADATA_CHECK, u32, True)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return Next.AGAIN, False
            if exc.errno == errno.ENODATA:
                return Next.NODATA, False
            raise
        return Next.OK, bool(u32[0])

    def put_next_subbuf(self) -> None:
        _ioctl_none(self._fd, abi.RING_BUFFER_PUT_NEXT_SUBBUF)

    def put_subbuf(self) -> None:
        """Release the held sub-buffer without consuming it (data_pending probe)."""
        _ioctl_none(self._fd, abi.RING_BUFFER_PUT_SUBBUF)

    def subbuf_size(self) -> int:
        return self._read_ulong(abi.RING_BUFFER_GET_SUBBUF_SIZE)

    def padded_subbuf_size(self) -> int:
        return self._read_ulong(abi.RING_BUFFER_GET_PADDED_SUBBUF_SIZE)

    def max_subbuf_size(self) -> int:
        return self._read_ulong(abi.RING_BUFFER_GET_MAX_SUBBUF_SIZE)

    def mmap_len(self) -> int:
        return self._read_ulong(abi.RING_BUFFER_GET_MMAP_LEN)

    def mmap_read_offset(self) -> int:
        return self._read_ulong(abi.RING_BUFFER_GET_MMAP_READ_OFFSET)

    def metadata_version(self) -> int:
        return self._read_u64(abi.RING_BUFFER_GET_METADATA_VERSION)

    def flush(self) -> None:
        _ioctl_none(self._fd, abi.RING_BUFFER_FLUSH)

    # --- the live timer (consumer-timer.c: consumer_flush_kernel_index()) ---
    def current_timestamp(self) -> int:
        return self._read_u64(abi.RING_BUFFER_GET_CURRENT_TIMESTAMP)

    def stream_id(self) -> int:
        """The CTF stream class id of the stream's packets."""
        return self._read_u64(abi.RING_BUFFER_GET_STREAM_ID)

    # --- snapshots (lttng_kconsumer_snapshot_channel()) ---
    def snapshot(self) -> bool:
        """Sample the consumed and produced positions; False if there is nothing (EAGAIN)."""
        try:
            _ioctl_none(self._fd, abi.RING_BUFFER_SNAPSHOT)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return False
            raise
        return True

    def snapshot_consumed(self) -> int:
        return self._read_ulong(abi.RING_BUFFER_SNAPSHOT_GET_CONSUMED)

    def snapshot_produced(self) -> int:
        return self._read_ulong(abi.RING_BUFFER_SNAPSHOT_GET_PRODUCED)

    def get_subbuf(self, position: int) -> bool:
        """Hold the sub-buffer at ``position``; False if the writer has overwritten it."""
        self._ulong[0] = position
        try:
            fcntl.ioctl(self._fd, abi.RING_BUFFER_GET_SUBBUF, self._ulong, True)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return False
            raise
        return True

    def flush_empty(self) -> None:
        _ioctl_none(self._fd, abi.RING_BUFFER_FLUSH_EMPTY)

    # --- rotation and clear (lttng_consumer_rotate_channel(), consumer_clear_buffer()) ---
    def sample_positions(self) -> None:
        """Sample consumed and produced as they are, even with nothing ready (no EAGAIN)."""
        _ioctl_none(self._fd, abi.RING_BUFFER_SNAPSHOT_SAMPLE_POSITIONS)

    def clear(self) -> None:
        _ioctl_none(self._fd, abi.RING_BUFFER_CLEAR)

    def metadata_cache_dump(self) -> None:
        """Have the tracer hand out the whole metadata again (a new trace chunk's file)."""
        _ioctl_none(self._fd, abi.RING_BUFFER_METADATA_CACHE_DUMP)

    def map(self) -> mmap.mmap:
        # The whole buffer, read-only and private as lttng-consumerd maps it: never written,
        # so it shows the kernel's pages as they are.  Offsets come from MMAP_READ_OFFSET.
        return mmap.mmap(self._fd, self.mmap_len(), flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)

    def splice_source(self) -> int:
        # The kernel resets the file position to 0 at each GET_NEXT_SUBBUF, so splicing from
        # the fd itself (no offset) reads the held sub-buffer from its start.
        return self._fd
