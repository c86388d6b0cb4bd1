"""Flight-recorder snapshots: copy what a stream's ring buffer holds now into a file.

The reader side of lttng_kconsumer_snapshot_channel() and
lttng_kconsumer_snapshot_metadata() (lttng-tools 2.13, src/common/kernel-consumer/
kernel-consumer.c): close the packet being written (an empty one too, so every stream's
snapshot ends at the same time), sample the consumed and produced positions, then read
each sub-buffer between them in place, without consuming it, so the writer keeps
overwriting as before. A metadata stream is read to its end instead.

A local copy is split in trace files as the channel's live streams are (tracefiles.py),
since lttng-consumerd writes a snapshot through the same function that splits them; a
stream's file number and index file carry over from one snapshot to the next.

These run in a worker thread: they block on file writes, and a snapshot of a whole
channel is read in one go, as the stock consumer does.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from pylttng.protocol.consumer import SnapshotStream

from .fs_identity import Owner
from .ringbuffer import KernelStream, Next
from .tracefiles import StreamFiles


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
    # A local copy's last file: its ``<n>``, and whether the stream's files are indexed.
    tracefile_index: int = 0
    indexed: bool = False


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


@dataclass
class Tally:
    """What a walk over a stream's sub-buffers found."""

    packets: int = 0
    lost_packets: int = 0  # overwritten by the writer while being read


def data_subbufs(src: SnapshotSource, max_packets: int, tally: Tally) -> Iterator[memoryview]:
    """Each sub-buffer the data stream holds, oldest first, with its padding, in the
    mmap while it is held: the caller copies it before asking for the next one, and
    drops the view."""
    src.flush_empty()
    if not src.snapshot():
        return
    subbuf_size = src.max_subbuf_size()
    produced = src.snapshot_produced()
    position = start_position(src.snapshot_consumed(), produced, max_packets, subbuf_size)
    with src.map() as mapped:
        view = memoryview(mapped)
        try:
            while _before(position, produced):
                if not src.get_subbuf(position):
                    tally.lost_packets += 1  # the writer got there first: skip it, as lttng-consumerd does
                else:
                    try:
                        at = src.mmap_read_offset()
                        yield view[at : at + src.padded_subbuf_size()]
                        tally.packets += 1
                    finally:
                        src.put_subbuf()
                position = (position + subbuf_size) & ((1 << 64) - 1)
        finally:
            view.release()


def metadata_subbufs(src: SnapshotSource, tally: Tally) -> Iterator[memoryview]:
    """Every metadata packet the stream has, consuming them (a fresh metadata stream is
    opened for each snapshot, so it starts with the whole TSDL text)."""
    with src.map() as mapped:
        view = memoryview(mapped)
        try:
            while src.get_next_subbuf() is Next.OK:
                try:
                    at = src.mmap_read_offset()
                    yield view[at : at + src.padded_subbuf_size()]
                    tally.packets += 1
                finally:
                    src.put_next_subbuf()
        finally:
            view.release()


def _copy(subbufs: Iterator[memoryview], files: StreamFiles, tally: Tally) -> SnapshotResult:
    written = 0
    for packet in subbufs:
        files.place(len(packet))
        written += _write_all(files.data_fd, packet)
        packet.release()
    return SnapshotResult(written, tally.packets, tally.lost_packets, files.number, files.indexed)


def snapshot_data_stream(src: SnapshotSource, files: StreamFiles, max_packets: int) -> SnapshotResult:
    """Write the sub-buffers the stream holds, oldest first, each with its padding, to
    the stream's files (split as lttng_consumer_on_read_subbuffer_mmap() splits them)."""
    tally = Tally()
    return _copy(data_subbufs(src, max_packets, tally), files, tally)


def snapshot_metadata_stream(src: SnapshotSource, files: StreamFiles) -> SnapshotResult:
    """Write every metadata packet the stream has, consuming them."""
    tally = Tally()
    return _copy(metadata_subbufs(src, tally), files, tally)


def snapshot_files(request: SnapshotStream) -> StreamFiles:
    """The first file of a local copy, as consumer_stream_create_output_files(stream,
    false) opens it: file ``tracefile_index``, with an index only if the stream has one;
    each next file gets one (consumer_stream_rotate_output_files()). Raises OSError."""
    return StreamFiles(
        request.trace_dir,
        request.file_name,
        indexed=request.indexed,
        tracefile_size=request.tracefile_size,
        tracefile_count=request.tracefile_count,
        owner=Owner(request.uid, request.gid),
        first=request.tracefile_index,
        index_later=not request.metadata,
    )


def record_snapshot(request: SnapshotStream, fd: int) -> SnapshotResult:
    """Copy the stream behind ``fd`` (which this closes) to trace_dir/file_name[_<n>]."""
    try:
        files = snapshot_files(request)
        try:
            stream = KernelStream(fd)
            if request.metadata:
                return snapshot_metadata_stream(stream, files)
            return snapshot_data_stream(stream, files, request.max_packets)
        finally:
            files.close()
    finally:
        os.close(fd)
