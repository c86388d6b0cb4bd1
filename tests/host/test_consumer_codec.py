"""The sessiond <-> consumerd codec: round trips, framing, malformed input."""

from __future__ import annotations

import struct

import msgpack
import pytest
from pylttng.protocol.consumer import (
    MAX_PAYLOAD,
    AddStream,
    BadFrame,
    CloseSession,
    DataPending,
    Frame,
    FrameDecoder,
    ProtocolError,
    RelaydEndpoint,
    RelaydSession,
    Reply,
    Request,
    encode_reply,
    encode_request,
    parse_reply,
    parse_request,
    request_fd_count,
)

REQUESTS: list[Request] = [
    AddStream(session_id=3, trace_dir="/t/kernel", file_name="channel0_1", metadata=False),
    AddStream(session_id=0, trace_dir="/t/k", file_name="metadata", metadata=True, output="splice"),
    AddStream(
        session_id=4,
        trace_dir="/t/k",
        file_name="c_0",
        metadata=False,
        tracefile_size=2**64 - 1,
        tracefile_count=3,
    ),
    DataPending(2**63),
    CloseSession(1),
]


def decode_all(data: bytes, decoder: FrameDecoder | None = None) -> list[Frame | BadFrame]:
    decoder = decoder or FrameDecoder()
    decoder.feed(data)
    events = []
    while (event := decoder.next_event()) is not None:
        events.append(event)
    return events


def payload_of(frame: bytes) -> bytes:
    (event,) = decode_all(frame)
    assert isinstance(event, Frame)
    return event.payload


@pytest.mark.parametrize("req", REQUESTS, ids=lambda r: r.cmd)
def test_request_round_trip(req: Request) -> None:
    assert parse_request(payload_of(encode_request(req))) == req


def test_fd_counts() -> None:
    assert [request_fd_count(r) for r in REQUESTS] == [1, 1, 1, 0, 0]


def test_trace_file_size_and_count_default_to_unlimited() -> None:
    """A request without them (an older sessiond) means one file per stream."""
    req = parse_request(add_stream())
    assert isinstance(req, AddStream)
    assert (req.tracefile_size, req.tracefile_count) == (0, 0)


