"""The relay daemon as the place a stream's packets go, instead of local files.

Called from a stream's synchronous step (stream.py), so nothing here awaits:

- a data packet goes on the session's data connection, its data header first and without
  its padding (lttng-relayd writes the zeros: consumer.c: write_relayd_stream_header()),
  written from the mmap with non-blocking send(2) calls. Progress is kept as for a file
  (Transfer), and the stream that has a packet half-sent owns the data connection until
  it is done, so packets of a session's streams never interleave;
- its index entry (SEND_INDEX, answered) and metadata (SEND_METADATA on the control
  connection, consumer.c: "Metadata are always sent on the control socket") are queued
  for the link's control task (relayd_link.py), which sends them in order.

In a live session (``live``), as lttng-consumerd 2.13 does for one:
- metadata is held back until the tracer says it is coherent, then sent as one piece
  (consumer_stream_enable_metadata_bucketization(), metadata-bucket.c): a viewer reads
  whatever the relay daemon has, and half a TSDL declaration does not parse;
- before a data packet's index goes out, the session's metadata is pushed (``sync_metadata``,
  consumer_stream_sync_metadata_index()): the viewer gets the index only with the metadata
  that describes the packet's events;
- the live timer (live_timer.py) sends beacons through ``send_beacon``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pylttng.protocol import relayd as r

from . import index, relayd_link
from .output import Transfer, write_from_mmap
from .relayd_link import RelaydLink

U64_MAX = (1 << 64) - 1


class RelaydSink:
    """One stream's end on the relay daemon: its handle and packet numbering."""

    def __init__(
        self,
        link: RelaydLink,
        handle: int,
        *,
        path: str,
        metadata: bool,
        live: bool = False,
        sync_metadata: Callable[[], None] | None = None,
    ) -> None:
        self.link = link
        self.handle = handle
        self.path = path  # "<relay_path>/<channel>", for logs and errors
        self.metadata = metadata
        self.live = live
        self.sync_metadata = sync_metadata  # live: push the session's metadata out first
        self.next_seq = 0  # net_seq_num of the next data packet
        self.last_packet_seq: int | None = None  # CTF packet_seq_num of the last one sent
        # A rotation's first packet of the new chunk (relayd_rotation.py), held back
        # until it is sent.
        self.rotate_at: int | None = None
        self.opened_packet = False  # live: the timer opened this stream's first packet
        self._bucket = bytearray()  # live metadata not coherent yet, padding included
        self._header = bytearray(r.encode_data_header(r.DataHeader(0, 0, 0)))
        self._header_view = memoryview(self._header)
        self._header_progress = Transfer(offset=0, size=len(self._header))
        self._body: Transfer | None = None  # of the packet being sent
        self._blocked_since: float | None = None  # when the connection was first full

    @property
    def last_seq(self) -> int | None:
        """net_seq_num of the last packet sent whole (None: none yet)."""
        return self.next_seq - 1 if self.next_seq else None

    def send(
        self, area: memoryview, offset: int, content: int, padded: int, coherent: bool = True
    ) -> None:
        """Send the held packet (``content`` bytes at ``offset`` in the mmap, ``padded``
        with its padding); resumable: BlockingIOError when the connection is full, any
        OSError when it broke, and the next call goes on from where this one stopped.
        ``coherent``: for live metadata, whether the text so far parses as a whole."""
        if self.link.broken is not None:
            raise ConnectionError(self.link.broken)
        if self.metadata:
            self._send_metadata(area, offset, content, padded, coherent)
            return
        self._send_data(area, offset, content, padded)

    def _wait_for_switch(self, area: memoryview, offset: int) -> None:
        """The first packet of a new chunk waits until the relay daemon has answered every
        index entry queued before it: it learns where a stream's old chunk ends from the
        index of its last packet (stream.c: try_rotate_stream_index()), and data of the
        new chunk that arrives earlier is written to the old chunk's file, which the
        stock lttng-relayd 2.13 then fails to truncate (it stops). lttng-consumerd never
        gets there: it waits for each index's reply before sending the next packet."""
        assert self.rotate_at is not None
        seq = index.PACKET_HEADER.unpack_from(area, offset)[7]
        if seq < self.rotate_at:
            return
        if not self.link.control_idle():
            raise BlockingIOError("waiting for the relay daemon to switch trace chunks")
        self.rotate_at = None

    def _send_metadata(
        self, area: memoryview, offset: int, content: int, padded: int, coherent: bool
    ) -> None:
        # Metadata is small and rare: one copy, queued whole.
        if self.live and not coherent:
            # Kept with its padding: the pieces go out as one padded packet
            # (metadata-bucket.c: metadata_bucket_fill()).
            self._bucket += area[offset : offset + padded]
            return
        data = bytes(self._bucket) + bytes(area[offset : offset + content])
        self._bucket.clear()
        self.link.queue_metadata(self.handle, data, padded - content)

    def send_beacon(self, timestamp: int, stream_id: int) -> None:
        """A live beacon: an index entry with only timestamp_end and the stream class id,
        telling the viewer this stream has nothing before ``timestamp``
        (consumer-timer.c: send_empty_index(); net_seq_num as consumer_stream_write_index()
        sends it, that of the last packet sent, -1 as u64 before any)."""
        last = self.next_seq - 1 if self.next_seq else U64_MAX
        beacon = r.SendIndex(self.handle, last, 0, 0, 0, timestamp, 0, stream_id, 0, 0)
        self.link.queue_index(beacon)

    def _send_data(self, area: memoryview, offset: int, content: int, padded: int) -> None:
        link = self.link
        if link.data_owner not in (None, self):
            raise BlockingIOError("another stream of the session is sending a packet")
        fd = link.data_fd
        if self._body is None:
            if self.rotate_at is not None:
                self._wait_for_switch(area, offset)
            link.data_owner = self
            header = r.DataHeader(self.handle, self.next_seq, content, padded - content)
            self._header[:] = r.encode_data_header(header)
            self._header_progress.done = 0
            self._body = Transfer(offset=offset, size=content)
        try:
            write_from_mmap(fd, self._header_view, self._header_progress)
            write_from_mmap(fd, area, self._body)
        except BlockingIOError:
            # The relay daemon reads slower than we send: go on later, but a connection
            # that takes nothing for as long as a command may take is a cut link (no
            # RST ever comes): give up then, as a relayd socket timeout would.
            now = time.monotonic()
            if self._blocked_since is None:
                self._blocked_since = now
            elif now - self._blocked_since > relayd_link.TIMEOUT_S:
                why = f"relayd data connection: nothing sent for {relayd_link.TIMEOUT_S:.0f} s"
                raise ConnectionError(link.break_link(why)) from None
            raise
        except OSError as exc:
            # Reset, broken pipe, unreachable: the session's relayd link is gone.
            raise ConnectionError(link.break_link(f"relayd data connection: {exc}")) from None
        self._body = None
        self._blocked_since = None
        link.data_owner = None
        if self.sync_metadata is not None:
            self.sync_metadata()
        entry = index.PACKET_HEADER.unpack_from(area, offset)
        (_, stream_id, instance_id, begin, end, content_bits, packet_bits, seq, discarded) = entry
        link.queue_index(
            r.SendIndex(
                self.handle,
                self.next_seq,
                packet_bits,
                content_bits,
                begin,
                end,
                discarded,
                stream_id,
                instance_id,
                seq,
            )
        )
        self.next_seq += 1
        self.last_packet_seq = seq
