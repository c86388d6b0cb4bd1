"""Client-protocol codec against bytes captured between the stock lttng 2.13.9 CLI and
the stock lttng-sessiond (strace -xx on the host; see data/*.json)."""

from __future__ import annotations

import base64
import json
import pathlib
import zlib

import pytest
from pylttng.protocol.client import reader, structs, writer
from pylttng.protocol.client.constants import (
    BufferType,
    Command,
    DomainType,
    ErrorCode,
    EventType,
    SessionDescriptorOutputType,
    SessionDescriptorType,
)
from pylttng.protocol.client.errors import ProtocolError
from pylttng.protocol.client.messages import Reply, SessionDescriptor, Uri

DATA = pathlib.Path(__file__).parent / "data" / "lttng-2.13.9-client-captures.json"
CAPTURES = json.loads(DATA.read_text())


def chunks(name: str) -> list[tuple[str, bytes]]:
    return [(d, zlib.decompress(base64.b64decode(b))) for d, b in CAPTURES[name]]


def request_of(name: str, index: int = 0) -> reader.Request:
    parts = chunks(name)
    rd = reader.RequestReader()
    # The CLI sends the session message, then the variable data, in separate writes.
    rd.receive_data(parts[index][1])
    req = rd.next_request()
    if isinstance(req, reader.NeedData):
        rd.receive_data(parts[index + 1][1])
        req = rd.next_request()
    assert isinstance(req, reader.Request)
    return req


def test_sizes_match_lp64_layout() -> None:
    assert structs.SESSION_MSG_SIZE == 13156
    assert structs.SESSION_SIZE == 4376
    assert structs.LTTNG_MSG_SIZE == 24
    assert structs.URI_SIZE == 8210
    assert structs.ChannelComm.sizeof() == 83
    assert structs.EventComm.sizeof() == 43


def test_create_session_request_and_reply() -> None:
    req = request_of("create")
    assert req.cmd_type == Command.CREATE_SESSION_EXT
    args = reader.decode_create_session(req)
    assert args.home_dir == "/tmp/cap/home"
    assert args.descriptor == SessionDescriptor(
        type=SessionDescriptorType.REGULAR,
        output_type=SessionDescriptorOutputType.LOCAL,
        name="dup",
    )
    reply = reader.parse_reply(chunks("create")[2][1] + chunks("create")[3][1])
    assert reply.ret_code == ErrorCode.OK and reply.cmd_header == b""
    desc, used = reader.decode_session_descriptor(reply.payload)
    assert used == len(reply.payload)
    assert desc.name == "dup" and desc.uris[0].dtype == 3
    assert desc.uris[0].dst.startswith("/tmp/cap/home/lttng-traces/dup-")
    # Our writer produces the stock daemon's bytes for the same descriptor.
    assert writer.encode_session_descriptor(desc) == reply.payload


def test_create_auto_named_and_with_output() -> None:
    auto = reader.decode_create_session(request_of("autocreate"))
    assert auto.descriptor.name is None
    out = reader.decode_create_session(request_of("createo"))
    assert out.home_dir is None
    assert out.descriptor.uris == (Uri(dtype=3, dst="/tmp/cap/out"),)


def test_error_reply_session_exists() -> None:
    raw = chunks("create2")[2][1]
    reply = reader.parse_reply(raw)
    assert reply.ret_code == ErrorCode.EXIST_SESS
    assert writer.encode_reply(Reply(Command.CREATE_SESSION_EXT, ErrorCode.EXIST_SESS)) == raw


def test_list_sessions_reply_roundtrip() -> None:
    parts = chunks("lists")
    raw = parts[1][1] + parts[2][1]
    reply = reader.parse_reply(raw)
    (info,) = reader.decode_session_list(reply.payload)
    assert info.name == "dup" and not info.enabled
    assert info.path.startswith("/tmp/cap/home/lttng-traces/dup-")
    assert writer.encode_session_list([info]) == reply.payload
    assert writer.encode_reply(reply) == raw


