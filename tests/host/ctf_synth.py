"""A small CTF 1.8 trace babeltrace2 reads, made of the packets the fake rings hand out:
packetized TSDL metadata and data packets with pylttng.ko's packet header and context
(test_consumer_fakering.CTF_PACKET_HEADER), each event a ``tick`` with a number ``n``
unique in the test, so a reader's output tells which events arrived and how often."""

from __future__ import annotations

import re
import struct

from test_consumer_fakering import CTF_PACKET_HEADER, page_align

UUID = b"u" * 16
UUID_TEXT = "75757575-7575-7575-7575-757575757575"
STREAM_ID = 0
_EVENT = struct.Struct("=IQQ")  # event header (id, timestamp), payload (n)
# struct metadata_packet_header (CTF 1.8 spec, "Metadata"): magic, uuid, checksum,
# content and packet sizes in bits, compression, encryption, checksum scheme, major, minor.
_METADATA_HEADER = struct.Struct("=I16sIIIBBBBB")

def tsdl(
    uuid_text: str,
    *,
    env: str = 'hostname = "pylttng-host";',
    clock_offset_s: int = 1_700_000_000,
    absolute: bool = True,
    event: str = "tick",
    field_bits: int = 64,
) -> str:
    """The TSDL text of a one-stream trace whose one event class ``event`` carries one
    unsigned field ``n`` of ``field_bits`` bits."""
    return f"""/* CTF 1.8 */
typealias integer {{ size = 8; align = 8; signed = false; }} := uint8_t;
typealias integer {{ size = 32; align = 8; signed = false; }} := uint32_t;
typealias integer {{ size = 64; align = 8; signed = false; }} := uint64_t;
trace {{
	major = 1;
	minor = 8;
	uuid = "{uuid_text}";
	byte_order = le;
	packet.header := struct {{
		uint32_t magic;
		uint8_t uuid[16];
		uint32_t stream_id;
		uint64_t stream_instance_id;
	}};
}};
env {{
	{env}
}};
clock {{
	name = "monotonic";
	freq = 1000000000;
	offset_s = {clock_offset_s};
	absolute = {"true" if absolute else "false"};
}};
typealias integer {{ size = 64; align = 8; signed = false; map = clock.monotonic.value; }}
	:= uint64_clock_monotonic_t;
stream {{
	id = {STREAM_ID};
	event.header := struct {{
		uint32_t id;
		uint64_clock_monotonic_t timestamp;
	}};
	packet.context := struct {{
		uint64_clock_monotonic_t timestamp_begin;
		uint64_clock_monotonic_t timestamp_end;
		uint64_t content_size;
		uint64_t packet_size;
		uint64_t packet_seq_num;
		uint64_t events_discarded;
		uint32_t cpu_id;
	}};
}};
event {{
	name = "{event}";
	id = 0;
	stream_id = {STREAM_ID};
	fields := struct {{
		uint{field_bits}_t n;
	}};
}};
"""


TSDL = tsdl(UUID_TEXT)


def metadata_packet(text: bytes | None = None, uuid: bytes = UUID) -> bytes:
    """``text`` (default: TSDL) in one metadata packet, sized for the padding it gets."""
    text = TSDL.encode() if text is None else text
    size = _METADATA_HEADER.size + len(text)
    header = _METADATA_HEADER.pack(0x75D11D57, uuid, 0, size * 8, page_align(size) * 8,
                                   0, 0, 0, 1, 8)
    return header + text


def packet(uuid: bytes, cpu: int, seq: int, begin: int, end: int, body: bytes) -> bytes:
    """A data packet of the stream of ``cpu``: pylttng.ko's header and context, then
    ``body`` (the events)."""
    size = CTF_PACKET_HEADER.size + len(body)
    header = CTF_PACKET_HEADER.pack(
        0xC1FC1FC1, uuid, STREAM_ID, cpu, begin, end,
        size * 8, page_align(size) * 8, seq, 0, cpu,
    )
    return header + body


def data_packet(cpu: int, seq: int, numbers: list[int]) -> bytes:
    """Packet ``seq`` of the stream of ``cpu`` holding one tick per number; timestamps
    grow with ``seq``, so packets of a stream are in order whatever their content."""
    begin = 1_000_000 * (seq + 1)
    body = b"".join(_EVENT.pack(0, begin + 10 * (k + 1), n) for k, n in enumerate(numbers))
    return packet(UUID, cpu, seq, begin, begin + 999_999, body)


_TICK = re.compile(rb"tick: \{ cpu_id = \d+ \}, \{ n = (\d+) \}")


def ticks(babeltrace_output: bytes) -> list[int]:
    """The ``n`` of every tick babeltrace2's text output shows."""
    return [int(m) for m in _TICK.findall(babeltrace_output)]
