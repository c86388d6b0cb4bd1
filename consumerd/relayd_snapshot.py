"""A snapshot recorded to a relay daemon: one stream's buffer sent to the snapshot
session the consumer opened there (RelaydSession with ``snapshot``).

As lttng_kconsumer_snapshot_channel() and lttng_kconsumer_snapshot_metadata() do with a
relayd (lttng-tools 2.13, kernel-consumer.c): ADD_STREAM in the snapshot's trace chunk,
with the channel's trace file size and count (the relay daemon splits the files), then
each sub-buffer (snapshot.py walks them as for a local file) as a data packet on the data
connection, its content without its padding (lttng-relayd writes the zeros), and no
index entry (consumer_stream_create_output_files(stream, false): snapshots have none);
metadata on the control connection. CLOSE_STREAM at the last packet sent ends it.

A sub-buffer is held while it is sent, as lttng-consumerd holds it; only the metadata is
copied (small, sent whole on the control connection).
"""

from __future__ import annotations

from typing import Protocol

from pylttng.protocol import relayd as r
from pylttng.protocol.consumer import SnapshotStream

from .relayd_link import RelaydLink
from .snapshot import SnapshotResult, SnapshotSource, Tally, data_subbufs, metadata_subbufs

U64_MAX = (1 << 64) - 1


class RelaydSnapshotSource(SnapshotSource, Protocol):
    """What sending a sub-buffer needs besides SnapshotSource: its content size."""

    def subbuf_size(self) -> int: ...


async def send_snapshot(
    link: RelaydLink, chunk_id: int, req: SnapshotStream, src: RelaydSnapshotSource
) -> SnapshotResult:
    """Send what ``src`` holds to the relay daemon as stream ``req.relay_path``/``file_name``.
    Raises RelaydError (the link is then broken)."""
    # The relay daemon splits the files itself (stream.c: stream_init_packet()), by the
    # channel's limits that consumer_send_relayd_stream() sends for a snapshot too.
    handle = await link.add_stream(
        req.file_name, req.relay_path, chunk_id, req.tracefile_size, req.tracefile_count
    )
    tally = Tally()
    sent = 0
    next_seq = 0
    try:
        if req.metadata:
            for packet in metadata_subbufs(src, tally):
                content = src.subbuf_size()
                data = bytes(packet[:content])
                padding = len(packet) - content
                packet.release()
                await link.send_metadata(handle, data, padding)
                sent += len(data)
        else:
            for packet in data_subbufs(src, req.max_packets, tally):
                content = src.subbuf_size()
                header = r.DataHeader(handle, next_seq, content, len(packet) - content)
                try:
                    await link.send_packet_view(header, packet[:content])
                finally:
                    packet.release()
                next_seq += 1
                sent += content
    finally:
        # The relay daemon closes the stream once it has what was sent up to there
        # (-1 as u64: nothing), as close_relayd_stream() asks.
        if link.broken is None:
            await link.close_stream(handle, next_seq - 1 if next_seq else U64_MAX)
    return SnapshotResult(sent, tally.packets, tally.lost_packets)
