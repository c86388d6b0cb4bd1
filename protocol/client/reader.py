"""Decoding side of the client protocol: a sans-I/O request reader plus payload decoders.

`RequestReader` is fed raw bytes from the client socket and hands back a complete
`Request` once the fixed `struct lttcomm_session_msg` and the variable-length data the
command announces have arrived (lttng-ctl.c sends them back to back on one connection).
"""

from __future__ import annotations

import enum
from typing import Final

from construct import ConstructError

from . import structs
from .constants import Command, EventContextType, SessionDescriptorType
from .errors import ProtocolError
from .messages import (
    Channel,
    CreateSessionArgs,
    Domain,
    Event,
    EventContext,
    ProbeAttr,
    Reply,
    Request,
    SessionDescriptor,
    SessionInfo,
    Uri,
)

# Largest variable payload accepted: sessiond-comm.h caps filters and descriptors at
# 64 KiB; triggers and URIs stay well below 1 MiB.
MAX_PAYLOAD: Final = 1 << 20


class NeedData(enum.Enum):
    """Returned by `RequestReader.next_request` until a whole request is buffered."""

    NEED_DATA = enum.auto()


NEED_DATA: Final = NeedData.NEED_DATA


def cstr(raw: bytes) -> str:
    """Decode a NUL-terminated (or NUL-padded) C string."""
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    return raw.decode("utf-8", "replace")


def payload_length(cmd_type: int, union: bytes) -> int:
    """How many bytes of variable data follow the session message of this command.

    Which union member carries the length comes from lttng-ctl.c (the sender) and
    client.c / cmd.c (the stock receiver).
    """
    if cmd_type == Command.ENABLE_CHANNEL:
        length = int(structs.UnionChannelLength.parse(union).length)
    elif cmd_type in (Command.ENABLE_EVENT, Command.DISABLE_EVENT, Command.ADD_CONTEXT):
        length = int(structs.UnionEnable.parse(union).length)
    elif cmd_type == Command.CREATE_SESSION_EXT:
        create = structs.UnionCreateSession.parse(union)
        length = int(create.home_dir_size) + int(create.session_descriptor_size)
    elif cmd_type == Command.SET_CONSUMER_URI:
        length = int(structs.UnionUri.parse(union).size) * structs.URI_SIZE
    elif cmd_type in (
        Command.PROCESS_ATTR_TRACKER_ADD_INCLUDE_VALUE,
        Command.PROCESS_ATTR_TRACKER_REMOVE_INCLUDE_VALUE,
    ):
        length = int(structs.UnionProcessAttrValue.parse(union).name_len)
    elif cmd_type in (Command.REGISTER_TRIGGER, Command.UNREGISTER_TRIGGER):
        length = int(structs.UnionTrigger.parse(union).length)
    elif cmd_type == Command.EXECUTE_ERROR_QUERY:
        length = int(structs.UnionErrorQuery.parse(union).length)
    else:
        length = 0
    if length > MAX_PAYLOAD:
        raise ProtocolError(f"command {cmd_type} announces {length} bytes of payload", cmd_type)
    return length


def parse_session_msg(raw: bytes) -> tuple[Request, int]:
    """Decode one `struct lttcomm_session_msg`; returns it and its payload length."""
    if len(raw) != structs.SESSION_MSG_SIZE:
        raise ProtocolError(f"session message is {len(raw)} bytes, not {structs.SESSION_MSG_SIZE}")
    msg = structs.SessionMsg.parse(raw)
    dom = msg.domain
    request = Request(
        cmd_type=int(msg.cmd_type),
        session_name=cstr(bytes(msg.session.name)),
        domain=Domain(
            type=int(dom.type),
            buf_type=int(dom.buf_type),
            pid=int.from_bytes(bytes(dom.attr)[:4], "little", signed=True),
        ),
        union=bytes(msg.u),
        fd_count=int(msg.fd_count),
    )
    return request, payload_length(request.cmd_type, request.union)


