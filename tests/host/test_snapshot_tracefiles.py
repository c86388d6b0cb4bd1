"""A local snapshot split by the channel's --tracefile-size/--tracefile-count, as
lttng-consumerd 2.13 splits it (lttng_consumer_on_read_subbuffer_mmap(): the next file
before a packet that would take the current one past the size): ``<stream>_<n>``, n
modulo the count; no index for the first file of a stream's first snapshot, an empty one
(its header) for each next file, and for every file once the stream has one; the next
snapshot of the stream goes on from the file the last one ended in."""

from __future__ import annotations

from pathlib import Path

import pytest
from pylttng.consumerd import index
from pylttng.consumerd.snapshot import (
    SnapshotResult,
    snapshot_data_stream,
    snapshot_files,
    snapshot_metadata_stream,
)
from pylttng.protocol.consumer import SnapshotStream
from test_snapshot import SB, OverwriteRing, packet


def copy(folder: Path, ring: OverwriteRing, *, size: int, count: int = 0, first: int = 0,
         indexed: bool = False, max_packets: int = 0) -> SnapshotResult:
    req = SnapshotStream(session_id=1, trace_dir=str(folder), file_name="c_0", metadata=False,
                         max_packets=max_packets, tracefile_size=size, tracefile_count=count,
                         tracefile_index=first, indexed=indexed)
    files = snapshot_files(req)
    try:
        return snapshot_data_stream(ring, files, max_packets)
    finally:
        files.close()


def packets(*numbers: int) -> bytes:
    return b"".join(packet(i) for i in numbers)


def contents(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by its path relative to it."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_three_packets_to_a_file(tmp_path: Path) -> None:
    result = copy(tmp_path, OverwriteRing(8, written=11), size=3 * SB, count=5)
    assert contents(tmp_path) == {
        "c_0_0": packets(3, 4, 5),
        "c_0_1": packets(6, 7, 8),
        "c_0_2": packets(9, 10),
        # consumer_stream_rotate_output_files() creates an index; nothing is written in it.
        "index/c_0_1.idx": index.FILE_HEADER,
        "index/c_0_2.idx": index.FILE_HEADER,
    }
    assert (result.packets, result.tracefile_index, result.indexed) == (8, 2, True)
    assert result.bytes_written == 8 * SB


def test_the_next_snapshot_goes_on_from_the_last_file(tmp_path: Path) -> None:
    result = copy(tmp_path, OverwriteRing(8, written=11), size=3 * SB, count=5, first=2,
                  indexed=True)
    assert contents(tmp_path) == {
        "c_0_2": packets(3, 4, 5),
        "c_0_3": packets(6, 7, 8),
        "c_0_4": packets(9, 10),
        "index/c_0_2.idx": index.FILE_HEADER,
        "index/c_0_3.idx": index.FILE_HEADER,
        "index/c_0_4.idx": index.FILE_HEADER,
    }
    assert (result.tracefile_index, result.indexed) == (4, True)


def test_the_count_makes_the_files_go_round(tmp_path: Path) -> None:
    result = copy(tmp_path, OverwriteRing(8, written=8), size=2 * SB, count=3, first=2,
                  indexed=False)
    # 2: p0 p1, 0: p2 p3, 1: p4 p5, 2 again (truncated): p6 p7.
    assert contents(tmp_path) == {
        "c_0_0": packets(2, 3),
        "c_0_1": packets(4, 5),
        "c_0_2": packets(6, 7),
        "index/c_0_0.idx": index.FILE_HEADER,
        "index/c_0_1.idx": index.FILE_HEADER,
        "index/c_0_2.idx": index.FILE_HEADER,
    }
    assert result.tracefile_index == 2


def test_a_size_without_a_count_numbers_on(tmp_path: Path) -> None:
    result = copy(tmp_path, OverwriteRing(4, written=4), size=SB)
    assert sorted(contents(tmp_path)) == ["c_0_0", "c_0_1", "c_0_2", "c_0_3", "index/c_0_1.idx",
                                          "index/c_0_2.idx", "index/c_0_3.idx"]
    assert result.tracefile_index == 3


@pytest.mark.parametrize("size", [SB + 1, 2 * SB - 1])
def test_a_packet_never_straddles_two_files(tmp_path: Path, size: int) -> None:
    copy(tmp_path, OverwriteRing(4, written=3), size=size, count=10)
    found = contents(tmp_path)
    assert [found[f"c_0_{n}"] for n in range(3)] == [packet(0), packet(1), packet(2)]


def test_within_the_size_stays_in_one_file(tmp_path: Path) -> None:
    result = copy(tmp_path, OverwriteRing(4, written=6), size=4 * SB, count=2, max_packets=2)
    assert contents(tmp_path) == {"c_0_0": packets(4, 5)}  # nor an index: never moved on
    assert (result.tracefile_index, result.indexed) == (0, False)


def test_an_empty_ring_leaves_the_first_file_empty(tmp_path: Path) -> None:
    result = copy(tmp_path, OverwriteRing(4, written=0), size=SB, count=2, first=1, indexed=True)
    assert contents(tmp_path) == {"c_0_1": b"", "index/c_0_1.idx": index.FILE_HEADER}
    assert (result.tracefile_index, result.indexed) == (1, True)


def test_metadata_is_one_file(tmp_path: Path) -> None:
    req = SnapshotStream(session_id=1, trace_dir=str(tmp_path), file_name="metadata",
                         metadata=True)
    files = snapshot_files(req)
    try:
        result = snapshot_metadata_stream(OverwriteRing(2, written=0), files)
    finally:
        files.close()
    assert list(contents(tmp_path)) == ["metadata"] and result.packets == 2
