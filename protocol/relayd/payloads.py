"""Decoding of control-connection command payloads into typed requests.

The sizes and checks are lttng-relayd 2.13's (src/bin/lttng-relayd/main.c, cmd-2-11.c),
made exact: where lttng-relayd reads a prefix and ignores extra bytes, extra bytes are
refused here, and flags or unset optional values that it would read loosely must be
0 or 1, or 0. What is accepted thus re-encodes (writer.py) to the same bytes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from . import structs, text
from .constants import (
    HOST_NAME_MAX,
    NAME_MAX,
    PATH_MAX,
    STREAM_NAME_MAX,
    UNHANDLED_COMMANDS,
    Command,
    TraceChunkCommand,
)
from .errors import ProtocolError
from .messages import (
    AddStream,
    BeginDataPending,
    CloseStream,
    CloseTraceChunk,
    CreateSession,
    CreateTraceChunk,
    DataPending,
    EndDataPending,
    GetConfiguration,
    QuiescentControl,
    Request,
    ResetMetadata,
    RotateStreams,
    RotationPosition,
    SendIndex,
    SendMetadata,
    StartData,
    StreamsSent,
    TraceChunkExists,
    UnhandledCommand,
    Version,
)


def decode_request(cmd: int, payload: bytes) -> Request:
    """The request that header command `cmd` and its `payload` make; ProtocolError if the
    payload does not fit the command."""
    if cmd in UNHANDLED_COMMANDS or cmd not in _DECODERS:
        return UnhandledCommand(cmd, payload)
    return _DECODERS[Command(cmd)](payload)


def _fixed(layout: Any, payload: bytes, cmd: Command) -> Any:
    """A payload that is exactly one `layout`."""
    size = int(layout.sizeof())
    if len(payload) != size:
        raise ProtocolError(f"{cmd.name} payload is {len(payload)} bytes, not {size}", cmd)
    return structs.parse(layout, payload, f"{cmd.name} payload", cmd)


def _head(layout: Any, payload: bytes, cmd: Command) -> tuple[Any, int]:
    """The fixed part of a variable-size payload, and its size."""
    return structs.parse(layout, payload, f"{cmd.name} payload", cmd), int(layout.sizeof())


def _exact(payload: bytes, expected: int, cmd: Command) -> None:
    if len(payload) != expected:
        raise ProtocolError(
            f"{cmd.name} payload is {len(payload)} bytes, its lengths announce {expected}", cmd
        )


def _flag(value: int, what: str, cmd: Command) -> bool:
    if value not in (0, 1):
        raise ProtocolError(f"{cmd.name}: {what} is {value}, not 0 or 1", cmd)
    return value == 1


def _optional(is_set: int, value: int, what: str, cmd: Command) -> int | None:
    """LTTNG_OPTIONAL_COMM: the value counts only when is_set; unset, it must be 0."""
    if _flag(is_set, f"{what}.is_set", cmd):
        return value
    if value:
        raise ProtocolError(f"{cmd.name}: unset {what} carries the value {value}", cmd)
    return None


def _version(payload: bytes) -> Version:
    m = _fixed(structs.Version, payload, Command.VERSION)
    return Version(int(m.major), int(m.minor))


def _get_configuration(payload: bytes) -> GetConfiguration:
    m = _fixed(structs.GetConfiguration, payload, Command.GET_CONFIGURATION)
    return GetConfiguration(int(m.query_flags))


def _create_session(payload: bytes) -> CreateSession:
    cmd = Command.CREATE_SESSION
    m, at = _head(structs.CreateSession, payload, cmd)
    lengths = (int(m.session_name_len), int(m.hostname_len), int(m.base_path_len))
    _exact(payload, at + sum(lengths), cmd)
    name_raw = payload[at : at + lengths[0]]
    host_raw = payload[at + lengths[0] : at + lengths[0] + lengths[1]]
    base_raw = payload[at + lengths[0] + lengths[1] :]
    sessiond_uuid = uuid.UUID(bytes=bytes(m.sessiond_uuid))
    if sessiond_uuid.int == 0:
        # main.c: relay_create_session(): "The nil UUID is reserved for pre-2.11 clients."
        raise ProtocolError("CREATE_SESSION: nil session daemon UUID", cmd)
    return CreateSession(
        session_name=text.decode(name_raw, NAME_MAX, "session name", cmd),
        hostname=text.decode(host_raw, HOST_NAME_MAX, "hostname", cmd),
        base_path=text.decode(base_raw, PATH_MAX, "base path", cmd) if base_raw else None,
        live_timer=int(m.live_timer),
        snapshot=_flag(int(m.snapshot), "snapshot", cmd),
        session_name_contains_creation_time=_flag(
            int(m.session_name_contains_creation_time), "session_name_contains_creation_time", cmd
        ),
        sessiond_uuid=sessiond_uuid,
        session_id=int(m.session_id),
        creation_time=int(m.creation_time),
        current_chunk_id=_optional(
            int(m.current_chunk_id_is_set), int(m.current_chunk_id), "current_chunk_id", cmd
        ),
    )


def _create_trace_chunk(payload: bytes) -> CreateTraceChunk:
    cmd = Command.CREATE_TRACE_CHUNK
    m, at = _head(structs.CreateTraceChunk, payload, cmd)
    length = int(m.override_name_length)
    _exact(payload, at + length, cmd)
    name = text.decode(payload[at:], NAME_MAX, "chunk name", cmd) if length else None
    return CreateTraceChunk(int(m.chunk_id), int(m.creation_timestamp), name)


def _add_stream(payload: bytes) -> AddStream:
    cmd = Command.ADD_STREAM
    m, at = _head(structs.AddStream, payload, cmd)
    channel_len, path_len = int(m.channel_name_len), int(m.pathname_len)
    _exact(payload, at + channel_len + path_len, cmd)
    return AddStream(
        channel_name=text.decode(
            payload[at : at + channel_len], STREAM_NAME_MAX, "channel name", cmd
        ),
        # cmd-2-11.c: cmd_recv_stream_2_11() bounds the path by LTTNG_NAME_MAX.
        pathname=text.decode(payload[at + channel_len :], NAME_MAX, "stream path", cmd),
        trace_chunk_id=int(m.trace_chunk_id),
        tracefile_size=int(m.tracefile_size),
        tracefile_count=int(m.tracefile_count),
    )


def _streams_sent(payload: bytes) -> StreamsSent:
    _exact(payload, 0, Command.STREAMS_SENT)
    return StreamsSent()


def _start_data(payload: bytes) -> StartData:
    _exact(payload, 0, Command.START_DATA)
    return StartData()


def _send_metadata(payload: bytes) -> SendMetadata:
    m, at = _head(structs.MetadataPayload, payload, Command.SEND_METADATA)
    return SendMetadata(int(m.stream_id), payload[at:], int(m.padding_size))


def _send_index(payload: bytes) -> SendIndex:
    m = _fixed(structs.Index, payload, Command.SEND_INDEX)
    return SendIndex(
        relay_stream_id=int(m.relay_stream_id),
        net_seq_num=int(m.net_seq_num),
        packet_size=int(m.packet_size),
        content_size=int(m.content_size),
        timestamp_begin=int(m.timestamp_begin),
        timestamp_end=int(m.timestamp_end),
        events_discarded=int(m.events_discarded),
        stream_id=int(m.stream_id),
        stream_instance_id=int(m.stream_instance_id),
        packet_seq_num=int(m.packet_seq_num),
    )


def _close_stream(payload: bytes) -> CloseStream:
    m = _fixed(structs.StreamSeq, payload, Command.CLOSE_STREAM)
    return CloseStream(int(m.stream_id), int(m.last_net_seq_num))


def _data_pending(payload: bytes) -> DataPending:
    m = _fixed(structs.StreamSeq, payload, Command.DATA_PENDING)
    return DataPending(int(m.stream_id), int(m.last_net_seq_num))


def _quiescent_control(payload: bytes) -> QuiescentControl:
    m = _fixed(structs.StreamId, payload, Command.QUIESCENT_CONTROL)
    return QuiescentControl(int(m.stream_id))


def _begin_data_pending(payload: bytes) -> BeginDataPending:
    m = _fixed(structs.SessionId, payload, Command.BEGIN_DATA_PENDING)
    return BeginDataPending(int(m.session_id))


def _end_data_pending(payload: bytes) -> EndDataPending:
    m = _fixed(structs.SessionId, payload, Command.END_DATA_PENDING)
    return EndDataPending(int(m.session_id))


def _reset_metadata(payload: bytes) -> ResetMetadata:
    m = _fixed(structs.ResetMetadata, payload, Command.RESET_METADATA)
    return ResetMetadata(int(m.stream_id), int(m.version))


def _rotate_streams(payload: bytes) -> RotateStreams:
    cmd = Command.ROTATE_STREAMS
    if len(payload) < 4:
        raise ProtocolError(f"ROTATE_STREAMS payload is {len(payload)} bytes, needs 4", cmd)
    count = int.from_bytes(payload[:4], "big")
    position_size = int(structs.RotationPosition.sizeof())
    # main.c: relay_unpack_rotate_streams_header(): the payload size tells the padding.
    for padding in structs.ROTATE_STREAMS_PADDINGS:
        layout = structs.rotate_streams_header(padding)
        if len(payload) == int(layout.sizeof()) + count * position_size:
            break
    else:
        raise ProtocolError(
            f"ROTATE_STREAMS payload is {len(payload)} bytes: no header of 13, 16 or 20"
            f" bytes and {count} positions of {position_size} make it",
            cmd,
        )
    m, at = _head(layout, payload, cmd)
    positions = []
    for i in range(count):
        p = structs.parse(
            structs.RotationPosition, payload[at + i * position_size :], "position", cmd
        )
        positions.append(RotationPosition(int(p.stream_id), int(p.rotate_at_seq_num)))
    return RotateStreams(
        new_chunk_id=_optional(
            int(m.new_chunk_id_is_set), int(m.new_chunk_id), "new_chunk_id", cmd
        ),
        positions=tuple(positions),
        header_padding=bytes(m.padding),
    )


def _close_trace_chunk(payload: bytes) -> CloseTraceChunk:
    cmd = Command.CLOSE_TRACE_CHUNK
    m = _fixed(structs.CloseTraceChunk, payload, cmd)
    value = _optional(int(m.close_command_is_set), int(m.close_command), "close_command", cmd)
    close_command = None
    if value is not None:
        try:
            close_command = TraceChunkCommand(value)
        except ValueError:
            raise ProtocolError(f"CLOSE_TRACE_CHUNK: unknown close command {value}", cmd) from None
    return CloseTraceChunk(int(m.chunk_id), int(m.close_timestamp), close_command)


def _trace_chunk_exists(payload: bytes) -> TraceChunkExists:
    m = _fixed(structs.TraceChunkExists, payload, Command.TRACE_CHUNK_EXISTS)
    return TraceChunkExists(int(m.chunk_id))


_DECODERS: dict[Command, Callable[[bytes], Request]] = {
    Command.VERSION: _version,
    Command.GET_CONFIGURATION: _get_configuration,
    Command.CREATE_SESSION: _create_session,
    Command.CREATE_TRACE_CHUNK: _create_trace_chunk,
    Command.ADD_STREAM: _add_stream,
    Command.STREAMS_SENT: _streams_sent,
    Command.START_DATA: _start_data,
    Command.SEND_METADATA: _send_metadata,
    Command.SEND_INDEX: _send_index,
    Command.CLOSE_STREAM: _close_stream,
    Command.DATA_PENDING: _data_pending,
    Command.QUIESCENT_CONTROL: _quiescent_control,
    Command.BEGIN_DATA_PENDING: _begin_data_pending,
    Command.END_DATA_PENDING: _end_data_pending,
    Command.RESET_METADATA: _reset_metadata,
    Command.ROTATE_STREAMS: _rotate_streams,
    Command.CLOSE_TRACE_CHUNK: _close_trace_chunk,
    Command.TRACE_CHUNK_EXISTS: _trace_chunk_exists,
}
