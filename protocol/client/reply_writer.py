"""Encode a typed reply into what lttng-sessiond 2.13 sends for it: the command header,
the payload and the fds that follow them (client.c, setup_lttng_msg())."""

from __future__ import annotations

from . import replies as r
from . import structs
from .commands import SnapshotOutput
from .constants import NAME_MAX, PATH_MAX, TraceArchiveLocationType
from .writer import (
    _cbytes,
    encode_channel,
    encode_destroy_header,
    encode_domains,
    encode_event,
    encode_list_header,
    encode_rotation_schedules,
    encode_session_descriptor,
    encode_session_list,
)

# The three parts of a reply after struct lttcomm_lttng_msg.
Encoded = tuple[bytes, bytes, tuple[int, ...]]


def _tracker_value(value_type: int, value: int | str) -> bytes:
    if isinstance(value, str):
        name = value.encode() + b"\0"
        return bytes(structs.TrackerValueComm.build(
            {"type": value_type, "value": len(name).to_bytes(8, "little")})) + name
    raw = (value & ((1 << 64) - 1)).to_bytes(8, "little")
    return bytes(structs.TrackerValueComm.build({"type": value_type, "value": raw}))


def _snapshot_output(o: SnapshotOutput) -> bytes:
    return bytes(structs.SnapshotOutputComm.build({
        "id": o.id,
        "max_size": o.max_size,
        "name": _cbytes(o.name, NAME_MAX),
        "ctrl_url": _cbytes(o.ctrl_url, PATH_MAX),
        "data_url": _cbytes(o.data_url, PATH_MAX),
    }))


_RELAY_PROTOCOL_TCP = 0  # enum lttng_trace_archive_location_relay_protocol_type


def _archive_location(where: str | r.RelayLocation) -> bytes:
    """lttng_trace_archive_location_serialize(): a local path, or a relay daemon's host,
    ports and relative path (the strings follow the fixed part, NUL included)."""
    if isinstance(where, str):
        raw = where.encode() + b"\0"
        comm = structs.TraceArchiveLocationComm.build({
            "type": TraceArchiveLocationType.LOCAL,
            "absolute_path_len": len(raw),
            "_relay_rest": bytes(structs.TraceArchiveLocationComm.sizeof() - 5),
        })
        return bytes(comm) + raw
    host = where.host.encode() + b"\0"
    path = where.relative_path.encode() + b"\0"
    rest = _relay_ports(where) + len(path).to_bytes(4, "little")
    comm = structs.TraceArchiveLocationComm.build({
        "type": TraceArchiveLocationType.RELAY,
        "absolute_path_len": len(host),  # the union's hostname_len
        "_relay_rest": rest,
    })
    return bytes(comm) + host + path


def _relay_ports(where: r.RelayLocation) -> bytes:
    return bytes(structs.RelayProtocolPorts.build(
        {"protocol": _RELAY_PROTOCOL_TCP, "control": where.control_port, "data": where.data_port}
    ))


def _rotation_info(state: int, where: str | r.RelayLocation) -> bytes:
    """struct lttng_rotation_get_info_return: the location's union is the local path, or
    the relay's host name, protocol, ports and relative path."""
    if isinstance(where, str):
        union = _cbytes(where, PATH_MAX)
        kind = TraceArchiveLocationType.LOCAL if where else TraceArchiveLocationType.UNKNOWN
    else:
        union = (_cbytes(where.host, structs.HOST_NAME_MAX) + _relay_ports(where)
                 + _cbytes(where.relative_path, PATH_MAX))
        kind = TraceArchiveLocationType.RELAY
    size = structs.RotationGetInfoReturn.sizeof() - 5
    union += bytes(size - len(union))
    return bytes(structs.RotationGetInfoReturn.build({
        "status": state,
        "location_type": kind,
        "absolute_path": union[:PATH_MAX],
        "_relay_rest": union[PATH_MAX:],
    }))


def encode_answer(answer: r.Answer) -> Encoded:
    """The command header, payload and fds of one reply."""
    match answer:
        case r.Done():
            return b"", b"", ()
        case r.SessionCreated(descriptor):
            return b"", encode_session_descriptor(descriptor), ()
        case r.SessionDestroyed(rotation_state, archive_path):
            location = _archive_location(archive_path) if archive_path else b""
            return encode_destroy_header(rotation_state), location, ()
        case r.RotationStarted(rotation_id):
            return b"", bytes(structs.RotateSessionReturn.build({"rotation_id": rotation_id})), ()
        case r.SnapshotOutputAdded(output_id):
            return b"", output_id.to_bytes(4, "little"), ()
        case r.RotationInfo(state, archive_path):
            return b"", _rotation_info(state, archive_path), ()
        case r.DataPendingAnswer(pending):
            return b"", bytes([int(pending)]), ()
        case r.SessionList(sessions):
            return b"", encode_session_list(sessions), ()
        case r.DomainList(domains):
            return b"", encode_domains(domains), ()
        case r.ChannelList(channels):
            body = b"".join(encode_channel(c) for c in channels)
            return encode_list_header(len(channels)), body, ()
        case r.EventList(events, fds):
            body = b"".join(encode_event(e) for e in events)
            return b"", encode_list_header(len(events)) + body, fds
        case r.CatalogueList(events):
            body = b"".join(encode_event(e) for e in events)
            return encode_list_header(len(events)), body, ()
        case r.TrackingPolicyAnswer(policy):
            return b"", policy.to_bytes(4, "little", signed=True), ()
        case r.InclusionSet(values):
            body = b"".join(_tracker_value(kind, v) for kind, v in values)
            return b"", len(values).to_bytes(4, "little") + body, ()
        case r.RotationSchedules(periodic, size):
            return b"", encode_rotation_schedules(periodic, size), ()
        case r.SnapshotOutputList(outputs):
            return b"", b"".join(_snapshot_output(o) for o in outputs), ()
    raise TypeError(f"no encoding for {answer!r}")
