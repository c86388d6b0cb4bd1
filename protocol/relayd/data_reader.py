"""Relay-daemon side of a data connection: bytes in, packets out.

Each packet is a 32-byte `struct lttcomm_relayd_data_hdr` and `data_size` bytes; the
`padding_size` zeros that complete it are never sent, lttng-relayd writes them itself
(main.c: relay_process_data_receive_header(), _receive_payload()). The header always
says where the next one starts, so this reader has nothing to refuse: which stream a
packet belongs to, and whether its sequence number follows, is for the daemon to judge.
"""

from __future__ import annotations

from typing import Any

from . import structs
from .buffer import NEED_DATA, NeedData, ReceiveBuffer
from .messages import DataHeader, DataPacket


class DataReader:
    def __init__(self) -> None:
        self._buffer = ReceiveBuffer()
        self._header: DataHeader | None = None

    def receive_data(self, data: bytes) -> None:
        self._buffer.feed(data)

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete packet (non-zero at EOF: a truncated packet)."""
        return len(self._buffer) + (0 if self._header is None else structs.DATA_HEADER_SIZE)

    def next_packet(self) -> DataPacket | NeedData:
        if self._header is None:
            raw = self._buffer.take(structs.DATA_HEADER_SIZE)
            if raw is None:
                return NEED_DATA
            self._header = decode_data_header(raw)
        data = self._buffer.take(self._header.data_size)
        if data is None:
            return NEED_DATA
        packet = DataPacket(self._header, data)
        self._header = None
        return packet


def decode_data_header(raw: bytes) -> DataHeader:
    h: Any = structs.parse(structs.DataHeader, raw, "data header")
    return DataHeader(
        stream_id=int(h.stream_id),
        net_seq_num=int(h.net_seq_num),
        data_size=int(h.data_size),
        padding_size=int(h.padding_size),
        circuit_id=int(h.circuit_id),
    )
