"""Session rotation and clear, the consumer's side (lttng-consumerd 2.13, consumer.c).

A rotation ends the stream's current trace chunk at the position of the ring buffer when
it is asked: lttng_consumer_rotate_channel() closes the packet being written (an empty
one if nothing was produced since the last consumed packet, so that no chunk gets an
empty file), samples the produced position and rounds it down to a sub-buffer: every
packet before it belongs to the old chunk, every packet from it on to the new one.  The
stream keeps writing the old chunk's files until it has consumed up to that position,
then closes them and opens the new chunk's (lttng_consumer_stream_is_rotate_ready(),
lttng_consumer_rotate_stream(), rotate_local_stream(): trace file and index counters
start over).  lttng-consumerd compares packet sequence numbers; here the consumed
position itself is compared, sampled after each packet only while a rotation is pending,
so a stream pays one attribute test per packet otherwise.

Rotating to a new chunk then opens a packet in each data stream (flush_empty: the new
chunk's files begin with a timestamp of the rotation, consumer_stream_open_packet()); a
metadata stream writes everything it has to the old chunk first and, once switched, has
the tracer dump the whole metadata again into the new one (consumer_metadata_stream_dump()).
A rotation with no new chunk (the session is stopped) leaves the stream with no files
until the next one.

Clear (consumer_clear_stream()): close the current packet, then drop every packet not
consumed yet (RING_BUFFER_CLEAR); the session daemon then rotates and deletes the chunk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from .fs_identity import Owner
from .output import open_trace_dir

_ULONG_SIGN = 1 << 63


class PositionSource(Protocol):
    """The ring-buffer operations a rotation uses (KernelStream has them)."""

    def sample_positions(self) -> None: ...
    def snapshot_consumed(self) -> int: ...
    def snapshot_produced(self) -> int: ...
    def max_subbuf_size(self) -> int: ...
    def flush(self) -> None: ...
    def flush_empty(self) -> None: ...


@dataclass(slots=True)
class PendingRotation:
    """Where a stream's current chunk ends, and the folder of the chunk that follows."""

    position: int  # consumed position from which packets belong to the new chunk
    dir_fd: int | None  # the new chunk's folder (owned until used); None: no new chunk
    trace_dir: str  # its path when the rotation was asked (names files, logs)

    def release(self) -> None:
        if self.dir_fd is not None:
            os.close(self.dir_fd)
            self.dir_fd = None


def reached(consumed: int, position: int) -> bool:
    """consumed >= position on the kernel's free-running unsigned long positions."""
    return (consumed - position) & _ULONG_SIGN == 0


def consumed_position(src: PositionSource) -> int:
    src.sample_positions()
    return src.snapshot_consumed()


def end_of_chunk(src: PositionSource, *, metadata: bool) -> int:
    """Close the packet being written and return where the current chunk ends
    (lttng_consumer_rotate_channel(): flush, sample, ALIGN_FLOOR(produced, max_sb_size))."""
    if not metadata:
        src.sample_positions()
        if src.snapshot_produced() == src.snapshot_consumed():
            src.flush_empty()  # nothing since the last packet: no empty file in the chunk
        else:
            src.flush()
    src.sample_positions()
    return src.snapshot_produced() & ~(src.max_subbuf_size() - 1)


def plan_rotation(
    src: PositionSource, trace_dir: str, *, metadata: bool, owner: Owner, flush: bool = True
) -> PendingRotation:
    """The pending rotation of one stream, its next folder created as ``owner``; raises
    OSError (nothing left open). ``flush`` False: the stream is in no chunk (a start after
    a rotation while stopped), where no packet may go, and that rotation flushed it."""
    position = end_of_chunk(src, metadata=metadata or not flush)
    dir_fd = open_trace_dir(trace_dir, owner) if trace_dir else None
    return PendingRotation(position=position, dir_fd=dir_fd, trace_dir=trace_dir)
