"""Encoding side of the relayd protocol: requests (consumerd/sessiond side), replies
(relay daemon side) and data-connection headers.

Every request is a `struct lttcomm_relayd_hdr` followed by its payload, circuit_id and
cmd_version 0 (relayd.c: send_command()). Values that do not fit their field, and names
that lttng-relayd would refuse, raise ProtocolError rather than go out truncated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import structs, text
from .constants import HOST_NAME_MAX, NAME_MAX, PATH_MAX, STREAM_NAME_MAX, Command
from .errors import ProtocolError
from .messages import (
    AddStream,
    AddStreamReply,
    BeginDataPending,
    CloseStream,
    CloseTraceChunk,
    CloseTraceChunkReply,
    CreateSession,
    CreateSessionReply,
    CreateTraceChunk,
    DataHeader,
    DataPacket,
    DataPending,
    EndDataPending,
    GenericReply,
    GetConfiguration,
    GetConfigurationReply,
    PendingReply,
    QuiescentControl,
    Reply,
    Request,
    ResetMetadata,
    RotateStreams,
    SendIndex,
    SendMetadata,
    StartData,
    StreamsSent,
    TraceChunkExists,
    TraceChunkExistsReply,
    UnhandledCommand,
    Version,
)


def control_header(cmd: int, data_size: int) -> bytes:
    """The `struct lttcomm_relayd_hdr` of a command with `data_size` payload bytes."""
    return structs.build(
        structs.ControlHeader,
        {"circuit_id": 0, "data_size": data_size, "cmd": cmd, "cmd_version": 0},
        "control header",
        cmd,
    )


def encode_request(request: Request) -> bytes:
    """A whole command: header and payload."""
    cmd = int(request.command)
    payload = _PAYLOADS[type(request)](request)
    return control_header(cmd, len(payload)) + payload


def metadata_prefix(stream_id: int, padding_size: int, length: int) -> bytes:
    """What precedes `length` bytes of metadata on the control connection: the header of
    SEND_METADATA and struct lttcomm_relayd_metadata_payload. For a daemon that sends the
    packet itself, straight from its buffer (consumer.c: write_relayd_stream_header(),
    write_relayd_metadata_id())."""
    cmd = Command.SEND_METADATA
    head = structs.build(
        structs.MetadataPayload,
        {"stream_id": stream_id, "padding_size": padding_size},
        "metadata payload header",
        cmd,
    )
    return control_header(cmd, len(head) + length) + head


def encode_data_header(header: DataHeader) -> bytes:
    """`struct lttcomm_relayd_data_hdr`; the packet's `data_size` bytes follow it."""
    return structs.build(
        structs.DataHeader,
        {
            "circuit_id": header.circuit_id,
            "stream_id": header.stream_id,
            "net_seq_num": header.net_seq_num,
            "data_size": header.data_size,
            "padding_size": header.padding_size,
        },
        "data header",
    )


def encode_data_packet(packet: DataPacket) -> bytes:
    if packet.header.data_size != len(packet.data):
        raise ProtocolError(
            f"data header announces {packet.header.data_size} bytes, the packet has"
            f" {len(packet.data)}"
        )
    return encode_data_header(packet.header) + packet.data


def encode_reply(reply: Reply) -> bytes:
    """A reply as lttng-relayd sends it (main.c: relay_*())."""
    return _REPLIES[type(reply)](reply)


# --- request payloads ---------------------------------------------------------------------


def _version(m: Version) -> bytes:
    return structs.build(structs.Version, {"major": m.major, "minor": m.minor}, "version")


def _get_configuration(m: GetConfiguration) -> bytes:
    return _build(structs.GetConfiguration, m, query_flags=m.query_flags)


