"""Relay-daemon side of a control connection: bytes in, typed requests out.

Each command is a 24-byte `struct lttcomm_relayd_hdr` and `data_size` payload bytes
(main.c: relay_process_control_receive_header(), _receive_payload()). A payload that
does not fit its command is reported as a BadRequest and skipped, so the reader stays in
step with the stream. A header announcing more than lttng-relayd's maximal control payload
is fatal, as it is to lttng-relayd, which closes the connection: the reader raises
ProtocolError then and on every later call.
"""

from __future__ import annotations

from typing import Any

from . import structs
from .buffer import NEED_DATA, NeedData, ReceiveBuffer
from .constants import MAX_CONTROL_PAYLOAD
from .errors import ProtocolError
from .messages import BadRequest, Request
from .payloads import decode_request


class RequestReader:
    def __init__(self, max_payload: int = MAX_CONTROL_PAYLOAD) -> None:
        self._buffer = ReceiveBuffer()
        self._max_payload = max_payload
        self._header: Any = None  # the parsed header of the command being received
        self._failure: ProtocolError | None = None

    def receive_data(self, data: bytes) -> None:
        self._buffer.feed(data)

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete command (non-zero at EOF: a truncated command)."""
        return len(self._buffer) + (0 if self._header is None else structs.CONTROL_HEADER_SIZE)

    def next_event(self) -> Request | BadRequest | NeedData:
        """The next command, a report of a malformed one, or NEED_DATA."""
        if self._failure is not None:
            raise self._failure
        if self._header is None:
            raw = self._buffer.take(structs.CONTROL_HEADER_SIZE)
            if raw is None:
                return NEED_DATA
            header = structs.parse(structs.ControlHeader, raw, "control header")
            if header.data_size > self._max_payload:
                self._failure = ProtocolError(
                    f"command {header.cmd} announces a payload of {header.data_size} bytes,"
                    f" more than the {self._max_payload} a control connection allows",
                    int(header.cmd),
                )
                raise self._failure
            self._header = header
        cmd, size = int(self._header.cmd), int(self._header.data_size)
        payload = self._buffer.take(size)
        if payload is None:
            return NEED_DATA
        self._header = None
        try:
            return decode_request(cmd, payload)
        except ProtocolError as exc:
            return BadRequest(cmd, str(exc))