class RequestReader:
    """Accumulates client bytes and yields whole requests (one per connection in practice)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending: tuple[Request, int] | None = None

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def bytes_wanted(self) -> int:
        """Bytes still missing for the current request (never 0 while incomplete)."""
        if self._pending is None:
            return max(int(structs.SESSION_MSG_SIZE) - len(self._buffer), 1)
        return max(self._pending[1] - len(self._buffer), 1)

    def next_request(self) -> Request | NeedData:
        """Return the next complete request or NEED_DATA; raises ProtocolError."""
        if self._pending is None:
            if len(self._buffer) < structs.SESSION_MSG_SIZE:
                return NEED_DATA
            head = bytes(self._buffer[: structs.SESSION_MSG_SIZE])
            del self._buffer[: structs.SESSION_MSG_SIZE]
            self._pending = parse_session_msg(head)
        request, length = self._pending
        if len(self._buffer) < length:
            return NEED_DATA
        payload = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._pending = None
        return Request(
            cmd_type=request.cmd_type,
            session_name=request.session_name,
            domain=request.domain,
            union=request.union,
            fd_count=request.fd_count,
            payload=payload,
        )


def _take(buf: bytes, offset: int, size: int, what: str) -> bytes:
    if size < 0 or offset + size > len(buf):
        raise ProtocolError(f"truncated {what}")
    return buf[offset : offset + size]


def _parse(struct: object, buf: bytes, offset: int, what: str) -> object:
    size = int(struct.sizeof())  # type: ignore[attr-defined]
    try:
        return struct.parse(_take(buf, offset, size, what))  # type: ignore[attr-defined]
    except ConstructError as exc:  # pragma: no cover - sizes are checked above
        raise ProtocolError(f"bad {what}: {exc}") from exc


def _name(buf: bytes, offset: int, length: int, what: str) -> str:
    raw = _take(buf, offset, length, what)
    if length == 0 or raw[-1] != 0:
        raise ProtocolError(f"{what} is not NUL-terminated")
    return cstr(raw)


def decode_channel(buf: bytes, offset: int = 0) -> tuple[Channel, int]:
    """Decode one lttng_channel_comm + name (channel.c); returns it and bytes used."""
    comm = _parse(structs.ChannelComm, buf, offset, "channel")
    size = structs.ChannelComm.sizeof()
    name_len = int(comm.name_len)  # type: ignore[attr-defined]
    name = _name(buf, offset + size, name_len, "channel name")
    c = comm
    channel = Channel(
        name=name,
        enabled=bool(c.enabled),  # type: ignore[attr-defined]
        overwrite=int(c.overwrite),  # type: ignore[attr-defined]
        subbuf_size=int(c.subbuf_size),  # type: ignore[attr-defined]
        num_subbuf=int(c.num_subbuf),  # type: ignore[attr-defined]
        switch_timer_interval=int(c.switch_timer_interval),  # type: ignore[attr-defined]
        read_timer_interval=int(c.read_timer_interval),  # type: ignore[attr-defined]
        output=int(c.output),  # type: ignore[attr-defined]
        tracefile_size=int(c.tracefile_size),  # type: ignore[attr-defined]
        tracefile_count=int(c.tracefile_count),  # type: ignore[attr-defined]
        live_timer_interval=int(c.live_timer_interval),  # type: ignore[attr-defined]
        discarded_events=int(c.discarded_events),  # type: ignore[attr-defined]
        lost_packets=int(c.lost_packets),  # type: ignore[attr-defined]
        monitor_timer_interval=int(c.monitor_timer_interval),  # type: ignore[attr-defined]
        blocking_timeout=int(c.blocking_timeout),  # type: ignore[attr-defined]
    )
    return channel, size + name_len


def decode_event(buf: bytes, offset: int = 0) -> tuple[Event, int]:
    """Decode one lttng_event_comm and its payload (event.c); returns it and bytes used."""
    start = offset
    c = _parse(structs.EventComm, buf, offset, "event")
    offset += structs.EventComm.sizeof()
    name_len = int(c.name_len)  # type: ignore[attr-defined]
    name = _name(buf, offset, name_len, "event name")
    offset += name_len
    exclusions: list[str] = []
    for _ in range(int(c.exclusion_count)):  # type: ignore[attr-defined]
        ex = _parse(structs.EventExclusionComm, buf, offset, "exclusion")
        offset += structs.EventExclusionComm.sizeof()
        ex_len = int(ex.len)  # type: ignore[attr-defined]
        exclusions.append(_name(buf, offset, ex_len, "exclusion name"))
        offset += ex_len
    filter_expression: str | None = None
    filter_len = int(c.filter_expression_len)  # type: ignore[attr-defined]
    if filter_len:
        filter_expression = _name(buf, offset, filter_len, "filter expression")
        offset += filter_len
    bytecode_len = int(c.bytecode_len)  # type: ignore[attr-defined]
    bytecode = _take(buf, offset, bytecode_len, "bytecode")
    offset += bytecode_len
    location_len = int(c.userspace_probe_location_len)  # type: ignore[attr-defined]
    location = _take(buf, offset, location_len, "userspace probe location")
    offset += location_len
    probe: ProbeAttr | None = None
    probe_len = int(c.lttng_event_probe_attr_len)  # type: ignore[attr-defined]
    if probe_len:
        p = _parse(structs.EventProbeAttrComm, buf, offset, "probe attributes")
        sym_len = int(p.symbol_name_len)  # type: ignore[attr-defined]
        sym_at = offset + structs.EventProbeAttrComm.sizeof()
        probe = ProbeAttr(
            addr=int(p.addr),  # type: ignore[attr-defined]
            offset=int(p.offset),  # type: ignore[attr-defined]
            symbol_name=_name(buf, sym_at, sym_len, "probe symbol"),
        )
        offset += probe_len
    function_symbol: str | None = None
    function_len = int(c.lttng_event_function_attr_len)  # type: ignore[attr-defined]
    if function_len:
        f = _parse(structs.EventFunctionAttrComm, buf, offset, "function attributes")
        sym_at = offset + structs.EventFunctionAttrComm.sizeof()
        function_symbol = _name(buf, sym_at, int(f.symbol_name_len), "function symbol")  # type: ignore[attr-defined]
        offset += function_len
    event = Event(
        name=name,
        type=int(c.event_type),  # type: ignore[attr-defined]
        loglevel_type=int(c.loglevel_type),  # type: ignore[attr-defined]
        loglevel=int(c.loglevel),  # type: ignore[attr-defined]
        enabled=int(c.enabled),  # type: ignore[attr-defined]
        pid=int(c.pid),  # type: ignore[attr-defined]
        flags=int(c.flags),  # type: ignore[attr-defined]
        filter_expression=filter_expression,
        exclusions=exclusions,
        bytecode=bytecode,
        userspace_probe_location=location,
        probe=probe,
        function_symbol=function_symbol,
    )
    return event, offset - start


_PERF_CONTEXTS = (
    EventContextType.PERF_COUNTER,
    EventContextType.PERF_CPU_COUNTER,
    EventContextType.PERF_THREAD_COUNTER,
)


def decode_context(buf: bytes, offset: int = 0) -> tuple[EventContext, int]:
    """Decode a serialized lttng_event_context (event.c); returns it and bytes used."""
    start = offset
    head = _parse(structs.EventContextComm, buf, offset, "context")
    offset += structs.EventContextComm.sizeof()
    ctx = int(head.type)  # type: ignore[attr-defined]
    if ctx in _PERF_CONTEXTS:
        p = _parse(structs.EventContextPerfCounterComm, buf, offset, "perf counter context")
        offset += structs.EventContextPerfCounterComm.sizeof()
        name_len = int(p.name_len)  # type: ignore[attr-defined]
        name = _name(buf, offset, name_len, "perf counter name")
        offset += name_len
        context = EventContext(
            ctx=ctx,
            perf_type=int(p.type),  # type: ignore[attr-defined]
            perf_config=int(p.config),  # type: ignore[attr-defined]
            perf_name=name,
        )
    elif ctx == EventContextType.APP_CONTEXT:
        a = _parse(structs.EventContextAppComm, buf, offset, "application context")
        offset += structs.EventContextAppComm.sizeof()
        provider_len = int(a.provider_name_len)  # type: ignore[attr-defined]
        provider = _name(buf, offset, provider_len, "context provider name")
        offset += provider_len
        name_len = int(a.ctx_name_len)  # type: ignore[attr-defined]
        name = _name(buf, offset, name_len, "context name")
        offset += name_len
        context = EventContext(ctx=ctx, app_provider=provider, app_name=name)
    else:
        context = EventContext(ctx=ctx)
    return context, offset - start


def decode_uri(buf: bytes, offset: int = 0) -> Uri:
    u = _parse(structs.LttngUri, buf, offset, "uri")
    return Uri(
        dtype=int(u.dtype),  # type: ignore[attr-defined]
        utype=int(u.utype),  # type: ignore[attr-defined]
        stype=int(u.stype),  # type: ignore[attr-defined]
        proto=int(u.proto),  # type: ignore[attr-defined]
        port=int(u.port),  # type: ignore[attr-defined]
        subdir=cstr(bytes(u.subdir)),  # type: ignore[attr-defined]
        dst=cstr(bytes(u.dst)),  # type: ignore[attr-defined]
    )


def decode_session_descriptor(buf: bytes, offset: int = 0) -> tuple[SessionDescriptor, int]:
    """Decode a serialized lttng_session_descriptor (session-descriptor.c)."""
    start = offset
    base = _parse(structs.SessionDescriptorComm, buf, offset, "session descriptor")
    offset += structs.SessionDescriptorComm.sizeof()
    dtype = int(base.type)  # type: ignore[attr-defined]
    if dtype not in (t.value for t in SessionDescriptorType):
        raise ProtocolError(f"unknown session descriptor type {dtype}")
    live_timer_us: int | None = None
    if dtype == SessionDescriptorType.LIVE:
        live = _parse(structs.SessionDescriptorLiveExtra, buf, offset, "live descriptor")
        live_timer_us = int(live.live_timer_us)  # type: ignore[attr-defined]
        offset += structs.SessionDescriptorLiveExtra.sizeof()
    output_type = int(base.output_type)  # type: ignore[attr-defined]
    uri_count = int(base.uri_count)  # type: ignore[attr-defined]
    if output_type > 2 or uri_count > output_type:
        raise ProtocolError("session descriptor has an invalid output")
    name_len = int(base.name_len)  # type: ignore[attr-defined]
    name: str | None = None
    if name_len:
        name = _name(buf, offset, name_len, "session name")
        offset += name_len
    uris = []
    for _ in range(uri_count):
        uris.append(decode_uri(buf, offset))
        offset += structs.URI_SIZE
    descriptor = SessionDescriptor(
        type=dtype,
        output_type=output_type,
        name=name,
        uris=tuple(uris),
        live_timer_us=live_timer_us,
    )
    return descriptor, offset - start


def decode_create_session(request: Request) -> CreateSessionArgs:
    """Split the LTTNG_CREATE_SESSION_EXT payload into home dir and descriptor (lttng-ctl.c)."""
    create = structs.UnionCreateSession.parse(request.union)
    home_size = int(create.home_dir_size)
    home_dir: str | None = None
    if home_size:
        home_dir = _name(request.payload, 0, home_size, "home directory")
    descriptor, used = decode_session_descriptor(request.payload, home_size)
    if used != int(create.session_descriptor_size):
        raise ProtocolError("session descriptor size mismatch")
    return CreateSessionArgs(home_dir=home_dir, descriptor=descriptor)


def union_channel_name(request: Request) -> str:
    """`u.enable.channel_name` / `u.disable.channel_name` / `u.list.channel_name`."""
    return cstr(bytes(structs.UnionList.parse(request.union).channel_name))


def union_process_attr(request: Request) -> int:
    return int(structs.UnionProcessAttr.parse(request.union).process_attr)


# --- client-side decoding, used to check replies (tests, tools) ---------------------------


def parse_reply(raw: bytes) -> Reply:
    """Decode a whole reply: lttcomm_lttng_msg, command header, payload."""
    head = _parse(structs.LttngMsg, raw, 0, "reply header")
    at = structs.LTTNG_MSG_SIZE
    header_size = int(head.cmd_header_size)  # type: ignore[attr-defined]
    data_size = int(head.data_size)  # type: ignore[attr-defined]
    cmd_header = _take(raw, at, header_size, "reply command header")
    payload = _take(raw, at + header_size, data_size, "reply payload")
    return Reply(
        cmd_type=int(head.cmd_type),  # type: ignore[attr-defined]
        ret_code=int(head.ret_code),  # type: ignore[attr-defined]
        pid=int(head.pid),  # type: ignore[attr-defined]
        cmd_header=cmd_header,
        payload=payload,
    )  # (the fds of head.fd_count come after the bytes, through the socket)


def decode_session_list(payload: bytes) -> list[SessionInfo]:
    """LTTNG_LIST_SESSIONS payload: N lttng_session then N lttng_session_extended."""
    entry = structs.SESSION_SIZE + structs.LttngSessionExtended.sizeof()
    if len(payload) % entry:
        raise ProtocolError("session list has a partial entry")
    count = len(payload) // entry
    sessions = []
    for i in range(count):
        s = _parse(structs.LttngSession, payload, i * structs.SESSION_SIZE, "session")
        ext_at = count * structs.SESSION_SIZE + i * structs.LttngSessionExtended.sizeof()
        ext = _parse(structs.LttngSessionExtended, payload, ext_at, "session extended")
        sessions.append(
            SessionInfo(
                name=cstr(bytes(s.name)),  # type: ignore[attr-defined]
                path=cstr(bytes(s.path)),  # type: ignore[attr-defined]
                enabled=bool(s.enabled),  # type: ignore[attr-defined]
                snapshot_mode=bool(s.snapshot_mode),  # type: ignore[attr-defined]
                live_timer_interval=int(s.live_timer_interval),  # type: ignore[attr-defined]
                creation_time=(
                    int(ext.creation_time_value)  # type: ignore[attr-defined]
                    if ext.creation_time_is_set  # type: ignore[attr-defined]
                    else None
                ),
            )
        )
    return sessions
