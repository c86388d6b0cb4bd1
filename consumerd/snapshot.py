"""Flight-recorder snapshots: copy what a stream's ring buffer holds now into a file.

The reader side of lttng_kconsumer_snapshot_channel() and
lttng_kconsumer_snapshot_metadata() (lttng-tools 2.13, src/common/kernel-consumer/
kernel-consumer.c): close the packet being written (an empty one too, so every stream's
snapshot ends at the same time), sample the consumed and produced positions, then read
each sub-buffer between them in place, without consuming it, so the writer keeps
overwriting as before. A metadata stream is read to its end instead.

These run in a worker thread: they block on file writes, and a snapshot of a whole
channel is read in one go, as the stock consumer does.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from typing import Protocol

from pylttng.protocol.consumer import SnapshotStream

from .fs_identity import Owner, acting_as
from .output import DIR_MODE, FILE_MODE
from .ringbuffer import KernelStream, Next


class SnapshotSource(Protocol):
    """The ring-buffer reader operations a snapshot uses (KernelStream has them)."""

    def flush_empty(self) -> None: ...
    def snapshot(self) -> bool: ...
    def snapshot_consumed(self) -> int: ...
    def snapshot_produced(self) -> int: ...
    def get_subbuf(self, position: int) -> bool: ...
    def get_next_subbuf(self) -> Next: ...
    def put_next_subbuf(self) -> None: ...
    def put_subbuf(self) -> None: ...
    def padded_subbuf_size(self) -> int: ...
    def max_subbuf_size(self) -> int: ...
    def mmap_read_offset(self) -> int: ...
    def map(self) -> mmap.mmap: ...


@dataclass(frozen=True)
class SnapshotResult:
    bytes_written: int
    packets: int
    lost_packets: int  # overwritten by the writer while being read


def start_position(consumed: int, produced: int, max_packets: int, subbuf_size: int) -> int:
    """consumer_get_consume_start_pos(): the newest ``max_packets`` whole sub-buffers
    before ``produced`` (0: everything since ``consumed``)."""
    if not max_packets:
        return consumed
    start = produced - produced % subbuf_size - subbuf_size * max_packets
    return consumed if _before(start, consumed) else start


def _before(a: int, b: int) -> bool:
    """a < b on the kernel's free-running unsigned long positions: (long)(a - b) < 0."""
    return (a - b) & (1 << 63) != 0


def _write_all(fd: int, data: memoryview) -> int:
    done = 0
    while done < len(data):
        done += os.write(fd, data[done:])
    return done


def snapshot_data_stream(src: SnapshotSource, out_fd: int, max_packets: int) -> SnapshotResult:
    """Write the sub-buffers the stream holds, oldest first, each with its padding."""
    src.flush_empty()
    if not src.snapshot():
        return SnapshotResult(0, 0, 0)
    subbuf_size = src.max_subbuf_size()
    produced = src.snapshot_produced()
    position = start_position(src.snapshot_consumed(), produced, max_packets, subbuf_size)
    written = packets = lost = 0
    with src.map() as mapped:
        view = memoryview(mapped)
        try:
            while _before(position, produced):
                if not src.get_subbuf(position):
                    lost += 1  # the writer got there first: skip it, as lttng-consumerd does
                else:
                    try:
                        at = src.mmap_read_offset()
                        written += _write_all(out_fd, view[at : at + src.padded_subbuf_size()])
                        packets += 1
                    finally:
                        src.put_subbuf()
                position = (position + subbuf_size) & ((1 << 64) - 1)
        finally:
            view.release()
    return SnapshotResult(written, packets, lost)


def snapshot_metadata_stream(src: SnapshotSource, out_fd: int) -> SnapshotResult:
    """Write every metadata packet the stream has, consuming them (a fresh metadata
    stream is opened for each snapshot, so it starts with the whole TSDL text)."""
    written = packets = 0
    with src.map() as mapped:
        view = memoryview(mapped)
        try:
            while src.get_next_subbuf() is Next.OK:
                try:
                    at = src.mmap_read_offset()
                    written += _write_all(out_fd, view[at : at + src.padded_subbuf_size()])
                    packets += 1
                finally:
                    src.put_next_subbuf()
        finally:
            view.release()
    return SnapshotResult(written, packets, 0)


def record_snapshot(request: SnapshotStream, fd: int) -> SnapshotResult:
    """Copy the stream behind ``fd`` (which this closes) to a new trace_dir/file_name."""
    try:
        with acting_as(Owner(request.uid, request.gid)):
            os.makedirs(request.trace_dir, mode=DIR_MODE, exist_ok=True)
            path = os.path.join(request.trace_dir, request.file_name)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            out = os.open(path, flags, FILE_MODE)
        try:
            stream = KernelStream(fd)
            if request.metadata:
                return snapshot_metadata_stream(stream, out)
            return snapshot_data_stream(stream, out, request.max_packets)
        finally:
            os.close(out)
    finally:
        os.close(fd)
