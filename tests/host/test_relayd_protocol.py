"""protocol/relayd on its own: every request and reply type round-trips, byte-at-a-time
input reads the same, and malformed input is refused with a ProtocolError that says why
(or, on the control connection, reported as a BadRequest while the reader keeps step)."""

from __future__ import annotations

import struct
import uuid

import pytest
from pylttng.protocol import relayd as r
from pylttng.protocol.client.constants import ErrorCode
from pylttng.protocol.relayd.constants import MAX_CONTROL_PAYLOAD

U64_MAX = (1 << 64) - 1
SESSIOND_UUID = uuid.UUID("0592a708-f41c-470f-83a2-32da0c0878b4")

REQUESTS: list[r.Request] = [
    r.Version(2, 13),
    r.GetConfiguration(0),
    r.CreateSession(
        session_name="my-session",
        hostname="host",
        sessiond_uuid=SESSIOND_UUID,
        session_id=42,
        creation_time=1_765_000_000,
        base_path="a/b",
        live_timer=1_000_000,
        snapshot=True,
        session_name_contains_creation_time=True,
        current_chunk_id=U64_MAX,
    ),
    r.CreateSession("s", "h", SESSIOND_UUID, 0, 0, base_path=None),
    r.CreateTraceChunk(3, 1_765_000_001, "snapshot-1-20261206-000150-0"),
    r.CreateTraceChunk(0, 0),
    r.AddStream("channel0_1", "kernel", 3, tracefile_size=1 << 20, tracefile_count=4),
    r.StreamsSent(),
    r.SendMetadata(3, b"/* CTF 1.8 */\n", padding_size=4082),
    r.SendMetadata(3, b""),
    r.SendIndex(1, 2, 32768, 672, 10, 20, 0, 0, 1, 2),
    r.CloseStream(3, U64_MAX),
    r.DataPending(1, 7),
    r.QuiescentControl(3),
    r.BeginDataPending(1),
    r.EndDataPending(1),
    r.ResetMetadata(3, 1),
    r.RotateStreams(1, (r.RotationPosition(1, 5), r.RotationPosition(3, 0))),
    r.RotateStreams(None, (), header_padding=b""),
    r.RotateStreams(9, (r.RotationPosition(2, 1),), header_padding=b"\1\2\3"),
    r.CloseTraceChunk(1, 1_765_000_002, r.TraceChunkCommand.DELETE),
    r.CloseTraceChunk(1, 1_765_000_002),
    r.TraceChunkExists(1),
    r.StartData(),
    r.UnhandledCommand(r.Command.UPDATE_SYNC_INFO, b"\0" * 8),
    r.UnhandledCommand(4242),
]

REPLIES: list[tuple[r.Command, r.Reply]] = [
    (r.Command.VERSION, r.Version(2, 13)),
    (r.Command.GET_CONFIGURATION, r.GetConfigurationReply(r.ConfigurationFlag(0))),
    (r.Command.CREATE_SESSION, r.CreateSessionReply(1, ErrorCode.OK, "host/s-20261206-000147")),
    (r.Command.CREATE_SESSION, r.CreateSessionReply(0, ErrorCode.FATAL, None)),
    (r.Command.ADD_STREAM, r.AddStreamReply(3)),
    (r.Command.ADD_STREAM, r.AddStreamReply(U64_MAX, ErrorCode.UNK)),
    (r.Command.STREAMS_SENT, r.GenericReply()),
    (r.Command.DATA_PENDING, r.PendingReply(1)),
    (r.Command.DATA_PENDING, r.PendingReply(-1)),
    (r.Command.END_DATA_PENDING, r.PendingReply(0)),
    (r.Command.CLOSE_TRACE_CHUNK, r.CloseTraceChunkReply(ErrorCode.OK, "host/s/archives/x-1")),
    (r.Command.CLOSE_TRACE_CHUNK, r.CloseTraceChunkReply(ErrorCode.NOMEM, None)),
    (r.Command.TRACE_CHUNK_EXISTS, r.TraceChunkExistsReply(True)),
    (r.Command.UPDATE_SYNC_INFO, r.GenericReply(ErrorCode.UNK)),
]


