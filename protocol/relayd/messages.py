"""Typed messages of the lttng-tools 2.13 relayd protocol (no I/O, no byte layout).

Requests go from lttng-sessiond / lttng-consumerd to lttng-relayd on the control
connection, each answered by the reply its command names (`REPLY`), except SEND_METADATA
which has none. Packets go on the data connection behind a `DataHeader`, unanswered.
Field meanings and the peer that sends each request: src/common/relayd/relayd.c
(the sender) and src/bin/lttng-relayd/main.c (the receiver), stable-2.13.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import ClassVar, TypeAlias

from ..client.constants import ErrorCode
from .constants import VERSION_MAJOR, VERSION_MINOR, Command, ConfigurationFlag, TraceChunkCommand

# --- requests (control connection) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Version:
    """RELAYD_VERSION, and its reply: each side's lttng-tools major.minor; both then speak
    the lower minor (relayd.c: relayd_version_check()). Sent first, by lttng-sessiond."""

    major: int = VERSION_MAJOR
    minor: int = VERSION_MINOR
    command: ClassVar[Command] = Command.VERSION


@dataclass(frozen=True, slots=True)
class GetConfiguration:
    """RELAYD_GET_CONFIGURATION (2.12+): lttng-sessiond asks, right after the version,
    whether the relay daemon allows clearing (cmd.c: create_connect_relayd())."""

    query_flags: int = 0  # must be 0: lttng-relayd refuses any query flag
    command: ClassVar[Command] = Command.GET_CONFIGURATION


@dataclass(frozen=True, slots=True)
class CreateSession:
    """RELAYD_CREATE_SESSION, 2.11+ layout (relayd.c: relayd_create_session_2_11())."""

    session_name: str
    hostname: str
    sessiond_uuid: uuid.UUID  # lttng-relayd refuses the nil UUID (pre-2.11 peers)
    session_id: int  # the session's id in lttng-sessiond
    creation_time: int  # seconds since the epoch
    # None: no base path on the wire (length 0); lttng-sessiond sends "" for none.
    base_path: str | None = ""
    live_timer: int = 0  # microseconds, 0: not a live session
    snapshot: bool = False
    session_name_contains_creation_time: bool = False
    current_chunk_id: int | None = None
    command: ClassVar[Command] = Command.CREATE_SESSION


@dataclass(frozen=True, slots=True)
class CreateTraceChunk:
    """RELAYD_CREATE_TRACE_CHUNK (2.11+): the session's chunk streams will be added to."""

    chunk_id: int
    creation_timestamp: int  # seconds since the epoch
    override_name: str | None = None  # e.g. a snapshot's "snapshot-1-<date>-0"
    command: ClassVar[Command] = Command.CREATE_TRACE_CHUNK


@dataclass(frozen=True, slots=True)
class AddStream:
    """RELAYD_ADD_STREAM, 2.11+ layout. `pathname` is relative to the trace chunk, domain
    first (relayd.c: relayd_add_stream(): "kernel", "ust/uid/1000/64-bit")."""

    channel_name: str  # the stream's file name, e.g. "channel0_0", "metadata"
    pathname: str
    trace_chunk_id: int
    tracefile_size: int = 0  # --tracefile-size, bytes, 0: unlimited
    tracefile_count: int = 0  # --tracefile-count, 0: unlimited
    command: ClassVar[Command] = Command.ADD_STREAM


@dataclass(frozen=True, slots=True)
class StreamsSent:
    """RELAYD_STREAMS_SENT: every stream of a channel was added; lttng-relayd publishes
    them to live viewers (main.c: relay_streams_sent())."""

    command: ClassVar[Command] = Command.STREAMS_SENT


@dataclass(frozen=True, slots=True)
class SendMetadata:
    """RELAYD_SEND_METADATA: a metadata packet on the control connection, unanswered.

    `data` is the packet's content; lttng-relayd appends `padding_size` zeros itself
    (consumer.c: write_relayd_metadata_id())."""

    stream_id: int  # the metadata stream's relayd handle
    data: bytes
    padding_size: int = 0
    command: ClassVar[Command] = Command.SEND_METADATA