def test_rotation_schedules_and_domains_replies() -> None:
    parts = chunks("lists")
    schedules = reader.parse_reply(parts[4][1] + parts[5][1])
    assert schedules.payload == writer.encode_rotation_schedules()
    domains = reader.parse_reply(parts[7][1])
    assert domains.cmd_type == Command.LIST_DOMAINS and domains.payload == b""


def test_stop_start_destroy_replies() -> None:
    stop = reader.parse_reply(chunks("stop")[1][1])
    assert stop.ret_code == ErrorCode.TRACE_ALREADY_STOPPED
    start = reader.parse_reply(chunks("start")[1][1])
    assert start.ret_code == ErrorCode.NO_CHANNEL
    parts = chunks("destroy")
    pending = reader.parse_reply(parts[6][1] + parts[7][1])
    assert pending.payload == b"\0"
    destroy_raw = parts[9][1] + parts[10][1]
    destroy = reader.parse_reply(destroy_raw)
    assert destroy.cmd_header == writer.encode_destroy_header()
    assert writer.encode_reply(destroy) == destroy_raw
    # `lttng destroy nosuch`: only LIST_SESSIONS is sent; the CLI finds no match itself.
    listing = reader.parse_reply(b"".join(p for _, p in chunks("destroyx")[1:3]))
    assert [s.name for s in reader.decode_session_list(listing.payload)] == ["dup"]


def test_enable_channel_payload() -> None:
    req = request_of("ech")
    assert req.cmd_type == Command.ENABLE_CHANNEL
    assert req.domain.type == DomainType.KERNEL and req.domain.buf_type == BufferType.GLOBAL
    chan, used = reader.decode_channel(req.payload)
    assert used == len(req.payload)
    assert (chan.name, chan.enabled, chan.overwrite) == ("c2", True, -1)
    assert (chan.subbuf_size, chan.num_subbuf, chan.read_timer_interval) == (4096, 4, 200000)
    assert chan.monitor_timer_interval == 1000000
    assert writer.encode_channel(chan) == req.payload
    full, _ = reader.decode_channel(request_of("ech2").payload)
    assert (full.name, full.overwrite, full.subbuf_size, full.num_subbuf) == ("mych", 1, 8192, 8)
    assert (full.switch_timer_interval, full.read_timer_interval, full.output) == (1000, 500, 1)


def test_enable_and_disable_event_payloads() -> None:
    req = request_of("ee")
    assert req.cmd_type == Command.ENABLE_EVENT and req.session_name == "dup"
    assert reader.union_channel_name(req) == ""
    event, used = reader.decode_event(req.payload)
    assert used == len(req.payload)
    assert (event.name, event.type) == ("sched_switch", EventType.TRACEPOINT)
    assert writer.encode_event(event) == req.payload
    dis = request_of("de")
    assert dis.cmd_type == Command.DISABLE_EVENT
    devent, _ = reader.decode_event(dis.payload)
    assert (devent.name, devent.type) == ("sched_switch", EventType.ALL)
    assert writer.encode_event(devent) == dis.payload


def test_request_writer_reproduces_cli_bytes() -> None:
    raw = chunks("stop")[0][1]
    req = request_of("stop")
    rebuilt = writer.encode_request(req.cmd_type, req.session_name, req.domain, req.union)
    assert rebuilt == raw


def test_reader_rejects_oversized_payload_and_handles_partial_input() -> None:
    rd = reader.RequestReader()
    bogus = writer.encode_request(
        Command.ENABLE_CHANNEL, "x", union=(1 << 30).to_bytes(4, "little")
    )
    rd.receive_data(bogus[:100])
    assert rd.next_request() is reader.NEED_DATA
    rd.receive_data(bogus[100:])
    with pytest.raises(ProtocolError) as info:
        rd.next_request()
    assert info.value.cmd_type == Command.ENABLE_CHANNEL


def test_truncated_payloads_raise_protocol_error() -> None:
    payload = request_of("ech").payload
    with pytest.raises(ProtocolError):
        reader.decode_channel(payload[:-2])
    with pytest.raises(ProtocolError):
        reader.decode_event(request_of("ee").payload[:50])
    with pytest.raises(ProtocolError):
        reader.decode_session_descriptor(b"\x09\x01\0\0\0\0\0")
