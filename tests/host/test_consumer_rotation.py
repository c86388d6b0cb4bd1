"""Session rotation and clear in the consumer, against a fake ring buffer with positions:
each stream splits at the position sampled when the rotation is asked, moves to the new
trace chunk's files (index and file counters starting over) once it has consumed the old
chunk, and keeps writing folders renamed under it (lttng-consumerd 2.13: consumer.c).

(Tests that close a Stream are async: closing notifies trio.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from pylttng.consumerd.session import Registry
from pylttng.consumerd.stream import Step, Stream
from pylttng.consumerd.tracefiles import StreamFiles
from pylttng.protocol.consumer import (
    AddStream,
    ClearSession,
    ConsumedSize,
    RotateSession,
    RotationPending,
    encode_request,
    parse_request,
)
from test_consumer_fakering import CTF_PACKET_HEADER, PAGE, FakeKernel, FakeRing, ctf_packet
from test_consumer_tracefiles import read_index

EMPTY_SEQ = 900  # the packets flush_empty makes are numbered from here


class PositionedRing(FakeRing):
    """FakeRing with the positions a rotation samples, flush_empty and clear."""

    def __init__(self, **kwargs: int) -> None:
        super().__init__(**kwargs)
        self.stored = 0  # packets ever made ready
        self.dropped = 0  # packets cleared without being consumed
        self.empties = 0
        self.dumps = 0
        self._sampled = (0, 0)

    def _store_packet(self, content: bytes):  # type: ignore[no-untyped-def]
        self.stored += 1
        return super()._store_packet(content)

    def sample_positions(self) -> None:
        consumed = (self.puts + self.dropped) * self.sb_size
        self._sampled = (consumed, self.stored * self.sb_size + len(self._partial))

    def snapshot_consumed(self) -> int:
        return self._sampled[0]

    def snapshot_produced(self) -> int:
        return self._sampled[1]

    def flush_empty(self) -> None:
        if self._partial:
            self.flush()
            return
        self.produce(ctf_packet(EMPTY_SEQ + self.empties, CTF_PACKET_HEADER.size))
        self.empties += 1

    def clear(self) -> None:
        self.flush()
        while self._ready:
            self._ready.popleft()
            self.dropped += 1
        self._signal()

    def metadata_cache_dump(self) -> None:
        self.dumps += 1


@pytest.fixture
def ring() -> Iterator[PositionedRing]:
    r = PositionedRing(n_subbufs=8, subbuf_size=4 * PAGE)
    yield r
    r.close()


def make_stream(ring: FakeRing, trace: Path, *, metadata: bool = False, size: int = 0) -> Stream:
    name = "metadata" if metadata else "chan_1"
    files = StreamFiles(str(trace), name, indexed=not metadata, tracefile_size=size)
    return Stream(ring, stream_fd=os.dup(ring.fd), files=files, metadata=metadata,
                  output="mmap", max_subbuf_size=ring.max_subbuf_size())


def drain(stream: Stream) -> int:
    wrote = 0
    while stream.step() is Step.WROTE:
        wrote += 1
    return wrote


def seqs(index_file: Path) -> list[int]:
    return [entry[8] for entry in read_index(index_file)]


async def test_stream_splits_at_the_position_sampled_by_the_rotation(
    ring: PositionedRing, tmp_path: Path
) -> None:
    old, new = tmp_path / "old" / "kernel", tmp_path / "new" / "kernel"
    s = make_stream(ring, old)
    ring.produce(ctf_packet(0, 5000))
    assert drain(s) == 1
    ring.produce(ctf_packet(1, 5000))
    ring.produce(ctf_packet(2, 5000))
    ring.produce_partial(ctf_packet(3, 3000))  # the packet being written: closed by the rotation
    s.begin_rotation(str(new))
    assert s.rotation is not None  # three packets still to consume into the old chunk
    assert (new / "chan_1").exists() is False
    ring.produce(ctf_packet(4, 5000))  # after the rotation: the new chunk's
    assert drain(s) == 5
    assert s.rotation is None
    assert seqs(old / "index" / "chan_1.idx") == [0, 1, 2, 3]
    assert seqs(new / "index" / "chan_1.idx") == [EMPTY_SEQ, 4]  # opened at the rotation
    assert read_index(new / "index" / "chan_1.idx")[0][0] == 0  # offsets start over
    s.close()


async def test_caught_up_stream_rotates_at_once(ring: PositionedRing, tmp_path: Path) -> None:
    """Nothing produced since the last packet: an empty packet ends the old chunk (no empty
    file), another opens the new one, and both are in place after one step each."""
    old, new = tmp_path / "a", tmp_path / "b"
    s = make_stream(ring, old, size=3 * PAGE)
    ring.produce(ctf_packet(0, 5000))
    ring.produce(ctf_packet(1, 5000))
    assert drain(s) == 2
    assert sorted(os.listdir(old)) == ["chan_1_0", "chan_1_1", "index"]
    s.begin_rotation(str(new))
    assert drain(s) == 2
    assert s.rotation is None
    assert seqs(old / "index" / "chan_1_1.idx") == [1, EMPTY_SEQ]
    assert sorted(os.listdir(new)) == ["chan_1_0", "index"]  # the file counter starts over
    assert seqs(new / "index" / "chan_1_0.idx") == [EMPTY_SEQ + 1]
    s.close()


async def test_renamed_folders_keep_their_streams(ring: PositionedRing, tmp_path: Path) -> None:
    """The session daemon renames chunk folders (.tmp_old_chunk, archives/...) while the
    streams still write there: files are created relative to the folders' fds."""
    old, new = tmp_path / "chunk0", tmp_path / ".tmp_new_chunk"
    s = make_stream(ring, old / "kernel", size=2 * PAGE)
    ring.produce(ctf_packet(0, 5000))
    s.begin_rotation(str(new / "kernel"))
    os.rename(old, tmp_path / ".tmp_old_chunk")
    os.rename(new, tmp_path / "chunk1")
    ring.produce(ctf_packet(1, 5000))
    assert drain(s) == 3
    assert sorted(os.listdir(tmp_path)) == [".tmp_old_chunk", "chunk1"]
    old_index = tmp_path / ".tmp_old_chunk" / "kernel" / "index"
    assert sorted(os.listdir(old_index)) == ["chan_1_0.idx"]
    assert seqs(old_index / "chan_1_0.idx") == [0]
    assert seqs(tmp_path / "chunk1" / "kernel" / "index" / "chan_1_0.idx") == [EMPTY_SEQ]
    assert seqs(tmp_path / "chunk1" / "kernel" / "index" / "chan_1_1.idx") == [1]
    s.close()