def add_stream(**fields: object) -> bytes:
    return raw(
        {
            "cmd": "add_stream",
            "session_id": 1,
            "trace_dir": "/t",
            "file_name": "c_0",
            "metadata": False,
            **fields,
        }
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tracefile_size": -1}, r"'tracefile_size' must be within \[0, 2\*\*64 - 1\]"),
        ({"tracefile_count": -5}, "'tracefile_count' must be within"),
        ({"tracefile_size": True}, "'tracefile_size' must be int, not bool"),
        ({"tracefile_count": "3"}, "'tracefile_count' must be int, not str"),
        ({"tracefile_size": 1.5}, "'tracefile_size' must be int, not float"),
        (
            {"file_name": "metadata", "metadata": True, "tracefile_size": 4096},
            "metadata stream has no trace file size",
        ),
    ],
)
def test_bad_trace_file_fields(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_request(add_stream(**fields))


@pytest.mark.parametrize(
    "reply",
    [Reply.success(), Reply.success(pending=True), Reply.failure("No space left on device")],
)
def test_reply_round_trip(reply: Reply) -> None:
    assert parse_reply(payload_of(encode_reply(reply))) == reply


def test_frames_split_anywhere() -> None:
    stream = b"".join(encode_request(r) for r in REQUESTS)
    decoder = FrameDecoder()
    got = []
    for i in range(len(stream)):  # one byte at a time
        decoder.feed(stream[i : i + 1])
        while (event := decoder.next_event()) is not None:
            assert isinstance(event, Frame)
            got.append(parse_request(event.payload))
    assert got == REQUESTS
    assert decoder.pending_bytes == 0


def raw(obj: object) -> bytes:
    packed: bytes = msgpack.packb(obj)
    return packed


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xc1", "not valid msgpack"),
        (b"\x92\x01", "not valid msgpack"),  # truncated array
        (raw([1, 2]), "must be a msgpack map"),
        (raw({1: 2}), "not valid msgpack"),  # strict_map_key
        (raw({"x": 1}), "no 'cmd'"),
        (raw({"cmd": "explode"}), "unknown command 'explode'"),
        (raw({"cmd": "data_pending"}), "missing field 'session_id'"),
        (raw({"cmd": "data_pending", "session_id": "1"}), "must be int, not str"),
        (raw({"cmd": "data_pending", "session_id": True}), "must be int, not bool"),
        (raw({"cmd": "flush_session", "session_id": 1}), "unknown command 'flush_session'"),
        (raw({"cmd": "close_session", "session_id": -1}), ">= 0"),
        (
            raw(
                {
                    "cmd": "add_stream",
                    "session_id": 1,
                    "trace_dir": "/t",
                    "file_name": "a/b",
                    "metadata": False,
                }
            ),
            "plain name",
        ),
        (
            raw(
                {
                    "cmd": "add_stream",
                    "session_id": 1,
                    "trace_dir": "",
                    "file_name": "x",
                    "metadata": False,
                }
            ),
            "non-empty path",
        ),
        (
            raw(
                {
                    "cmd": "add_stream",
                    "session_id": 1,
                    "trace_dir": "/t",
                    "file_name": "x",
                    "metadata": 1,
                }
            ),
            "'metadata' must be bool",
        ),
        (
            raw(
                {
                    "cmd": "add_stream",
                    "session_id": 1,
                    "trace_dir": "/t",
                    "file_name": "x",
                    "metadata": False,
                    "output": "pipe",
                }
            ),
            "'mmap' or 'splice'",
        ),
        (raw({"cmd": "data_pending", "session_id": 1}) + b"\x00", "not valid msgpack"),
    ],
)
def test_malformed_requests(payload: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_request(payload)


def test_bad_replies() -> None:
    with pytest.raises(ProtocolError, match="boolean 'ok'"):
        parse_reply(raw({"error": "x"}))
    with pytest.raises(ProtocolError, match="'error' string"):
        parse_reply(raw({"ok": False}))


def test_oversized_frame_is_skipped_and_stream_stays_in_sync() -> None:
    big = struct.pack(">I", MAX_PAYLOAD + 1) + b"\0" * (MAX_PAYLOAD + 1)
    good = encode_request(DataPending(1))
    decoder = FrameDecoder()
    events = []
    # Feed in chunks so the skip spans several feeds.
    data = good + big + good
    for i in range(0, len(data), 4096):
        events += decode_all(data[i : i + 4096], decoder)
    assert len(events) == 3
    assert isinstance(events[1], BadFrame) and "exceeds" in events[1].reason
    assert isinstance(events[0], Frame) and isinstance(events[2], Frame)
    assert parse_request(events[2].payload) == DataPending(1)


def test_garbage_frame_then_good_frame() -> None:
    garbage = struct.pack(">I", 5) + b"\xff\xfe\xfd\xfc\xfb"
    events = decode_all(garbage + encode_request(CloseSession(4)))
    assert len(events) == 2
    assert isinstance(events[0], Frame)
    with pytest.raises(ProtocolError):
        parse_request(events[0].payload)
    assert isinstance(events[1], Frame)
    assert parse_request(events[1].payload) == CloseSession(4)


def test_truncated_frame_is_pending() -> None:
    decoder = FrameDecoder()
    frame = encode_request(DataPending(1))
    decoder.feed(frame[:-1])
    assert decoder.next_event() is None
    assert decoder.pending_bytes == len(frame) - 1


# --- streaming to a relay daemon ----------------------------------------------------------

RELAYD_SESSION = RelaydSession(
    session_id=5,
    control=RelaydEndpoint("ipv4", "127.0.0.1", 5342),
    data=RelaydEndpoint("ipv4", "127.0.0.1", 5343),
    session_name="s1",
    hostname="host-a",
    base_path="",
    creation_time=1_765_000_000,
    chunk_id=0,
)


@pytest.mark.parametrize(
    "req",
    [
        RELAYD_SESSION,
        RelaydSession(
            session_id=0,
            control=RelaydEndpoint("ipv6", "::1", 1),
            data=RelaydEndpoint("ipv6", "fe80::1", 65535),
            session_name="live",
            hostname="h",
            base_path="a/b",
            creation_time=0,
            chunk_id=2**64 - 1,
            live_timer_us=2**32 - 1,
            snapshot=True,
        ),
        AddStream(
            session_id=5,
            trace_dir="/unused",
            file_name="channel0_0",
            metadata=False,
            relay_path="kernel",
        ),
    ],
    ids=["ipv4", "ipv6-live-snapshot", "add_stream-relay"],
)
def test_relayd_round_trip(req: Request) -> None:
    assert parse_request(payload_of(encode_request(req))) == req
    assert request_fd_count(req) == (1 if isinstance(req, AddStream) else 0)


def relayd_fields(**changes: object) -> bytes:
    msg = msgpack.unpackb(payload_of(encode_request(RELAYD_SESSION)))
    for key, value in changes.items():
        if value is None:
            del msg[key]
        else:
            msg[key] = value
    return bytes(msgpack.packb(msg))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"control": {"family": "ipv4", "address": "::1", "port": 1}}, "is not ipv4"),
        ({"data": {"family": "ipv6", "address": "127.0.0.1", "port": 1}}, "is not ipv6"),
        ({"control": {"family": "ipv4", "address": "localhost", "port": 1}}, "numeric IP"),
        ({"control": {"family": "unix", "address": "/s", "port": 1}}, "family must be"),
        ({"data": {"family": "ipv4", "address": "127.0.0.1", "port": 0}}, "port must be"),
        ({"data": {"family": "ipv4", "address": "127.0.0.1", "port": 65536}}, "port must be"),
        ({"data": "127.0.0.1:5343"}, "'data' must be dict"),
        ({"session_name": ""}, "'session_name' must be a non-empty"),
        ({"hostname": None}, "missing field 'hostname'"),
        ({"base_path": "a\0b"}, "'base_path' must be a path without NUL"),
        ({"creation_time": None}, "missing field 'creation_time'"),
        ({"chunk_id": -1}, "'chunk_id' must be within"),
        ({"live_timer_us": 2**32}, "live_timer_us must fit in 32 bits"),
        ({"snapshot": 1}, "'snapshot' must be bool"),
    ],
)
def test_bad_relayd_session(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_request(relayd_fields(**changes))


@pytest.mark.parametrize(
    "relay_path", ["/kernel", "a\0b", "k" * 256], ids=["absolute", "nul", "too-long"]
)
def test_bad_relay_path(relay_path: str) -> None:
    msg = msgpack.unpackb(payload_of(encode_request(REQUESTS[0])))
    msg["relay_path"] = relay_path
    with pytest.raises(ProtocolError, match="relay_path must be relative"):
        parse_request(bytes(msgpack.packb(msg)))


def test_relay_path_at_the_limit_is_kept() -> None:
    req = AddStream(
        session_id=1, trace_dir="/t", file_name="c", metadata=False, relay_path="k" * 255
    )
    assert parse_request(payload_of(encode_request(req))) == req