def _create_session(m: CreateSession) -> bytes:
    cmd = Command.CREATE_SESSION
    name = text.encode(m.session_name, NAME_MAX, "session name", cmd)
    host = text.encode(m.hostname, HOST_NAME_MAX, "hostname", cmd)
    base = b"" if m.base_path is None else text.encode(m.base_path, PATH_MAX, "base path", cmd)
    if m.sessiond_uuid.int == 0:
        # main.c: relay_create_session(): the nil UUID is reserved for pre-2.11 peers.
        raise ProtocolError("the session daemon's UUID must not be nil", cmd)
    head = _build(
        structs.CreateSession,
        m,
        session_name_len=len(name),
        hostname_len=len(host),
        base_path_len=len(base),
        live_timer=m.live_timer,
        snapshot=int(m.snapshot),
        session_name_contains_creation_time=int(m.session_name_contains_creation_time),
        sessiond_uuid=m.sessiond_uuid.bytes,
        session_id=m.session_id,
        creation_time=m.creation_time,
        current_chunk_id_is_set=int(m.current_chunk_id is not None),
        current_chunk_id=m.current_chunk_id or 0,
    )
    return head + name + host + base


def _create_trace_chunk(m: CreateTraceChunk) -> bytes:
    name = b""
    if m.override_name is not None:
        name = text.encode(m.override_name, NAME_MAX, "chunk name", m.command)
    head = _build(
        structs.CreateTraceChunk,
        m,
        chunk_id=m.chunk_id,
        creation_timestamp=m.creation_timestamp,
        override_name_length=len(name),
    )
    return head + name


def _add_stream(m: AddStream) -> bytes:
    cmd = Command.ADD_STREAM
    channel = text.encode(m.channel_name, STREAM_NAME_MAX, "channel name", cmd)
    # cmd-2-11.c: cmd_recv_stream_2_11() bounds the path by LTTNG_NAME_MAX, not PATH_MAX.
    path = text.encode(m.pathname, NAME_MAX, "stream path", cmd)
    head = _build(
        structs.AddStream,
        m,
        channel_name_len=len(channel),
        pathname_len=len(path),
        tracefile_size=m.tracefile_size,
        tracefile_count=m.tracefile_count,
        trace_chunk_id=m.trace_chunk_id,
    )
    return head + channel + path


def _no_payload(_m: StreamsSent | StartData) -> bytes:
    return b""


def _send_metadata(m: SendMetadata) -> bytes:
    head = _build(
        structs.MetadataPayload, m, stream_id=m.stream_id, padding_size=m.padding_size
    )
    return head + m.data


def _send_index(m: SendIndex) -> bytes:
    return _build(
        structs.Index,
        m,
        relay_stream_id=m.relay_stream_id,
        net_seq_num=m.net_seq_num,
        packet_size=m.packet_size,
        content_size=m.content_size,
        timestamp_begin=m.timestamp_begin,
        timestamp_end=m.timestamp_end,
        events_discarded=m.events_discarded,
        stream_id=m.stream_id,
        stream_instance_id=m.stream_instance_id,
        packet_seq_num=m.packet_seq_num,
    )


def _stream_seq(m: CloseStream | DataPending) -> bytes:
    return _build(
        structs.StreamSeq, m, stream_id=m.stream_id, last_net_seq_num=m.last_net_seq_num
    )


def _quiescent_control(m: QuiescentControl) -> bytes:
    return _build(structs.StreamId, m, stream_id=m.stream_id)


def _session_id(m: BeginDataPending | EndDataPending) -> bytes:
    return _build(structs.SessionId, m, session_id=m.session_id)


def _reset_metadata(m: ResetMetadata) -> bytes:
    return _build(structs.ResetMetadata, m, stream_id=m.stream_id, version=m.version)


def _rotate_streams(m: RotateStreams) -> bytes:
    if len(m.header_padding) not in structs.ROTATE_STREAMS_PADDINGS:
        raise ProtocolError(
            f"rotate-streams padding is {len(m.header_padding)} bytes, not 0, 3 or 7",
            m.command,
        )
    head = _build(
        structs.rotate_streams_header(len(m.header_padding)),
        m,
        stream_count=len(m.positions),
        new_chunk_id_is_set=int(m.new_chunk_id is not None),
        padding=m.header_padding,
        new_chunk_id=m.new_chunk_id or 0,
    )
    positions = b"".join(
        _build(
            structs.RotationPosition,
            m,
            stream_id=p.stream_id,
            rotate_at_seq_num=p.rotate_at_seq_num,
        )
        for p in m.positions
    )
    return head + positions


