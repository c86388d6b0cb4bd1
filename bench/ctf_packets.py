"""What a kernel CTF stream file holds: packet headers, event records, padding.

Bytes on disk per event include a part that does not grow with the events: each packet's
header, the padding that ends the last packet of a stream on a page boundary, and a
header-only packet for a CPU that recorded nothing (LTTng-modules writes both: the consumer
writes the padded sub-buffer, and a final flush of an empty buffer still delivers its
header, lib_ring_buffer_try_switch_slow()). `event_record_bytes` counts what remains: the
event records themselves, whose size is what compact event headers decide.

`discarded_events` reads what the tracer says it lost: each packet's context carries the
stream's events_discarded, a running count (what babeltrace2 turns into its "discarded
events" messages), so a stream lost what its last packet says.

The layout read here is LTTng-modules 2.13's kernel trace (shared/reference TSDL), which
pylttng.ko writes too: every field byte-aligned, little-endian.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

CTF_MAGIC = 0xC1FC1FC1
# trace.packet.header: magic u32, uuid[16], stream_id u32, stream_instance_id u64.
# stream.packet.context: timestamp_begin, timestamp_end, content_size, packet_size,
# packet_seq_num, events_discarded (u64 each), cpu_id u32.
_HEADER = struct.Struct("<I16sIQQQQQQQI")
HEADER_BYTES = _HEADER.size  # 84


class PacketError(ValueError):
    """The file is not a sequence of LTTng kernel packets."""


@dataclass(frozen=True)
class Packet:
    content_bytes: int  # header + event records
    packet_bytes: int  # content + padding: what the file holds
    events_discarded: int = 0  # the stream's events lost so far (a running count)

    @property
    def record_bytes(self) -> int:
        return self.content_bytes - HEADER_BYTES


def packets(data: bytes) -> Iterator[Packet]:
    """The packets of one stream file's bytes, in order; PacketError if malformed."""
    offset = 0
    while offset < len(data):
        if len(data) - offset < HEADER_BYTES:
            raise PacketError(f"{len(data) - offset} bytes at offset {offset}: "
                              "shorter than a packet header")
        fields = _HEADER.unpack_from(data, offset)
        magic, content_bits, packet_bits, discarded = (fields[0], fields[6], fields[7],
                                                       fields[9])
        if magic != CTF_MAGIC:
            raise PacketError(f"no CTF magic at offset {offset} ({magic:#x})")
        if content_bits % 8 or packet_bits % 8 or not (
                HEADER_BYTES * 8 <= content_bits <= packet_bits):
            raise PacketError(f"packet at offset {offset}: content_size {content_bits} "
                              f"and packet_size {packet_bits} bits are not a valid pair")
        if offset + packet_bits // 8 > len(data):
            raise PacketError(f"packet at offset {offset} runs past the end of the file")
        yield Packet(content_bits // 8, packet_bits // 8, discarded)
        offset += packet_bits // 8


def event_record_bytes(stream_files: Iterable[Path]) -> int:
    """Bytes of event records in these stream files: no headers, no padding."""
    return sum(p.record_bytes for f in stream_files for p in packets(f.read_bytes()))


def discarded_events(stream_files: Iterable[Path]) -> int:
    """Events the tracer discarded, summed over these stream files (one per stream)."""
    return sum(max((p.events_discarded for p in packets(f.read_bytes())), default=0)
               for f in stream_files)
