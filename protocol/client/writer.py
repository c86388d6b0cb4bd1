"""Encoding side of the client protocol: replies (daemon side) and requests (client side).

Layouts are in structs.py; the order of the pieces follows the stock lttng-sessiond
(src/bin/lttng-sessiond/client.c, cmd.c) and liblttng-ctl (src/lib/lttng-ctl/lttng-ctl.c).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from . import structs
from .constants import NAME_MAX, PATH_MAX, SYMBOL_NAME_LEN, SessionDescriptorType
from .messages import (
    Channel,
    Domain,
    Event,
    Reply,
    SessionDescriptor,
    SessionInfo,
    Uri,
)


def _cbytes(text: str, size: int) -> bytes:
    """A C char[size] holding `text`, NUL-padded and always NUL-terminated."""
    raw = text.encode()[: size - 1]
    return raw + b"\0" * (size - len(raw))


def _cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def encode_reply(reply: Reply) -> bytes:
    """struct lttcomm_lttng_msg followed by the command header and the payload."""
    head = structs.LttngMsg.build(
        {
            "cmd_type": reply.cmd_type & 0xFFFFFFFF,
            "ret_code": reply.ret_code & 0xFFFFFFFF,
            "pid": reply.pid & 0xFFFFFFFF,
            "cmd_header_size": len(reply.cmd_header),
            "data_size": len(reply.payload),
            "fd_count": reply.fd_count,
        }
    )
    return bytes(head) + reply.cmd_header + reply.payload


def encode_domain(domain: Domain) -> bytes:
    attr = domain.pid.to_bytes(4, "little", signed=True) + b"\0" * (SYMBOL_NAME_LEN + 28)
    return bytes(
        structs.LttngDomain.build(
            {"type": domain.type, "buf_type": domain.buf_type, "padding": b"\0" * 12, "attr": attr}
        )
    )


def encode_domains(domains: Iterable[Domain]) -> bytes:
    """LTTNG_LIST_DOMAINS payload: an array of struct lttng_domain."""
    return b"".join(encode_domain(d) for d in domains)


def encode_session_list(sessions: Sequence[SessionInfo]) -> bytes:
    """LTTNG_LIST_SESSIONS payload (client.c): all lttng_session, then all extended."""
    base = b"".join(
        structs.LttngSession.build(
            {
                "name": _cbytes(s.name, NAME_MAX),
                "_align": b"\0",
                "path": _cbytes(s.path, PATH_MAX),
                "enabled": int(s.enabled),
                "snapshot_mode": int(s.snapshot_mode),
                "live_timer_interval": s.live_timer_interval,
                "alignment_padding": b"\0" * 4,
                "extended": b"\0" * 8,
            }
        )
        for s in sessions
    )
    extended = b"".join(
        structs.LttngSessionExtended.build(
            {
                "creation_time_value": s.creation_time or 0,
                "creation_time_is_set": int(s.creation_time is not None),
            }
        )
        for s in sessions
    )
    return base + extended


def encode_channel(channel: Channel) -> bytes:
    """lttng_channel_serialize() (src/common/channel.c)."""
    name = _cstr(channel.name)
    head = structs.ChannelComm.build(
        {
            "name_len": len(name),
            "enabled": int(channel.enabled),
            "overwrite": channel.overwrite,
            "subbuf_size": channel.subbuf_size,
            "num_subbuf": channel.num_subbuf,
            "switch_timer_interval": channel.switch_timer_interval,
            "read_timer_interval": channel.read_timer_interval,
            "output": channel.output,
            "tracefile_size": channel.tracefile_size,
            "tracefile_count": channel.tracefile_count,
            "live_timer_interval": channel.live_timer_interval,
            "discarded_events": channel.discarded_events,
            "lost_packets": channel.lost_packets,
            "monitor_timer_interval": channel.monitor_timer_interval,
            "blocking_timeout": channel.blocking_timeout,
        }
    )
    return bytes(head) + name


def encode_event(event: Event) -> bytes:
    """lttng_event_serialize() (src/common/event.c)."""
    name = _cstr(event.name)
    exclusions = b"".join(
        structs.EventExclusionComm.build({"len": len(_cstr(x))}) + _cstr(x)
        for x in event.exclusions
    )
    filter_raw = _cstr(event.filter_expression) if event.filter_expression is not None else b""
    probe_raw = b""
    if event.probe is not None:
        sym = _cstr(event.probe.symbol_name)
        probe_raw = (
            structs.EventProbeAttrComm.build(
                {
                    "addr": event.probe.addr,
                    "offset": event.probe.offset,
                    "symbol_name_len": len(sym),
                }
            )
            + sym
        )
    function_raw = b""
    if event.function_symbol is not None:
        sym = _cstr(event.function_symbol)
        function_raw = structs.EventFunctionAttrComm.build({"symbol_name_len": len(sym)}) + sym
    head = structs.EventComm.build(
        {
            "event_type": event.type,
            "loglevel_type": event.loglevel_type,
            "loglevel": event.loglevel,
            "enabled": event.enabled,
            "pid": event.pid,
            "flags": event.flags,
            "name_len": len(name),
            "exclusion_count": len(event.exclusions),
            "filter_expression_len": len(filter_raw),
            "bytecode_len": len(event.bytecode),
            "userspace_probe_location_len": len(event.userspace_probe_location),
            "lttng_event_probe_attr_len": len(probe_raw),
            "lttng_event_function_attr_len": len(function_raw),
        }
    )
    return (
        bytes(head)
        + name
        + exclusions
        + filter_raw
        + event.bytecode
        + event.userspace_probe_location
        + probe_raw
        + function_raw
    )


def encode_list_header(count: int) -> bytes:
    """struct lttcomm_list_command_header."""
    return bytes(structs.ListCommandHeader.build({"count": count}))


def encode_uri(uri: Uri) -> bytes:
    return bytes(
        structs.LttngUri.build(
            {
                "dtype": uri.dtype,
                "utype": uri.utype,
                "stype": uri.stype,
                "proto": uri.proto,
                "port": uri.port,
                "subdir": _cbytes(uri.subdir, PATH_MAX),
                "dst": _cbytes(uri.dst, PATH_MAX),
            }
        )
    )


def encode_session_descriptor(descriptor: SessionDescriptor) -> bytes:
    """lttng_session_descriptor_serialize() (src/common/session-descriptor.c)."""
    name = _cstr(descriptor.name) if descriptor.name is not None else b""
    out = bytes(
        structs.SessionDescriptorComm.build(
            {
                "type": descriptor.type,
                "output_type": descriptor.output_type,
                "name_len": len(name),
                "uri_count": len(descriptor.uris),
            }
        )
    )
    if descriptor.type == SessionDescriptorType.LIVE:
        out += structs.SessionDescriptorLiveExtra.build(
            {"live_timer_us": descriptor.live_timer_us or 0}
        )
    return out + name + b"".join(encode_uri(u) for u in descriptor.uris)


def encode_rotation_schedules(periodic: int | None = None, size: int | None = None) -> bytes:
    """struct lttng_session_list_schedules_return (rotate-internal.h)."""
    return bytes(
        structs.ListRotationSchedulesReturn.build(
            {
                "periodic_set": int(bool(periodic)),
                "periodic_value": periodic or 0,
                "size_set": int(bool(size)),
                "size_value": size or 0,
            }
        )
    )


def encode_destroy_header(rotation_state: int = 0) -> bytes:
    """struct lttcomm_session_destroy_command_header (LTTNG_ROTATION_STATE_NO_ROTATION)."""
    return bytes(structs.DestroyCommandHeader.build({"rotation_state": rotation_state}))


def encode_request(
    cmd_type: int,
    session_name: str = "",
    domain: Domain | None = None,
    union: bytes = b"",
    payload: bytes = b"",
    fd_count: int = 0,
) -> bytes:
    """A client request as lttng-ctl.c sends it: session message then variable data."""
    domain = domain or Domain()
    session = structs.LttngSession.build(
        {
            "name": _cbytes(session_name, NAME_MAX),
            "_align": b"\0",
            "path": b"\0" * PATH_MAX,
            "enabled": 0,
            "snapshot_mode": 0,
            "live_timer_interval": 0,
            "alignment_padding": b"\0" * 4,
            "extended": b"\0" * 8,
        }
    )
    if len(union) > structs.SESSION_MSG_UNION_SIZE:
        raise ValueError("union too large")
    msg = (
        (cmd_type & 0xFFFFFFFF).to_bytes(4, "little")
        + bytes(session)
        + encode_domain(domain)
        + union.ljust(structs.SESSION_MSG_UNION_SIZE, b"\0")
        + fd_count.to_bytes(4, "little")
    )
    return msg + payload
