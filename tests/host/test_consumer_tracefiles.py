"""Trace file size and count, and CTF index files, against a fake ring buffer.

What lttng-consumerd 2.13 leaves on disk: ``<stream>`` or ``<stream>_<n>`` files, a packet
never split, ``index/<same name>.idx`` with one big-endian entry per packet
(lttng-tools: src/common/index/ctf-index.h, consumer.c, consumer-stream.c, utils.c).
The index files are read here with their own struct layouts, not consumerd/index.py's.
(Tests that close a Stream are async: closing notifies trio.)
"""

from __future__ import annotations

import errno
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from pylttng.consumerd import output, tracefiles
from pylttng.consumerd.fs_identity import Owner
from pylttng.consumerd.stream import Step, Stream
from pylttng.consumerd.tracefiles import StreamFiles
from test_consumer_fakering import PAGE, FakeRing, ctf_packet, page_align
from test_consumer_stream import make_stream

INDEX_HEADER = struct.Struct(">IIII")
INDEX_ENTRY = struct.Struct(">QQQQQQQQQ")


def write_packets(ring: FakeRing, stream: Stream, packets: list[bytes]) -> None:
    for pkt in packets:
        ring.produce(pkt)
        assert stream.step() is Step.WROTE


def read_index(path: Path) -> list[tuple[int, ...]]:
    data = path.read_bytes()
    assert INDEX_HEADER.unpack_from(data) == (0xC1F1DCC1, 1, 1, INDEX_ENTRY.size)
    body = data[INDEX_HEADER.size :]
    assert len(body) % INDEX_ENTRY.size == 0
    return [e for e in INDEX_ENTRY.iter_unpack(body)]


def expected_entry(offset: int, seq: int, size: int, discarded: int = 0) -> tuple[int, ...]:
    """offset, packet_size, content_size, timestamp_begin, timestamp_end, events_discarded,
    stream_id, stream_instance_id, packet_seq_num: ctf_packet()'s values."""
    return (
        offset,
        page_align(size) * 8,
        size * 8,
        1000 + 10 * seq,
        1005 + 10 * seq,
        discarded,
        2,
        1,
        seq,
    )


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


@pytest.mark.parametrize("mode", ["mmap", "splice"])
async def test_one_file_and_its_index(ring: FakeRing, tmp_path: Path, mode: str) -> None:
    s = make_stream(ring, tmp_path, mode)
    trace = tmp_path / "kernel"
    sizes = [100, 5000, 4 * PAGE]
    write_packets(ring, s, [ctf_packet(i, n, discarded=i) for i, n in enumerate(sizes)])
    s.close()
    assert names(trace) == ["chan_0"]
    assert names(trace / "index") == ["chan_0.idx"]
    offsets = [0, PAGE, 3 * PAGE]
    assert read_index(trace / "index" / "chan_0.idx") == [
        expected_entry(off, i, n, discarded=i)
        for i, (off, n) in enumerate(zip(offsets, sizes, strict=True))
    ]
    assert (trace / "chan_0").stat().st_size == 7 * PAGE


def check_files(trace: Path, n: int, packets: dict[int, list[tuple[int, int]]]) -> None:
    """File ``chan_0_<n>`` holds the packets (seq, size) given, in order, and its index says
    where each one is."""
    data = (trace / f"chan_0_{n}").read_bytes()
    entries, offset = [], 0
    for seq, size in packets[n]:
        pkt = ctf_packet(seq, size)
        assert data[offset : offset + size] == pkt
        entries.append(expected_entry(offset, seq, size))
        offset += page_align(size)
    assert len(data) == offset
    assert read_index(trace / "index" / f"chan_0_{n}.idx") == entries


@pytest.mark.parametrize("mode", ["mmap", "splice"])
async def test_files_split_at_packet_boundaries(ring: FakeRing, tmp_path: Path, mode: str) -> None:
    """Size 3 pages, no count: a file takes packets while they fit, then the next one."""
    s = make_stream(ring, tmp_path, mode, size=3 * PAGE)
    trace = tmp_path / "kernel"
    sizes = [100, 5000, 200, 3 * PAGE, 300, 400, 500]  # padded: 1, 2, 1, 3, 1, 1, 1 pages
    write_packets(ring, s, [ctf_packet(i, n) for i, n in enumerate(sizes)])
    s.close()
    assert names(trace) == ["chan_0_0", "chan_0_1", "chan_0_2", "chan_0_3"]
    assert names(trace / "index") == [f"chan_0_{n}.idx" for n in range(4)]
    layout = {
        0: [(0, 100), (1, 5000)],
        1: [(2, 200)],
        2: [(3, 3 * PAGE)],
        3: [(4, 300), (5, 400), (6, 500)],
    }
    for n in layout:
        check_files(trace, n, layout)