def read_requests(raw: bytes, step: int | None = None) -> list[r.Request | r.BadRequest]:
    reader = r.RequestReader()
    out: list[r.Request | r.BadRequest] = []
    chunks = [raw] if step is None else [raw[i : i + step] for i in range(0, len(raw), step)]
    for chunk in chunks:
        reader.receive_data(chunk)
        while (event := reader.next_event()) is not r.NEED_DATA:
            out.append(event)
    assert reader.pending_bytes == 0
    return out


def command(cmd: int, payload: bytes) -> bytes:
    return struct.pack(">QQII", 0, len(payload), cmd, 0) + payload


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda q: type(q).__name__)
def test_request_round_trip(request_: r.Request) -> None:
    raw = r.encode_request(request_)
    (size,) = struct.unpack_from(">Q", raw, 8)
    assert size == len(raw) - 24
    assert struct.unpack_from(">I", raw, 16)[0] == int(request_.command)
    assert read_requests(raw) == [request_]


def test_requests_fed_one_byte_at_a_time() -> None:
    raw = b"".join(r.encode_request(q) for q in REQUESTS)
    assert read_requests(raw, step=1) == REQUESTS


@pytest.mark.parametrize(("cmd", "reply"), REPLIES, ids=lambda x: getattr(x, "name", ""))
def test_reply_round_trip(cmd: r.Command, reply: r.Reply) -> None:
    reader = r.ReplyReader()
    reader.expect(cmd)
    raw = r.encode_reply(reply)
    for i in range(len(raw) - 1):
        reader.receive_data(raw[i : i + 1])
        assert reader.next_reply() is r.NEED_DATA
    reader.receive_data(raw[-1:])
    assert reader.next_reply() == reply
    assert reader.awaiting == 0


def test_replies_come_in_the_order_of_the_commands() -> None:
    reader = r.ReplyReader()
    for cmd, _ in REPLIES:
        reader.expect(cmd)
    reader.expect(r.Command.SEND_METADATA)  # unanswered: nothing to wait for
    assert reader.awaiting == len(REPLIES)
    reader.receive_data(b"".join(r.encode_reply(reply) for _, reply in REPLIES))
    assert [reader.next_reply() for _ in REPLIES] == [reply for _, reply in REPLIES]
    assert reader.next_reply() is r.NEED_DATA


def test_data_packets_round_trip_and_padding_is_not_sent() -> None:
    packets = [
        r.DataPacket(r.DataHeader(1, 0, 5, padding_size=4091), b"hello"),
        r.DataPacket(r.DataHeader(2, U64_MAX, 0), b""),
    ]
    raw = b"".join(r.encode_data_packet(p) for p in packets)
    assert len(raw) == 32 + 5 + 32
    assert raw[:32] == struct.pack(">QQQII", 0, 1, 0, 5, 4091)
    reader = r.DataReader()
    got = []
    for i in range(len(raw)):
        reader.receive_data(raw[i : i + 1])
        while (p := reader.next_packet()) is not r.NEED_DATA:
            got.append(p)
    assert got == packets


def test_metadata_prefix_is_the_head_of_send_metadata() -> None:
    q = r.SendMetadata(3, b"x" * 100, padding_size=28)
    assert r.metadata_prefix(3, 28, 100) + q.data == r.encode_request(q)


# --- the request reader keeps step with malformed commands --------------------------------


def bad(cmd: int, payload: bytes) -> str:
    """The reason a command is refused; the command after it must still be read."""
    events = read_requests(command(cmd, payload) + r.encode_request(r.StreamsSent()))
    assert len(events) == 2 and events[1] == r.StreamsSent(), events
    assert isinstance(events[0], r.BadRequest) and events[0].cmd == cmd
    return events[0].reason


def payload_of(request: r.Request) -> bytes:
    return r.encode_request(request)[24:]


