"""Packed layouts of the lttng-tools 2.13 relayd protocol, as `construct` structs.

Every integer on this protocol is big-endian (relayd.c converts each field with
htobe32/htobe64; the relay daemon may run on another host). All structs are LTTNG_PACKED
except where a comment says otherwise. Each layout names the struct of
src/common/sessiond-comm/relayd.h it mirrors.
"""

from __future__ import annotations

from typing import Any, Final

from construct import Bytes, ConstructError, Int8ub, Int32ub, Int64ub, Struct

from .constants import UUID_LEN
from .errors import ProtocolError

# struct lttcomm_relayd_hdr: precedes every command on the control connection.
ControlHeader = Struct(
    "circuit_id" / Int64ub,  # "not used for now so always ignored"
    "data_size" / Int64ub,  # payload bytes following the header
    "cmd" / Int32ub,  # enum lttcomm_relayd_command
    "cmd_version" / Int32ub,  # always 0 (relayd.c: send_command())
)

# struct lttcomm_relayd_data_hdr: precedes every packet on the data connection.
DataHeader = Struct(
    "circuit_id" / Int64ub,
    "stream_id" / Int64ub,  # the handle the relayd gave in its add-stream reply
    "net_seq_num" / Int64ub,  # per stream, from 0 (consumer.c: write_relayd_stream_header())
    "data_size" / Int32ub,  # bytes following the header
    "padding_size" / Int32ub,  # zeros the relayd appends itself: never sent
)

# struct lttcomm_relayd_version: RELAYD_VERSION request and reply.
Version = Struct("major" / Int32ub, "minor" / Int32ub)

# struct lttcomm_relayd_create_session_2_11, followed by the three NUL-terminated names.
CreateSession = Struct(
    "session_name_len" / Int32ub,
    "hostname_len" / Int32ub,
    "base_path_len" / Int32ub,  # 0: no base path
    "live_timer" / Int32ub,
    "snapshot" / Int8ub,
    "session_name_contains_creation_time" / Int8ub,
    "sessiond_uuid" / Bytes(UUID_LEN),
    "session_id" / Int64ub,
    "creation_time" / Int64ub,
    # LTTNG_OPTIONAL_COMM(uint64_t) LTTNG_PACKED: no padding after is_set
    "current_chunk_id_is_set" / Int8ub,
    "current_chunk_id" / Int64ub,
)

# struct lttcomm_relayd_status_session (the 2.11 create-session reply starts with it).
CreateSessionReply = Struct(
    "session_id" / Int64ub,
    "ret_code" / Int32ub,
    "output_path_length" / Int32ub,  # includes the NUL; the path follows
)

# struct lttcomm_relayd_add_stream_2_11, followed by the two NUL-terminated names.
AddStream = Struct(
    "channel_name_len" / Int32ub,
    "pathname_len" / Int32ub,
    "tracefile_size" / Int64ub,
    "tracefile_count" / Int64ub,
    "trace_chunk_id" / Int64ub,
)

# struct lttcomm_relayd_status_stream: the add-stream reply.
StatusStream = Struct("handle" / Int64ub, "ret_code" / Int32ub)

# struct lttcomm_relayd_generic_reply
GenericReply = Struct("ret_code" / Int32ub)

# struct lttcomm_relayd_metadata_payload, followed by the metadata bytes.
MetadataPayload = Struct("stream_id" / Int64ub, "padding_size" / Int32ub)

# struct lttcomm_relayd_close_stream and struct lttcomm_relayd_data_pending
StreamSeq = Struct("stream_id" / Int64ub, "last_net_seq_num" / Int64ub)

# struct lttcomm_relayd_{begin,end}_data_pending
SessionId = Struct("session_id" / Int64ub)

# struct lttcomm_relayd_quiescent_control
StreamId = Struct("stream_id" / Int64ub)

