"""The peer's side of a control connection (what lttng-consumerd holds), sans I/O.

`send` turns a request into the bytes to write and notes the reply due; bytes read go to
`receive_data`, and `next_reply` hands the replies back in order. The version check comes
first, as lttng-sessiond does it on every new control connection (cmd.c:
create_connect_relayd()): the agreed version picks the layouts of what follows, and
lttng-relayd drops a connection whose commands come before it (main.c: "before version
check").
"""

from __future__ import annotations

from .buffer import NEED_DATA, NeedData
from .errors import ProtocolError
from .messages import Reply, Request, Version
from .reply_reader import ReplyReader
from .version import negotiate
from .writer import encode_request, metadata_prefix


class ControlConnection:
    def __init__(self, ours: Version | None = None) -> None:
        self._ours = ours or Version()
        self._replies = ReplyReader()
        self._version_sent = False
        self.version: Version | None = None  # agreed, once the relay daemon answered

    def send(self, request: Request) -> bytes:
        """The bytes of `request`; ProtocolError if it may not be sent now."""
        if isinstance(request, Version):
            if self._version_sent:
                raise ProtocolError("the version check was already sent", request.command)
            if request != self._ours:
                raise ProtocolError(f"this connection speaks {self._ours}, not {request}")
            self._version_sent = True
        elif not self._version_sent:
            raise ProtocolError(
                f"{type(request).__name__} before the version check", int(request.command)
            )
        raw = encode_request(request)
        self._replies.expect(request.command)
        return raw

    def send_metadata_prefix(self, stream_id: int, padding_size: int, length: int) -> bytes:
        """What to write before `length` bytes of metadata sent straight from a buffer."""
        if not self._version_sent:
            raise ProtocolError("metadata before the version check")
        return metadata_prefix(stream_id, padding_size, length)

    @property
    def awaiting(self) -> int:
        """Replies still due."""
        return self._replies.awaiting

    def receive_data(self, data: bytes) -> None:
        self._replies.receive_data(data)

    def next_reply(self) -> Reply | NeedData:
        """The next reply or NEED_DATA; ProtocolError on a malformed reply (fatal) or on a
        relay daemon whose version this side cannot speak."""
        reply = self._replies.next_reply()
        if reply is NEED_DATA:
            return NEED_DATA
        if self.version is None and isinstance(reply, Version):
            self.version = negotiate(self._ours, reply)
        return reply