async def test_count_recycles_the_oldest_file(ring: FakeRing, tmp_path: Path) -> None:
    """Size 2 pages, count 3: files 0, 1, 2, then 0 again, truncated, with its index."""
    s = make_stream(ring, tmp_path, size=2 * PAGE, count=3)
    trace = tmp_path / "kernel"
    write_packets(ring, s, [ctf_packet(i, 3000) for i in range(9)])
    assert names(trace) == ["chan_0_0", "chan_0_1", "chan_0_2"]
    assert names(trace / "index") == ["chan_0_0.idx", "chan_0_1.idx", "chan_0_2.idx"]
    # Packets 0-5 went to files 0, 1, 2 two by two; 6-7 replaced file 0; 8 is in file 1,
    # which now holds packet 8 only.
    layout = {0: [(6, 3000), (7, 3000)], 1: [(8, 3000)], 2: [(4, 3000), (5, 3000)]}
    for n in layout:
        check_files(trace, n, layout)
    assert s.path == str(trace / "chan_0_1")
    s.close()


async def test_packet_larger_than_the_size_gets_a_file_of_its_own(
    ring: FakeRing, tmp_path: Path
) -> None:
    """As lttng-consumerd: the size test runs on an empty file too, so the first file
    stays empty and every packet gets its own file (the `lttng` CLI prevents it by
    rounding the size up to the sub-buffer size)."""
    s = make_stream(ring, tmp_path, size=PAGE)
    trace = tmp_path / "kernel"
    write_packets(ring, s, [ctf_packet(i, 2 * PAGE) for i in range(2)])
    s.close()
    assert (trace / "chan_0_0").stat().st_size == 0
    assert read_index(trace / "index" / "chan_0_0.idx") == []
    layout = {1: [(0, 2 * PAGE)], 2: [(1, 2 * PAGE)]}
    for n in layout:
        check_files(trace, n, layout)


def test_metadata_has_no_index(tmp_path: Path) -> None:
    files = StreamFiles(str(tmp_path), "metadata", indexed=False)
    assert files.index_fd is None
    files.close()
    files.close()  # idempotent
    assert names(tmp_path) == ["metadata"]
    assert not (tmp_path / "index").exists()


async def test_failed_rotation_is_retried_without_loss(
    ring: FakeRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening the next file fails (a full disk): the packet stays held, the stream keeps
    its current files, and the next try moves on as if nothing happened."""
    s = make_stream(ring, tmp_path, size=2 * PAGE)
    trace = tmp_path / "kernel"
    write_packets(ring, s, [ctf_packet(0, 5000)])
    real_create = tracefiles.create_trace_file
    failures = 0

    def failing_index(dir_fd: int, file_name: str, owner: Owner) -> int:
        nonlocal failures
        if file_name.endswith(".idx"):  # the data file is created, its index is not
            failures += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), file_name)
        return real_create(dir_fd, file_name, owner)

    monkeypatch.setattr(tracefiles, "create_trace_file", failing_index)
    ring.produce(ctf_packet(1, 100))
    assert s.step() is Step.STUCK
    assert s.step() is Step.STUCK
    assert failures == 2 and ring.puts == 1
    assert s.write_error is not None and "chan_0_1.idx: No space left" in s.write_error
    assert s.path == str(trace / "chan_0_0")
    monkeypatch.setattr(tracefiles, "create_trace_file", real_create)
    assert s.step() is Step.WROTE
    assert s.write_error is None
    s.close()
    layout = {0: [(0, 5000)], 1: [(1, 100)]}
    for n in layout:
        check_files(trace, n, layout)


@pytest.mark.parametrize("mode", ["mmap", "splice"])
async def test_failed_index_write_is_resumed(
    ring: FakeRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The packet is in the file, its entry half-written when the disk fills up: the
    sub-buffer stays held and the entry is finished later, written once."""
    s = make_stream(ring, tmp_path, mode)
    trace = tmp_path / "kernel"
    index_fd = s.files.index_fd
    full = True

    def short_then_full(fd: int, data: memoryview) -> int:
        if fd == index_fd and full:
            if len(data) == INDEX_ENTRY.size:
                return os.write(fd, data[:10])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)

    monkeypatch.setattr(output, "_write", short_then_full)
    ring.produce(ctf_packet(0, 300))
    assert s.step() is Step.STUCK
    assert s.step() is Step.STUCK
    assert ring.puts == 0
    full = False
    assert s.step() is Step.WROTE
    write_packets(ring, s, [ctf_packet(1, 300)])
    s.close()
    assert read_index(trace / "index" / "chan_0.idx") == [
        expected_entry(0, 0, 300),
        expected_entry(PAGE, 1, 300),
    ]


