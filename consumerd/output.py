"""Trace files and the two ways bytes reach them: write(2) from the mmap, or splice(2).

Every copy here is resumable: progress is recorded after each system call, so a short
write or an error (ENOSPC, EDQUOT, EIO ...) leaves the caller knowing exactly how many bytes
of the sub-buffer are on disk, and a retry continues from there without duplicating or
losing a byte.  Trace bytes never become Python ``bytes`` objects.

The writes run inline on the trio thread, as lttng-consumerd's are blocking writes: a
regular file is always "ready" (there is nothing to wait for), a write lands in the page
cache, and a thread hop per sub-buffer would cost more than the copy it offloads.
"""

from __future__ import annotations

import errno
import fcntl
import os
from dataclasses import dataclass

from .fs_identity import ROOT, Owner, acting_as

# lttng-tools creates trace directories rwx for user and group, files rw for user and group
# (the umask still applies, as with lttng-consumerd).
DIR_MODE = 0o770
FILE_MODE = 0o660

# Write and splice flags as lttng-consumerd uses them: a hint to move pages, more coming.
SPLICE_FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_MORE


def open_trace_dir(path: str, owner: Owner = ROOT) -> int:
    """mkdir -p ``path`` as ``owner`` and return an O_PATH fd of it.  Files are created
    relative to that fd, as lttng-consumerd creates them through directory handles: the
    session daemon renames a trace chunk's folder while its streams still write there
    (rotations)."""
    with acting_as(owner):
        os.makedirs(path, mode=DIR_MODE, exist_ok=True)
        return os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def create_trace_file(dir_fd: int, file_name: str, owner: Owner = ROOT) -> int:
    """Create (truncate) ``file_name`` in the folder ``dir_fd``, and its parent (index/),
    as ``owner``.

    Open for reading too: the index entry of a spliced packet is read back from its header
    in the file (stream.py)."""
    parent = os.path.dirname(file_name)
    with acting_as(owner):
        if parent:
            try:
                os.mkdir(parent, DIR_MODE, dir_fd=dir_fd)
            except FileExistsError:
                pass
        flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        return os.open(file_name, flags, FILE_MODE, dir_fd=dir_fd)


@dataclass(slots=True)
class Transfer:
    """Progress of copying one held sub-buffer (``size`` bytes) to the trace file."""

    offset: int  # offset of the sub-buffer in the mmap area (unused by splice)
    size: int  # bytes to put in the file
    done: int = 0  # bytes already in the file
    in_pipe: int = 0  # splice only: bytes moved into the pipe, not yet into the file
    file_offset: int = -1  # where it starts in the stream file; -1: no file chosen yet

    @property
    def complete(self) -> bool:
        return self.done >= self.size


# Indirection so host tests can simulate short writes and a disk that fills then frees up.
_write = os.write


def write_from_mmap(out_fd: int, area: memoryview, transfer: Transfer) -> None:
    """write(2) the rest of the sub-buffer from the mapped area; raises OSError on failure.

    (Also the index entries: the loop runs per packet, so locals rather than attributes.)"""
    done, size, offset = transfer.done, transfer.size, transfer.offset
    while done < size:
        # A memoryview slice is a view: no copy of the trace bytes in user space.
        written = _write(out_fd, area[offset + done : offset + size])
        if written <= 0:
            raise OSError(errno.EIO, "write returned 0 bytes")
        done = transfer.done = done + written


class SplicePipe:
    """The pipe that splice(2) needs between the stream fd and the file."""

    __slots__ = ("capacity", "read_fd", "write_fd")

    def __init__(self, want_capacity: int) -> None:
        self.read_fd, self.write_fd = os.pipe2(os.O_CLOEXEC)
        self.capacity = _grow_pipe(self.write_fd, want_capacity)

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            os.close(fd)


def _grow_pipe(fd: int, want: int) -> int:
    """Try to fit a whole sub-buffer in the pipe (fewer splice calls); keep what we get."""
    if want > 0:
        try:
            return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, want)
        except OSError:
            pass  # above /proc/sys/fs/pipe-max-size for an unprivileged user: keep default
    return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)


def splice_to_file(source_fd: int, pipe: SplicePipe, out_fd: int, transfer: Transfer) -> None:
    """splice(2) the rest of the held sub-buffer: stream fd -> pipe -> file.

    The pipe is always emptied before it is refilled, so neither splice blocks.  Lengths
    stay page multiples (padded size, page-sized pipe capacity), as the ring buffer requires.
    """
    while not transfer.complete:
        if transfer.in_pipe == 0:
            want = min(transfer.size - transfer.done, pipe.capacity)
            # As with lttng-modules, the offset is relative to the held sub-buffer.
            moved = os.splice(
                source_fd, pipe.write_fd, want, offset_src=transfer.done, flags=SPLICE_FLAGS
            )
            if moved <= 0:
                raise OSError(errno.EIO, "splice from the stream returned no data")
            transfer.in_pipe = moved
        written = os.splice(pipe.read_fd, out_fd, transfer.in_pipe, flags=SPLICE_FLAGS)
        if written <= 0:
            raise OSError(errno.EIO, "splice to the trace file returned 0 bytes")
        transfer.in_pipe -= written
        transfer.done += written
