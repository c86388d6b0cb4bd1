"""bench/ctf_packets.py: event-record bytes of kernel CTF stream files (no VM)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

# The checkout root holds the bench package; appended so it cannot shadow pylttng.
sys.path.append(str(Path(__file__).resolve().parents[2]))

from bench.ctf_packets import (
    HEADER_BYTES,
    PacketError,
    discarded_events,
    event_record_bytes,
    packets,
)

PAGE = 4096


def packet(records: int, padded_to: int = PAGE, magic: int = 0xC1FC1FC1,
           discarded: int = 0) -> bytes:
    """A packet as pylttng.ko writes it: header, `records` bytes of records, padding;
    `discarded`: the stream's events_discarded so far."""
    content = HEADER_BYTES + records
    header = struct.pack("<I16sIQQQQQQQI", magic, b"u" * 16, 0, 1, 10, 20,
                         content * 8, padded_to * 8, 0, discarded, 1)
    return header + b"r" * records + b"\0" * (padded_to - content)


def test_header_is_lttng_modules_packet_header_and_context() -> None:
    assert HEADER_BYTES == 84  # 32-byte trace.packet.header + 52-byte packet_context


def test_records_exclude_headers_and_padding(tmp_path: Path) -> None:
    busy = tmp_path / "chan_0"
    busy.write_bytes(packet(4 * PAGE - HEADER_BYTES, 4 * PAGE) + packet(1600))
    idle = tmp_path / "chan_1"
    idle.write_bytes(packet(0))  # the header-only packet of a CPU that recorded nothing
    assert [p.record_bytes for p in packets(busy.read_bytes())] == [4 * PAGE - HEADER_BYTES,
                                                                   1600]
    assert event_record_bytes([busy, idle]) == 4 * PAGE - HEADER_BYTES + 1600


@pytest.mark.parametrize("data, why", [
    (packet(10, magic=0x12345678), "no CTF magic"),
    (packet(10)[:50], "shorter than a packet header"),
    (packet(10) + packet(10)[:PAGE - 1], "runs past the end"),
])
def test_malformed_stream_files_are_refused(data: bytes, why: str) -> None:
    with pytest.raises(PacketError, match=why):
        list(packets(data))


def test_content_beyond_packet_size_is_refused() -> None:
    bad = bytearray(packet(10))
    struct.pack_into("<Q", bad, 48, (PAGE + 8) * 8)  # content_size > packet_size
    with pytest.raises(PacketError, match="not a valid pair"):
        list(packets(bytes(bad)))


def test_discarded_events_are_each_streams_last_running_count(tmp_path: Path) -> None:
    """events_discarded counts from the stream's start: 5 lost, then 2 more = 7."""
    lossy = tmp_path / "chan_0"
    lossy.write_bytes(packet(100) + packet(100, discarded=5) + packet(100, discarded=7))
    other = tmp_path / "chan_1"
    other.write_bytes(packet(100, discarded=3))
    clean = tmp_path / "chan_2"
    clean.write_bytes(packet(0))
    assert [p.events_discarded for p in packets(lossy.read_bytes())] == [0, 5, 7]
    assert discarded_events([lossy, other, clean]) == 10
    empty = tmp_path / "chan_3"
    empty.write_bytes(b"")
    assert discarded_events([empty]) == 0
