"""Sans-I/O codec of the lttng-tools 2.13 relayd protocol: what lttng-sessiond and
lttng-consumerd send to lttng-relayd when a session streams (`lttng create -U net://...`).

Two TCP connections per consumer: the control connection carries commands, each a
`struct lttcomm_relayd_hdr` and a payload, answered in order (`RequestReader` on the
relay daemon's side, `ReplyReader` on the peer's); the data connection carries trace
packets behind a `struct lttcomm_relayd_data_hdr`, unanswered (`DataReader`). `writer`
encodes all of it; `ControlConnection` is the peer's side of a control connection. Typed messages are in `messages`, layouts in `structs` (big-endian),
numbers in `constants`. Sources: lttng-tools stable-2.13 src/common/sessiond-comm/relayd.h,
src/common/relayd/relayd.c, src/bin/lttng-relayd/main.c.
"""

from .buffer import NEED_DATA, NeedData
from .connection import ControlConnection
from .constants import (
    DEFAULT_CONTROL_PORT,
    DEFAULT_DATA_PORT,
    DEFAULT_VIEWER_PORT,
    Command,
    ConfigurationFlag,
    TraceChunkCommand,
)
from .data_reader import DataReader
from .errors import ProtocolError
from .messages import (
    AddStream,
    AddStreamReply,
    BadRequest,
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
    RotationPosition,
    SendIndex,
    SendMetadata,
    StartData,
    StreamsSent,
    TraceChunkExists,
    TraceChunkExistsReply,
    UnhandledCommand,
    Version,
)
from .reply_reader import ReplyReader
from .request_reader import RequestReader
from .version import negotiate
from .writer import (
    encode_data_header,
    encode_data_packet,
    encode_reply,
    encode_request,
    metadata_prefix,
)

__all__ = [
    "DEFAULT_CONTROL_PORT",
    "DEFAULT_DATA_PORT",
    "DEFAULT_VIEWER_PORT",
    "NEED_DATA",
    "AddStream",
    "AddStreamReply",
    "BadRequest",
    "BeginDataPending",
    "CloseStream",
    "CloseTraceChunk",
    "CloseTraceChunkReply",
    "Command",
    "ConfigurationFlag",
    "ControlConnection",
    "CreateSession",
    "CreateSessionReply",
    "CreateTraceChunk",
    "DataHeader",
    "DataPacket",
    "DataPending",
    "DataReader",
    "EndDataPending",
    "GenericReply",
    "GetConfiguration",
    "GetConfigurationReply",
    "NeedData",
    "PendingReply",
    "ProtocolError",
    "QuiescentControl",
    "Reply",
    "ReplyReader",
    "Request",
    "RequestReader",
    "ResetMetadata",
    "RotateStreams",
    "RotationPosition",
    "SendIndex",
    "SendMetadata",
    "StartData",
    "StreamsSent",
    "TraceChunkCommand",
    "TraceChunkExists",
    "TraceChunkExistsReply",
    "UnhandledCommand",
    "Version",
    "encode_data_header",
    "encode_data_packet",
    "encode_reply",
    "encode_request",
    "metadata_prefix",
    "negotiate",
]