async def test_rotation_to_no_chunk_then_to_a_new_one(
    ring: PositionedRing, tmp_path: Path
) -> None:
    """Rotated while stopped: the files close and nothing is consumed until the rotation
    of the next start, which neither flushes nor waits."""
    s = make_stream(ring, tmp_path / "a")
    ring.produce(ctf_packet(0, 5000))
    s.begin_rotation("")
    assert drain(s) == 1
    assert s.rotation is None and not s.files.is_open
    ring.produce(ctf_packet(1, 5000))  # never happens while stopped: kept for later
    assert s.step() is Step.AGAIN
    empties = ring.empties
    s.begin_rotation(str(tmp_path / "b"))
    assert ring.empties == empties and s.rotation is None and s.files.is_open
    assert drain(s) == 1
    assert seqs(tmp_path / "a" / "index" / "chan_1.idx") == [0]
    assert seqs(tmp_path / "b" / "index" / "chan_1.idx") == [1]
    s.close()


async def test_metadata_rotation_dumps_the_metadata_again(
    ring: PositionedRing, tmp_path: Path
) -> None:
    s = make_stream(ring, tmp_path / "a", metadata=True)
    ring.produce(b"/* CTF 1.8 */ first")
    ring.produce(b"second")  # handed out but not written yet: it belongs to the old chunk
    s.begin_rotation(str(tmp_path / "b"))
    assert s.rotation is None and ring.dumps == 1 and ring.empties == 0
    ring.produce(b"/* CTF 1.8 */ again")  # what the tracer hands out after the dump
    assert drain(s) == 1
    assert (tmp_path / "a" / "metadata").read_bytes().startswith(b"/* CTF 1.8 */ first")
    assert b"second" in (tmp_path / "a" / "metadata").read_bytes()
    assert (tmp_path / "b" / "metadata").read_bytes().startswith(b"/* CTF 1.8 */ again")
    assert not (tmp_path / "b" / "index").exists()
    s.close()


async def test_clear_drops_what_was_not_consumed(ring: PositionedRing, tmp_path: Path) -> None:
    s = make_stream(ring, tmp_path)
    ring.produce(ctf_packet(0, 5000))
    ring.produce(ctf_packet(1, 5000))
    ring.produce_partial(ctf_packet(2, 100))
    s.clear()
    assert ring.dropped == 3
    assert s.step() is Step.AGAIN
    s.close()


def test_rotation_requests_round_trip() -> None:
    for req in (RotateSession(3, "/t/x/kernel"), RotateSession(3, ""), RotationPending(3),
                ClearSession(4), ConsumedSize(5)):
        frame = encode_request(req)
        assert parse_request(frame[4:]) == req


async def test_registry_reports_pending_rotations_and_consumed_bytes(tmp_path: Path) -> None:
    kernel = FakeKernel()
    rings = []
    try:
        async with trio.open_nursery() as nursery:
            registry = Registry(nursery, kernel)
            for cpu in range(2):
                ring = PositionedRing(n_subbufs=8, subbuf_size=4 * PAGE)
                kernel.rings[ring.inode] = ring
                rings.append(ring)
                req = AddStream(session_id=1, trace_dir=str(tmp_path / "c0"),
                                file_name=f"chan_{cpu}", metadata=False)
                await registry.add_stream(req, os.dup(ring.fd))
            rings[0].produce(ctf_packet(0, 5000))
            with trio.fail_after(10):
                while registry.consumed_size(1) == 0:
                    await trio.sleep(0.01)
            registry.rotate_session(1, str(tmp_path / "c1"))
            with trio.fail_after(10):
                while registry.rotation_pending(1):
                    await trio.sleep(0.01)
            assert sorted(os.listdir(tmp_path / "c1")) == ["chan_0", "chan_1", "index"]
            registry.clear_session(1)
            await registry.close_session(1)
            assert registry.consumed_size(1) == 0  # forgotten
    finally:
        kernel.close()