@dataclass(frozen=True, slots=True)
class SendIndex:
    """RELAYD_SEND_INDEX: the CTF index entry (ctf-index.h, version 1.1) of a data packet,
    sent after the packet (consumer-stream.c); lttng-relayd writes it in index/*.idx and
    live viewers read it. `relay_stream_id` is the relayd handle, `stream_id` the CTF
    stream class id. A live beacon has sizes 0 and timestamp_end only."""

    relay_stream_id: int
    net_seq_num: int
    packet_size: int  # bits
    content_size: int  # bits
    timestamp_begin: int
    timestamp_end: int
    events_discarded: int
    stream_id: int
    stream_instance_id: int
    packet_seq_num: int
    command: ClassVar[Command] = Command.SEND_INDEX


@dataclass(frozen=True, slots=True)
class CloseStream:
    """RELAYD_CLOSE_STREAM: close once every packet up to `last_net_seq_num` is in
    (main.c: relay_close_stream(); a metadata stream sends -1 as u64)."""

    stream_id: int
    last_net_seq_num: int
    command: ClassVar[Command] = Command.CLOSE_STREAM


@dataclass(frozen=True, slots=True)
class DataPending:
    """RELAYD_DATA_PENDING: has lttng-relayd written the stream up to `last_net_seq_num`?"""

    stream_id: int
    last_net_seq_num: int
    command: ClassVar[Command] = Command.DATA_PENDING


@dataclass(frozen=True, slots=True)
class QuiescentControl:
    """RELAYD_QUIESCENT_CONTROL: asked of a metadata stream during a data-pending round;
    the control connection is in order, so always LTTNG_OK."""

    stream_id: int
    command: ClassVar[Command] = Command.QUIESCENT_CONTROL


@dataclass(frozen=True, slots=True)
class BeginDataPending:
    """RELAYD_BEGIN_DATA_PENDING: opens a round of DATA_PENDING for a relayd session."""

    session_id: int  # the relayd's session id (from its create-session reply)
    command: ClassVar[Command] = Command.BEGIN_DATA_PENDING


@dataclass(frozen=True, slots=True)
class EndDataPending:
    """RELAYD_END_DATA_PENDING: closes the round; the reply says whether data of a stream
    not asked about is still in flight."""

    session_id: int
    command: ClassVar[Command] = Command.END_DATA_PENDING


@dataclass(frozen=True, slots=True)
class ResetMetadata:
    """RELAYD_RESET_METADATA (2.8+): `lttng regenerate metadata` truncates the metadata
    stream's file before the new version is sent; refused for live sessions."""

    stream_id: int
    version: int
    command: ClassVar[Command] = Command.RESET_METADATA


@dataclass(frozen=True, slots=True)
class RotationPosition:
    """struct lttcomm_relayd_stream_rotation_position: the stream switches to the new
    chunk at this packet (ignored for metadata streams)."""

    stream_id: int
    rotate_at_seq_num: int


@dataclass(frozen=True, slots=True)
class RotateStreams:
    """RELAYD_ROTATE_STREAMS (2.11+): move streams to `new_chunk_id` (None: out of any
    chunk) at the given positions.

    `header_padding` holds the bytes a peer left between `is_set` and the chunk id (the
    field lacks LTTNG_PACKED: 7 bytes on x86-64, 3 on i386, none packed). lttng-consumerd
    leaves them uninitialised, so they are kept as received to re-encode the same bytes.
    """

    new_chunk_id: int | None
    positions: tuple[RotationPosition, ...]
    header_padding: bytes = b"\0" * 7
    command: ClassVar[Command] = Command.ROTATE_STREAMS


@dataclass(frozen=True, slots=True)
class CloseTraceChunk:
    """RELAYD_CLOSE_TRACE_CHUNK (2.11+): the reply carries the chunk's final path."""

    chunk_id: int
    close_timestamp: int  # seconds since the epoch
    close_command: TraceChunkCommand | None = None
    command: ClassVar[Command] = Command.CLOSE_TRACE_CHUNK


@dataclass(frozen=True, slots=True)
class TraceChunkExists:
    """RELAYD_TRACE_CHUNK_EXISTS (2.11+): is a chunk still open (rotation pending)?"""

    chunk_id: int
    command: ClassVar[Command] = Command.TRACE_CHUNK_EXISTS


@dataclass(frozen=True, slots=True)
class StartData:
    """RELAYD_START_DATA: answered LTTNG_OK by lttng-relayd 2.13, sent by no 2.13 peer."""

    command: ClassVar[Command] = Command.START_DATA