CREATE = r.CreateSession("s", "h", SESSIOND_UUID, 1, 2)


def test_fixed_size_commands_refuse_other_sizes() -> None:
    assert "is 7 bytes, not 8" in bad(r.Command.VERSION, b"\0" * 7)
    assert "is 9 bytes, not 8" in bad(r.Command.QUIESCENT_CONTROL, b"\0" * 9)
    assert "not 80" in bad(r.Command.SEND_INDEX, b"\0" * 64)  # a pre-2.8 index
    assert "its lengths announce 0" in bad(r.Command.STREAMS_SENT, b"\0")
    assert "needs 12" in bad(r.Command.SEND_METADATA, b"\0" * 11)


def test_create_session_is_validated() -> None:
    good = payload_of(CREATE)
    assert "announce" in bad(r.Command.CREATE_SESSION, good + b"\0")
    assert "announce" in bad(r.Command.CREATE_SESSION, good[:-1])
    assert "needs 59" in bad(r.Command.CREATE_SESSION, good[:58])
    nil = good[:18] + b"\0" * 16 + good[34:]
    assert "nil" in bad(r.Command.CREATE_SESSION, nil)
    unterminated = good[:59] + b"sX" + good[61:]
    assert "session name is not NUL-terminated" in bad(r.Command.CREATE_SESSION, unterminated)
    twice = good[:59] + b"\0\0" + good[61:]
    assert "NUL byte before its end" in bad(r.Command.CREATE_SESSION, twice)
    no_name = struct.pack(">I", 0) + good[4:59] + good[61:]
    assert "session name has length 0" in bad(r.Command.CREATE_SESSION, no_name)
    snapshot_2 = good[:16] + b"\2" + good[17:]
    assert "snapshot is 2" in bad(r.Command.CREATE_SESSION, snapshot_2)
    stray = good[:51] + struct.pack(">Q", 5) + good[59:]
    assert "unset current_chunk_id carries the value 5" in bad(r.Command.CREATE_SESSION, stray)


def test_names_are_bounded_as_lttng_relayd_bounds_them() -> None:
    long_path = payload_of(r.AddStream("c", "p" * 254, 0))
    assert read_requests(command(r.Command.ADD_STREAM, long_path))[0] == r.AddStream(
        "c", "p" * 254, 0
    )
    too_long = struct.pack(">II", 2, 256) + long_path[8:32] + b"c\0" + b"p" * 255 + b"\0"
    # cmd-2-11.c: the stream path is bounded by LTTNG_NAME_MAX.
    assert "stream path is 256 bytes, at most 255" in bad(r.Command.ADD_STREAM, too_long)


def test_rotate_streams_reads_each_padding_and_refuses_other_sizes() -> None:
    for padding in (b"", b"\0\0\0", b"\xde\xad\xbe\xef\0\0\0"):
        q = r.RotateStreams(4, (r.RotationPosition(1, 2),), header_padding=padding)
        assert read_requests(r.encode_request(q)) == [q]
    good = payload_of(r.RotateStreams(4, (r.RotationPosition(1, 2),)))
    assert "no header of 13, 16 or 20 bytes" in bad(r.Command.ROTATE_STREAMS, good + b"\0")
    assert "needs 4" in bad(r.Command.ROTATE_STREAMS, b"\0\0")
    is_set_2 = good[:4] + b"\2" + good[5:]
    assert "new_chunk_id.is_set is 2" in bad(r.Command.ROTATE_STREAMS, is_set_2)


def test_trace_chunk_commands_are_validated() -> None:
    close = payload_of(r.CloseTraceChunk(1, 2, r.TraceChunkCommand.DELETE))
    assert "unknown close command 3" in bad(
        r.Command.CLOSE_TRACE_CHUNK, close[:17] + struct.pack(">I", 3)
    )
    unset = close[:16] + b"\0" + close[17:]
    assert "unset close_command carries the value 2" in bad(r.Command.CLOSE_TRACE_CHUNK, unset)
    create = payload_of(r.CreateTraceChunk(1, 2, "name"))
    assert "announce" in bad(r.Command.CREATE_TRACE_CHUNK, create[:-1])
    assert "chunk name is not NUL-terminated" in bad(
        r.Command.CREATE_TRACE_CHUNK, create[:-1] + b"x"
    )