def test_file_names() -> None:
    assert tracefiles.stream_file_name("c_0", 0, 0) == "c_0"
    assert tracefiles.stream_file_name("c_0", 0, 0, ".idx") == "c_0.idx"
    assert tracefiles.stream_file_name("c_0", 65536, 12, ".idx") == "c_0_12.idx"


# A CTF 1.8 description of ctf_packet()'s packets (pylttng.ko's packet header and context)
# holding "tick" events: id, timestamp, n.
METADATA = """/* CTF 1.8 */
typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
typealias integer { size = 64; align = 8; signed = false; } := uint64_t;
trace {
    major = 1; minor = 8;
    uuid = "75757575-7575-7575-7575-757575757575";
    byte_order = le;
    packet.header := struct {
        uint32_t magic; uint8_t uuid[16]; uint32_t stream_id; uint64_t stream_instance_id;
    };
};
clock { name = "monotonic"; freq = 1000000000; offset = 0; };
typealias integer {
    size = 64; align = 8; signed = false; map = clock.monotonic.value;
} := uint64_clock_t;
stream {
    id = 2;
    event.header := struct { uint32_t id; uint64_clock_t timestamp; };
    packet.context := struct {
        uint64_clock_t timestamp_begin; uint64_clock_t timestamp_end;
        uint64_t content_size; uint64_t packet_size; uint64_t packet_seq_num;
        uint64_t events_discarded; uint32_t cpu_id;
    };
};
event { name = "tick"; id = 0; stream_id = 2; fields := struct { uint32_t n; }; };
"""
TICK = struct.Struct("<IQI")
TICKS_PER_PACKET = 3


def ticking_packet(seq: int) -> bytes:
    """Packet ``seq`` with its events, timestamped within the packet's bounds."""
    body = b"".join(
        TICK.pack(0, 1000 + 10 * seq + i + 1, 10 * seq + i) for i in range(TICKS_PER_PACKET)
    )
    size = 84 + len(body)  # pylttng.ko's header and context, then the events
    return ctf_packet(seq, size, body=body)


@pytest.mark.skipif(shutil.which("babeltrace2") is None, reason="needs babeltrace2")
async def test_babeltrace2_reads_recycled_files_through_their_index(
    ring: FakeRing, tmp_path: Path
) -> None:
    """The oracle: babeltrace2 checks each index against its data file (offsets, sizes,
    time bounds) and warns when one does not match; here it reads the three files left
    after the ring went round, through their index, without a word."""
    s = make_stream(ring, tmp_path, size=2 * PAGE, count=3)
    trace = tmp_path / "kernel"
    (trace / "metadata").write_text(METADATA)
    write_packets(ring, s, [ticking_packet(seq) for seq in range(9)])
    s.close()
    assert names(trace) == ["chan_0_0", "chan_0_1", "chan_0_2", "metadata"]

    def babeltrace2(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["babeltrace2", *options, str(trace)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    read = babeltrace2()
    assert read.returncode == 0 and read.stderr == "", read.stderr
    # Packets 4 to 8 are left (test_count_recycles_the_oldest_file), in time order.
    ns = [int(line.rsplit("n = ", 1)[1].rstrip(" }")) for line in read.stdout.splitlines()]
    assert ns == [10 * seq + i for seq in range(4, 9) for i in range(TICKS_PER_PACKET)]
    used = babeltrace2("--log-level=INFO").stderr
    for n in range(3):
        assert f"Building index from .idx file of stream file {trace}/chan_0_{n}" in used

    # The control: an index that no longer matches its file is noticed.
    index_file = trace / "index" / "chan_0_2.idx"
    data = bytearray(index_file.read_bytes())
    struct.pack_into(">Q", data, INDEX_HEADER.size, 2 * PAGE)  # packet 4 after packet 5
    index_file.write_bytes(bytes(data))
    assert "Invalid, non-monotonic, packet offset" in babeltrace2().stderr
