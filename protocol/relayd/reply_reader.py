"""Peer side of a control connection (lttng-sessiond, lttng-consumerd): bytes in, typed
replies out.

Replies carry no header: their layout follows from the command they answer, so the
reader is told each command sent (`expect`), in order. Some replies end with a path whose
length their fixed part gives (relayd.c: relayd_create_session_2_11(),
relayd_close_trace_chunk()). Nothing frames a reply, so a malformed one leaves no way to
find the next: every error is fatal, the reader raises ProtocolError then and on every
later call, and the connection is to be closed, as lttng-consumerd does.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any, NoReturn

from . import structs
from .buffer import NEED_DATA, NeedData, ReceiveBuffer
from .constants import PATH_MAX, Command, ConfigurationFlag
from .errors import ProtocolError
from .messages import (
    AddStreamReply,
    CloseTraceChunkReply,
    CreateSessionReply,
    GenericReply,
    GetConfigurationReply,
    PendingReply,
    Reply,
    TraceChunkExistsReply,
    Version,
)

# Commands lttng-relayd does not answer: the metadata packet follows the header and the
# relay daemon just writes it (relayd.c: relayd_send_metadata()).
NO_REPLY = frozenset({Command.SEND_METADATA})


class ReplyReader:
    def __init__(self) -> None:
        self._buffer = ReceiveBuffer()
        self._expected: collections.deque[int] = collections.deque()
        self._failure: ProtocolError | None = None

    def expect(self, cmd: int) -> None:
        """Note that command `cmd` was sent: its reply comes after those noted before."""
        if cmd not in NO_REPLY:
            self._expected.append(cmd)

    @property
    def awaiting(self) -> int:
        """How many replies are still to come."""
        return len(self._expected)

    def receive_data(self, data: bytes) -> None:
        self._buffer.feed(data)

    def next_reply(self) -> Reply | NeedData:
        """The reply to the oldest command not yet answered, or NEED_DATA."""
        if self._failure is not None:
            raise self._failure
        if not self._expected:
            if len(self._buffer):
                self._fail(f"{len(self._buffer)} bytes arrived while no reply was due")
            return NEED_DATA
        cmd = self._expected[0]
        try:
            reply = _DECODERS.get(cmd, _generic)(self._buffer)
        except ProtocolError as exc:
            self._fail(str(exc), cmd)
        if reply is NEED_DATA:
            return NEED_DATA
        self._expected.popleft()
        return reply

    def _fail(self, reason: str, cmd: int | None = None) -> NoReturn:
        self._failure = ProtocolError(reason, cmd)
        raise self._failure


def _fixed(buffer: ReceiveBuffer, layout: Any) -> Any:
    """The parsed `layout`, or None while incomplete."""
    raw = buffer.take(int(layout.sizeof()))
    return None if raw is None else structs.parse(layout, raw, "reply")


def _path(
    buffer: ReceiveBuffer, layout: Any, length_field: str, what: str
) -> tuple[Any, str | None] | None:
    """A fixed part whose `length_field` announces a path (NUL included) behind it;
    None while incomplete. lttng-consumerd refuses LTTNG_PATH_MAX bytes or more."""
    head_size = int(layout.sizeof())
    raw = buffer.peek(head_size)
    if raw is None:
        return None
    head = structs.parse(layout, raw, what)
    length = int(head[length_field])
    if length >= PATH_MAX:
        raise ProtocolError(f"{what}: path of {length} bytes, the limit is {PATH_MAX - 1}")
    whole = buffer.take(head_size + length)
    if whole is None:
        return None
    path_raw = whole[head_size:]
    if path_raw and (path_raw[-1] != 0 or 0 in path_raw[:-1]):
        raise ProtocolError(f"{what}: the path is not one NUL-terminated string")
    path = path_raw[:-1].decode("utf-8", "surrogateescape") if path_raw else None
    return head, path


def _version(buffer: ReceiveBuffer) -> Reply | NeedData:
    m = _fixed(buffer, structs.Version)
    if m is None:
        return NEED_DATA
    return Version(int(m.major), int(m.minor))


def _generic(buffer: ReceiveBuffer) -> Reply | NeedData:
    m = _fixed(buffer, structs.GenericReply)
    if m is None:
        return NEED_DATA
    return GenericReply(int(m.ret_code))


def _pending(buffer: ReceiveBuffer) -> Reply | NeedData:
    raw = buffer.take(4)
    return NEED_DATA if raw is None else PendingReply(int.from_bytes(raw, "big", signed=True))


def _get_configuration(buffer: ReceiveBuffer) -> Reply | NeedData:
    m = _fixed(buffer, structs.GetConfigurationReply)
    if m is None:
        return NEED_DATA
    return GetConfigurationReply(
        flags=ConfigurationFlag(int(m.relayd_configuration_flags)),
        ret_code=int(m.ret_code),
    )


def _create_session(buffer: ReceiveBuffer) -> Reply | NeedData:
    got = _path(buffer, structs.CreateSessionReply, "output_path_length", "create-session reply")
    if got is None:
        return NEED_DATA
    head, path = got
    return CreateSessionReply(int(head.session_id), int(head.ret_code), path)


def _add_stream(buffer: ReceiveBuffer) -> Reply | NeedData:
    m = _fixed(buffer, structs.StatusStream)
    if m is None:
        return NEED_DATA
    return AddStreamReply(int(m.handle), int(m.ret_code))


def _close_trace_chunk(buffer: ReceiveBuffer) -> Reply | NeedData:
    got = _path(buffer, structs.CloseTraceChunkReply, "path_length", "close-trace-chunk reply")
    if got is None:
        return NEED_DATA
    head, path = got
    return CloseTraceChunkReply(int(head.ret_code), path)


def _trace_chunk_exists(buffer: ReceiveBuffer) -> Reply | NeedData:
    m = _fixed(buffer, structs.TraceChunkExistsReply)
    if m is None:
        return NEED_DATA
    exists = int(m.trace_chunk_exists)
    if exists not in (0, 1):
        raise ProtocolError(f"trace-chunk-exists reply: trace_chunk_exists is {exists}")
    return TraceChunkExistsReply(exists == 1, int(m.ret_code))


_DECODERS: dict[int, Callable[[ReceiveBuffer], Reply | NeedData]] = {
    Command.VERSION: _version,
    Command.GET_CONFIGURATION: _get_configuration,
    Command.CREATE_SESSION: _create_session,
    Command.ADD_STREAM: _add_stream,
    Command.DATA_PENDING: _pending,
    Command.END_DATA_PENDING: _pending,
    Command.CLOSE_TRACE_CHUNK: _close_trace_chunk,
    Command.TRACE_CHUNK_EXISTS: _trace_chunk_exists,
}
