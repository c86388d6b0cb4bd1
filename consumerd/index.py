"""CTF index files: one entry per packet of a data stream file, as lttng-consumerd 2.13
writes them for local traces (babeltrace2 and Trace Compass find packets through them).

The format is lttng-tools' src/common/index/ctf-index.h, version 1.1: a header
(struct ctf_packet_index_file_hdr), then one struct ctf_packet_index per packet, every
integer big-endian.  lttng-consumerd fills an entry from the ring buffer's packet
accessors (kernel-consumer.c: extract_data_subbuffer_info(), GET_PACKET_SIZE ...), which
read the packet header and context of the held sub-buffer; here one struct read of those
same bytes does it (consumer-stream.c: ctf_packet_index_populate()).
"""

from __future__ import annotations

import struct
from typing import Final

# ctf-index.h
CTF_INDEX_MAGIC: Final = 0xC1F1DCC1
CTF_INDEX_MAJOR: Final = 1
CTF_INDEX_MINOR: Final = 1
# struct ctf_packet_index: offset, packet_size, content_size, timestamp_begin,
# timestamp_end, events_discarded, stream_id, stream_instance_id, packet_seq_num.
ENTRY: Final = struct.Struct(">9Q")
# struct ctf_packet_index_file_hdr: magic, index_major, index_minor, packet_index_len.
FILE_HEADER: Final = struct.pack(
    ">4I", CTF_INDEX_MAGIC, CTF_INDEX_MAJOR, CTF_INDEX_MINOR, ENTRY.size
)

# defaults.h: DEFAULT_INDEX_DIR, DEFAULT_INDEX_FILE_SUFFIX.
INDEX_DIR: Final = "index"
INDEX_SUFFIX: Final = ".idx"

# The trace packet header and stream packet context at the start of every data packet, in
# the kernel's byte order: pylttng.ko's struct pyl_packet_header (kmod/pylttng-ringbuffer.c),
# which is lttng-modules' struct packet_header (lttng-ring-buffer-client.h).  Read: magic,
# stream_id, stream_instance_id, timestamp_begin, timestamp_end, content_size (bits),
# packet_size (bits), packet_seq_num, events_discarded; the uuid and cpu_id are skipped.
PACKET_HEADER: Final = struct.Struct("=I16xI7Q")


def fill_entry(entry: bytearray, packet: bytes | memoryview, at: int, file_offset: int) -> None:
    """Make ``entry`` the index entry of the packet whose header is at ``packet[at:]`` and
    which starts at ``file_offset`` in its stream file (into a buffer: no allocation)."""
    (_, stream_id, instance_id, begin, end, content_bits, packet_bits, seq_num, discarded) = (
        PACKET_HEADER.unpack_from(packet, at)
    )
    ENTRY.pack_into(
        entry,
        0,
        file_offset,
        packet_bits,
        content_bits,
        begin,
        end,
        discarded,
        stream_id,
        instance_id,
        seq_num,
    )
