"""Snapshots, consumer side: which sub-buffers are copied, and the request that asks for it."""

from __future__ import annotations

import mmap
import os
import tempfile
from pathlib import Path

import msgpack
import pytest
from pylttng.consumerd.ringbuffer import Next
from pylttng.consumerd.snapshot import (
    snapshot_data_stream,
    snapshot_metadata_stream,
    start_position,
)
from pylttng.consumerd.tracefiles import StreamFiles
from pylttng.protocol.consumer import (
    ProtocolError,
    SnapshotStream,
    encode_request,
    parse_request,
    request_fd_count,
)

ULONG = 1 << 64
SB = mmap.PAGESIZE


class OverwriteRing:
    """An overwrite-mode ring of `n` sub-buffers after `written` packets: each sub-buffer
    holds the bytes of the last packet written into it; positions are free-running."""

    def __init__(self, n: int, written: int, *, base: int = 0, gone: tuple[int, ...] = ()) -> None:
        self.n = n
        self.base = base % ULONG  # position of the first packet ever written
        self.produced = (self.base + written * SB) % ULONG
        self.consumed = (self.base + max(0, written - n) * SB) % ULONG
        self.gone = {(self.base + i * SB) % ULONG for i in gone}  # overwritten while read
        self.flushed = 0
        self.held: int | None = None
        self.puts = 0
        self._fd = os.open(tempfile.gettempdir(), os.O_TMPFILE | os.O_RDWR, 0o600)
        os.ftruncate(self._fd, n * SB)
        for i in range(max(0, written - n), written):
            os.pwrite(self._fd, packet(i), self._slot(self.base + i * SB) * SB)
        self.metadata = [b"/* CTF 1.8 */" * 10, b"event { };"]

    def _slot(self, position: int) -> int:
        return (position // SB) % self.n

    def flush_empty(self) -> None:
        self.flushed += 1

    def snapshot(self) -> bool:
        return self.produced != self.consumed

    def snapshot_consumed(self) -> int:
        return self.consumed

    def snapshot_produced(self) -> int:
        return self.produced

    def get_subbuf(self, position: int) -> bool:
        assert self.held is None
        if position in self.gone:
            return False
        self.held = position
        return True

    def put_subbuf(self) -> None:
        assert self.held is not None
        self.held = None
        self.puts += 1

    def get_next_subbuf(self) -> Next:
        if not self.metadata:
            return Next.AGAIN
        os.pwrite(self._fd, self.metadata.pop(0).ljust(SB, b"\0"), 0)
        self.held = 0
        return Next.OK

    def put_next_subbuf(self) -> None:
        self.put_subbuf()

    def padded_subbuf_size(self) -> int:
        return SB

    def max_subbuf_size(self) -> int:
        return SB

    def mmap_read_offset(self) -> int:
        assert self.held is not None
        return self._slot(self.held) * SB

    def map(self) -> mmap.mmap:
        return mmap.mmap(self._fd, self.n * SB, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)


def packet(i: int) -> bytes:
    return f"packet {i}".encode().ljust(SB, b".")


def snapshot(ring: OverwriteRing, max_packets: int = 0) -> tuple[bytes, int, int]:
    with tempfile.TemporaryDirectory() as folder:
        files = StreamFiles(folder, "chan_0", indexed=False)
        try:
            result = snapshot_data_stream(ring, files, max_packets)
        finally:
            files.close()
        assert os.listdir(folder) == ["chan_0"]  # no limits: one file, no index
        data = Path(folder, "chan_0").read_bytes()
    assert result.bytes_written == len(data)
    assert ring.held is None, "a sub-buffer was left held"
    return data, result.packets, result.lost_packets


def test_copies_what_the_ring_holds_oldest_first() -> None:
    ring = OverwriteRing(4, written=10)
    data, packets, lost = snapshot(ring)
    assert data == b"".join(packet(i) for i in range(6, 10))
    assert (packets, lost, ring.flushed, ring.puts) == (4, 0, 1, 4)


def test_a_ring_not_yet_full() -> None:
    data, packets, _ = snapshot(OverwriteRing(4, written=2))
    assert data == packet(0) + packet(1) and packets == 2


def test_max_packets_keeps_the_newest() -> None:
    data, packets, _ = snapshot(OverwriteRing(4, written=10), max_packets=2)
    assert data == packet(8) + packet(9) and packets == 2
    data, packets, _ = snapshot(OverwriteRing(4, written=3), max_packets=8)
    assert packets == 3  # asking for more than there is gives everything


def test_positions_wrap_around_the_unsigned_long() -> None:
    ring = OverwriteRing(4, written=6, base=ULONG - 3 * SB)
    data, packets, _ = snapshot(ring)
    assert data == b"".join(packet(i) for i in range(2, 6)) and packets == 4
    assert start_position(ring.consumed, ring.produced, 1, SB) == (ring.base + 5 * SB) % ULONG


def test_a_sub_buffer_overwritten_while_read_is_skipped_and_counted() -> None:
    data, packets, lost = snapshot(OverwriteRing(4, written=10, gone=(7,)))
    assert data == packet(6) + packet(8) + packet(9)
    assert (packets, lost) == (3, 1)


def test_an_empty_ring_writes_nothing() -> None:
    assert snapshot(OverwriteRing(4, written=0)) == (b"", 0, 0)


def test_metadata_is_read_to_its_end() -> None:
    ring = OverwriteRing(2, written=0)
    with tempfile.TemporaryDirectory() as folder:
        files = StreamFiles(folder, "metadata", indexed=False)
        try:
            result = snapshot_metadata_stream(ring, files)
        finally:
            files.close()
        data = Path(folder, "metadata").read_bytes()
    assert result.packets == 2 and len(data) == 2 * SB
    assert data.startswith(b"/* CTF 1.8 */") and data[SB:].startswith(b"event { };")


def test_request_round_trip_and_fd() -> None:
    req = SnapshotStream(session_id=4, trace_dir="/s/snapshot-1-20261205-120000-0/kernel",
                         file_name="channel0_1", metadata=False, max_packets=3,
                         tracefile_size=8192, tracefile_count=4, tracefile_index=3, indexed=True)
    from test_consumer_codec import payload_of

    assert parse_request(payload_of(encode_request(req))) == req
    assert request_fd_count(req) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_packets": -1}, "max_packets must be >= 0"),
        ({"max_packets": True}, "'max_packets' must be int"),
        ({"file_name": "../metadata"}, "plain name"),
        ({"trace_dir": ""}, "non-empty path"),
        ({"tracefile_size": -1}, "within"),
        ({"tracefile_size": 4096, "tracefile_count": 2, "tracefile_index": 2},
         "tracefile_index must be below tracefile_count"),
        ({"metadata": True, "tracefile_size": 4096}, "neither split nor indexed"),
        ({"metadata": True, "indexed": True}, "neither split nor indexed"),
        ({"indexed": 1}, "'indexed' must be bool"),
    ],
)
def test_malformed_snapshot_requests(fields: dict[str, object], message: str) -> None:
    msg = {"cmd": "snapshot_stream", "session_id": 1, "trace_dir": "/t", "file_name": "x",
           "metadata": False, "max_packets": 0, **fields}
    with pytest.raises(ProtocolError, match=message):
        parse_request(msgpack.packb(msg))