# struct lttcomm_relayd_index, whole: protocol 2.8+ sends the CTF index 1.1 fields
# (relayd.h: lttcomm_relayd_index_len(), ctf-index.h: lttng_to_index_minor()).
Index = Struct(
    "relay_stream_id" / Int64ub,
    "net_seq_num" / Int64ub,
    "packet_size" / Int64ub,  # bits
    "content_size" / Int64ub,  # bits
    "timestamp_begin" / Int64ub,
    "timestamp_end" / Int64ub,
    "events_discarded" / Int64ub,
    "stream_id" / Int64ub,  # the CTF stream class id
    "stream_instance_id" / Int64ub,
    "packet_seq_num" / Int64ub,
)

# struct lttcomm_relayd_reset_metadata
ResetMetadata = Struct("stream_id" / Int64ub, "version" / Int64ub)


def rotate_streams_header(padding: int) -> Struct:
    """struct lttcomm_relayd_rotate_streams: `new_chunk_id` lacks LTTNG_PACKED, so a peer
    pads after `is_set` as its ABI aligns a uint64_t (7 bytes on x86-64, 3 on i386, 0
    packed); lttng-relayd tells them apart by the payload size (main.c:
    relay_unpack_rotate_streams_header())."""
    return Struct(
        "stream_count" / Int32ub,
        "new_chunk_id_is_set" / Int8ub,
        "padding" / Bytes(padding),
        "new_chunk_id" / Int64ub,
    )


ROTATE_STREAMS_PADDINGS: Final = (0, 3, 7)

# struct lttcomm_relayd_stream_rotation_position, `stream_count` of them follow.
RotationPosition = Struct("stream_id" / Int64ub, "rotate_at_seq_num" / Int64ub)

# struct lttcomm_relayd_create_trace_chunk, followed by the override name (with NUL).
CreateTraceChunk = Struct(
    "chunk_id" / Int64ub,
    "creation_timestamp" / Int64ub,  # seconds since the epoch
    "override_name_length" / Int32ub,  # 0: no override
)

# struct lttcomm_relayd_close_trace_chunk
CloseTraceChunk = Struct(
    "chunk_id" / Int64ub,
    "close_timestamp" / Int64ub,
    # LTTNG_OPTIONAL_COMM(uint32_t) LTTNG_PACKED
    "close_command_is_set" / Int8ub,
    "close_command" / Int32ub,
)

# struct lttcomm_relayd_close_trace_chunk_reply, followed by the path (with NUL).
CloseTraceChunkReply = Struct("ret_code" / Int32ub, "path_length" / Int32ub)

# struct lttcomm_relayd_trace_chunk_exists
TraceChunkExists = Struct("chunk_id" / Int64ub)

# struct lttcomm_relayd_trace_chunk_exists_reply
TraceChunkExistsReply = Struct("ret_code" / Int32ub, "trace_chunk_exists" / Int8ub)

# struct lttcomm_relayd_get_configuration
GetConfiguration = Struct("query_flags" / Int64ub)

# struct lttcomm_relayd_get_configuration_reply (its optional payload[] is never sent).
GetConfigurationReply = Struct("ret_code" / Int32ub, "relayd_configuration_flags" / Int64ub)

CONTROL_HEADER_SIZE: Final[int] = ControlHeader.sizeof()
DATA_HEADER_SIZE: Final[int] = DataHeader.sizeof()


def parse(layout: Struct, raw: bytes, what: str, cmd: int | None = None) -> Any:
    """Parse exactly `layout.sizeof()` bytes of `raw`; ProtocolError if there are fewer."""
    size = int(layout.sizeof())
    if len(raw) < size:
        raise ProtocolError(f"{what} is {len(raw)} bytes, needs {size}", cmd)
    try:
        return layout.parse(raw[:size])
    except ConstructError as exc:  # pragma: no cover - fixed sizes are checked above
        raise ProtocolError(f"bad {what}: {exc}", cmd) from None


def build(layout: Struct, values: dict[str, Any], what: str, cmd: int | None = None) -> bytes:
    """Build `layout`; an out-of-range field becomes a ProtocolError naming `what`."""
    try:
        return bytes(layout.build(values))
    except ConstructError as exc:
        raise ProtocolError(f"cannot encode {what}: {exc}", cmd) from None