@dataclass(frozen=True, slots=True)
class UnhandledCommand:
    """A command lttng-relayd 2.13 does not handle (RELAYD_UPDATE_SYNC_INFO, an unknown
    number): it answers LTTNG_ERR_UNK and closes the connection (main.c:
    relay_process_control_command())."""

    cmd: int
    payload: bytes = b""

    @property
    def command(self) -> int:
        return self.cmd


Request: TypeAlias = (
    Version
    | GetConfiguration
    | CreateSession
    | CreateTraceChunk
    | AddStream
    | StreamsSent
    | SendMetadata
    | SendIndex
    | CloseStream
    | DataPending
    | QuiescentControl
    | BeginDataPending
    | EndDataPending
    | ResetMetadata
    | RotateStreams
    | CloseTraceChunk
    | TraceChunkExists
    | StartData
    | UnhandledCommand
)


@dataclass(frozen=True, slots=True)
class BadRequest:
    """A control command whose payload was malformed, reported and skipped: the header's
    size says where the next command starts. `cmd` is the header's command number."""

    cmd: int
    reason: str


# --- replies (control connection) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GenericReply:
    """struct lttcomm_relayd_generic_reply: `ret_code` is an lttng_error_code."""

    ret_code: int = ErrorCode.OK

    @property
    def ok(self) -> bool:
        return self.ret_code == ErrorCode.OK


@dataclass(frozen=True, slots=True)
class PendingReply:
    """The generic reply to DATA_PENDING and END_DATA_PENDING, whose ret_code is no error
    code but 1 (pending / in flight) or 0; DATA_PENDING on an unknown stream answers -1
    (main.c: relay_data_pending(), relay_end_data_pending())."""

    status: int  # signed

    @property
    def pending(self) -> bool:
        return self.status == 1


@dataclass(frozen=True, slots=True)
class CreateSessionReply:
    """struct lttcomm_relayd_create_session_reply_2_11 and its output path, relative to
    the relay daemon's output folder (None: length 0, as after an error)."""

    session_id: int
    ret_code: int = ErrorCode.OK
    output_path: str | None = None

    @property
    def ok(self) -> bool:
        return self.ret_code == ErrorCode.OK


@dataclass(frozen=True, slots=True)
class AddStreamReply:
    """struct lttcomm_relayd_status_stream: the stream's relayd handle, for the data
    headers and every later command about it."""

    handle: int
    ret_code: int = ErrorCode.OK

    @property
    def ok(self) -> bool:
        return self.ret_code == ErrorCode.OK


@dataclass(frozen=True, slots=True)
class CloseTraceChunkReply:
    """struct lttcomm_relayd_close_trace_chunk_reply and the chunk's path (None: length 0,
    as after an error)."""

    ret_code: int = ErrorCode.OK
    path: str | None = None

    @property
    def ok(self) -> bool:
        return self.ret_code == ErrorCode.OK


@dataclass(frozen=True, slots=True)
class TraceChunkExistsReply:
    """struct lttcomm_relayd_trace_chunk_exists_reply"""

    exists: bool
    ret_code: int = ErrorCode.OK

    @property
    def ok(self) -> bool:
        return self.ret_code == ErrorCode.OK


@dataclass(frozen=True, slots=True)
class GetConfigurationReply:
    """struct lttcomm_relayd_get_configuration_reply"""

    # lttng-relayd 2.13 allows clearing unless LTTNG_RELAYD_DISALLOW_CLEAR is set.
    flags: ConfigurationFlag = ConfigurationFlag.CLEAR_ALLOWED
    ret_code: int = ErrorCode.OK

    @property
    def ok(self) -> bool:
        return self.ret_code == ErrorCode.OK


Reply: TypeAlias = (
    Version
    | GenericReply
    | PendingReply
    | CreateSessionReply
    | AddStreamReply
    | CloseTraceChunkReply
    | TraceChunkExistsReply
    | GetConfigurationReply
)


# --- data connection ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataHeader:
    """struct lttcomm_relayd_data_hdr: `data_size` bytes of a packet follow; lttng-relayd
    appends `padding_size` zeros itself. `net_seq_num` counts the stream's packets from 0
    (consumer.c: write_relayd_stream_header())."""

    stream_id: int
    net_seq_num: int
    data_size: int
    padding_size: int = 0
    circuit_id: int = 0  # unused by lttng-tools: always 0


@dataclass(frozen=True, slots=True)
class DataPacket:
    header: DataHeader
    data: bytes = field(repr=False)