def test_unhandled_commands_are_typed_not_refused() -> None:
    events = read_requests(command(r.Command.UPDATE_SYNC_INFO, b"abc") + command(9999, b""))
    assert events == [
        r.UnhandledCommand(r.Command.UPDATE_SYNC_INFO, b"abc"),
        r.UnhandledCommand(9999, b""),
    ]


def test_an_oversized_payload_is_fatal() -> None:
    reader = r.RequestReader()
    reader.receive_data(struct.pack(">QQII", 0, MAX_CONTROL_PAYLOAD + 1, r.Command.VERSION, 0))
    for _ in range(2):  # and stays so: nothing tells where the next command starts
        with pytest.raises(r.ProtocolError, match="more than the 134217728"):
            reader.next_event()
    small = r.RequestReader(max_payload=8)
    small.receive_data(r.encode_request(r.Version()))
    assert small.next_event() == r.Version()
    small.receive_data(r.encode_request(r.ResetMetadata(1, 2)))
    with pytest.raises(r.ProtocolError, match="16 bytes"):
        small.next_event()


# --- the reply reader: every error is fatal -----------------------------------------------


def failing_reader(cmd: int, raw: bytes, match: str) -> None:
    reader = r.ReplyReader()
    reader.expect(cmd)
    reader.receive_data(raw)
    for _ in range(2):
        with pytest.raises(r.ProtocolError, match=match):
            reader.next_reply()


def test_reply_paths_are_validated() -> None:
    head = struct.pack(">QII", 1, ErrorCode.OK, 4096)
    failing_reader(r.Command.CREATE_SESSION, head, "path of 4096 bytes, the limit is 4095")
    unterminated = struct.pack(">II", ErrorCode.OK, 3) + b"abc"
    failing_reader(r.Command.CLOSE_TRACE_CHUNK, unterminated, "not one NUL-terminated")
    inner = struct.pack(">II", ErrorCode.OK, 3) + b"a\0\0"
    failing_reader(r.Command.CLOSE_TRACE_CHUNK, inner, "not one NUL-terminated")


def test_reply_fields_are_validated() -> None:
    failing_reader(r.Command.TRACE_CHUNK_EXISTS, struct.pack(">IB", 10, 2), "is 2")


def test_a_reply_longer_than_due_is_fatal() -> None:
    reader = r.ReplyReader()
    reader.expect(r.Command.VERSION)
    reader.receive_data(r.encode_reply(r.Version()) + b"\0")
    assert reader.next_reply() == r.Version()
    for _ in range(2):
        with pytest.raises(r.ProtocolError, match="1 bytes arrived while no reply was due"):
            reader.next_reply()


def test_unsolicited_reply_bytes_are_fatal() -> None:
    reader = r.ReplyReader()
    reader.expect(r.Command.SEND_METADATA)
    reader.receive_data(b"\0\0\0\x0a")
    with pytest.raises(r.ProtocolError, match="4 bytes arrived while no reply was due"):
        reader.next_reply()