def _close_trace_chunk(m: CloseTraceChunk) -> bytes:
    return _build(
        structs.CloseTraceChunk,
        m,
        chunk_id=m.chunk_id,
        close_timestamp=m.close_timestamp,
        close_command_is_set=int(m.close_command is not None),
        close_command=0 if m.close_command is None else int(m.close_command),
    )


def _trace_chunk_exists(m: TraceChunkExists) -> bytes:
    return _build(structs.TraceChunkExists, m, chunk_id=m.chunk_id)


def _unhandled(m: UnhandledCommand) -> bytes:
    return m.payload


def _build(layout: Any, m: Any, **values: Any) -> bytes:
    cmd = int(m.command)
    return structs.build(layout, values, Command(cmd).name, cmd)


_PAYLOADS: dict[type, Callable[[Any], bytes]] = {
    Version: _version,
    GetConfiguration: _get_configuration,
    CreateSession: _create_session,
    CreateTraceChunk: _create_trace_chunk,
    AddStream: _add_stream,
    StreamsSent: _no_payload,
    SendMetadata: _send_metadata,
    SendIndex: _send_index,
    CloseStream: _stream_seq,
    DataPending: _stream_seq,
    QuiescentControl: _quiescent_control,
    BeginDataPending: _session_id,
    EndDataPending: _session_id,
    ResetMetadata: _reset_metadata,
    RotateStreams: _rotate_streams,
    CloseTraceChunk: _close_trace_chunk,
    TraceChunkExists: _trace_chunk_exists,
    StartData: _no_payload,
    UnhandledCommand: _unhandled,
}


# --- replies ------------------------------------------------------------------------------


def _generic(r: GenericReply) -> bytes:
    return structs.build(structs.GenericReply, {"ret_code": r.ret_code}, "generic reply")


def _pending(r: PendingReply) -> bytes:
    # A signed status in the unsigned ret_code: htobe32(-1) on an unknown stream.
    if not -(1 << 31) <= r.status < 1 << 31:
        raise ProtocolError(f"pending status {r.status} does not fit an int32_t")
    return structs.build(structs.GenericReply, {"ret_code": r.status & 0xFFFFFFFF}, "reply")


def _create_session_reply(r: CreateSessionReply) -> bytes:
    path = b"" if r.output_path is None else text.encode(r.output_path, PATH_MAX - 1, "path")
    head = structs.build(
        structs.CreateSessionReply,
        {"session_id": r.session_id, "ret_code": r.ret_code, "output_path_length": len(path)},
        "create-session reply",
    )
    return head + path


def _add_stream_reply(r: AddStreamReply) -> bytes:
    return structs.build(
        structs.StatusStream, {"handle": r.handle, "ret_code": r.ret_code}, "add-stream reply"
    )


def _close_trace_chunk_reply(r: CloseTraceChunkReply) -> bytes:
    path = b"" if r.path is None else text.encode(r.path, PATH_MAX - 1, "chunk path")
    head = structs.build(
        structs.CloseTraceChunkReply,
        {"ret_code": r.ret_code, "path_length": len(path)},
        "close-trace-chunk reply",
    )
    return head + path


def _trace_chunk_exists_reply(r: TraceChunkExistsReply) -> bytes:
    return structs.build(
        structs.TraceChunkExistsReply,
        {"ret_code": r.ret_code, "trace_chunk_exists": int(r.exists)},
        "trace-chunk-exists reply",
    )


def _get_configuration_reply(r: GetConfigurationReply) -> bytes:
    return structs.build(
        structs.GetConfigurationReply,
        {"ret_code": r.ret_code, "relayd_configuration_flags": int(r.flags)},
        "get-configuration reply",
    )


_REPLIES: dict[type, Callable[[Any], bytes]] = {
    Version: _version,
    GenericReply: _generic,
    PendingReply: _pending,
    CreateSessionReply: _create_session_reply,
    AddStreamReply: _add_stream_reply,
    CloseTraceChunkReply: _close_trace_chunk_reply,
    TraceChunkExistsReply: _trace_chunk_exists_reply,
    GetConfigurationReply: _get_configuration_reply,
}