# --- the writer refuses what would go out wrong -------------------------------------------


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (r.CreateSession("s" * 255, "h", SESSIOND_UUID, 0, 0), "session name is 256 bytes"),
        (r.CreateSession("s", "h" * 256, SESSIOND_UUID, 0, 0), "hostname is 257 bytes"),
        (r.CreateSession("s", "h", uuid.UUID(int=0), 0, 0), "must not be nil"),
        (r.CreateSession("s\0x", "h", SESSIOND_UUID, 0, 0), "contains a NUL"),
        (r.CreateSession("s", "h", SESSIOND_UUID, -1, 0), "cannot encode CREATE_SESSION"),
        (r.AddStream("c" * 264, "kernel", 0), "channel name is 265 bytes"),
        (r.AddStream("c", "kernel", 1 << 64), "cannot encode ADD_STREAM"),
        (r.CreateTraceChunk(0, 0, "n" * 255), "chunk name is 256 bytes"),
        (r.RotateStreams(None, (), header_padding=b"\0" * 5), "not 0, 3 or 7"),
        (r.Version(1 << 32, 0), "cannot encode version"),
    ],
)
def test_writer_refuses(request_: r.Request, match: str) -> None:
    with pytest.raises(r.ProtocolError, match=match):
        r.encode_request(request_)


def test_writer_refuses_bad_replies_and_packets() -> None:
    with pytest.raises(r.ProtocolError, match="does not fit an int32_t"):
        r.encode_reply(r.PendingReply(1 << 31))
    with pytest.raises(r.ProtocolError, match="announces 4 bytes, the packet has 3"):
        r.encode_data_packet(r.DataPacket(r.DataHeader(1, 0, 4), b"abc"))
    with pytest.raises(r.ProtocolError, match="path is 4096 bytes"):
        r.encode_reply(r.CreateSessionReply(1, ErrorCode.OK, "p" * 4095))


def test_names_that_are_not_utf8_round_trip() -> None:
    q = r.AddStream("c", "kernel/\udcff", 0)  # the byte 0xff, as os.fsdecode has it
    raw = r.encode_request(q)
    assert b"kernel/\xff\0" in raw
    assert read_requests(raw) == [q]


# --- version negotiation ------------------------------------------------------------------


def test_negotiation_takes_the_lower_minor() -> None:
    assert r.negotiate(r.Version(2, 13), r.Version(2, 14)) == r.Version(2, 13)
    assert r.negotiate(r.Version(2, 13), r.Version(2, 12)) == r.Version(2, 12)
    with pytest.raises(r.ProtocolError, match="major versions differ"):
        r.negotiate(r.Version(2, 13), r.Version(3, 0))
    with pytest.raises(r.ProtocolError, match="predates trace chunks"):
        r.negotiate(r.Version(2, 13), r.Version(2, 10))


# --- the peer's side of a control connection ----------------------------------------------


def test_control_connection_checks_the_version_first() -> None:
    conn = r.ControlConnection()
    with pytest.raises(r.ProtocolError, match="CreateTraceChunk before the version check"):
        conn.send(r.CreateTraceChunk(0, 0))
    with pytest.raises(r.ProtocolError, match="metadata before the version check"):
        conn.send_metadata_prefix(1, 0, 10)
    with pytest.raises(r.ProtocolError, match="speaks Version"):
        conn.send(r.Version(2, 12))
    assert conn.send(r.Version()) == r.encode_request(r.Version(2, 13))
    with pytest.raises(r.ProtocolError, match="already sent"):
        conn.send(r.Version())
    # Requests may follow before the reply: they are answered in order.
    assert conn.send(r.GetConfiguration()) == r.encode_request(r.GetConfiguration())
    assert conn.send(r.SendMetadata(1, b"x")) == r.encode_request(r.SendMetadata(1, b"x"))
    assert conn.awaiting == 2
    assert conn.version is None
    conn.receive_data(r.encode_reply(r.Version(2, 14)))
    assert conn.next_reply() == r.Version(2, 14)
    assert conn.version == r.Version(2, 13)  # the lower minor: ours
    conn.receive_data(r.encode_reply(r.GetConfigurationReply()))
    assert conn.next_reply() == r.GetConfigurationReply()
    assert conn.next_reply() is r.NEED_DATA and conn.awaiting == 0


def test_control_connection_refuses_an_incompatible_relay_daemon() -> None:
    conn = r.ControlConnection()
    conn.send(r.Version())
    conn.receive_data(r.encode_reply(r.Version(2, 10)))
    with pytest.raises(r.ProtocolError, match="predates trace chunks"):
        conn.next_reply()
