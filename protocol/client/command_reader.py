"""Turn a whole `Request` into its typed command: every union view and payload decoded once.

The per-command decoding follows what process_client_msg() (src/bin/lttng-sessiond/
client.c, lttng-tools 2.13) reads for each command. Anything inconsistent raises
ProtocolError, which the daemon answers with LTTNG_ERR_INVALID_PROTOCOL.
"""

from __future__ import annotations

from collections.abc import Callable

from construct import ConstructError

from . import commands as c
from . import structs
from .constants import Command, EventType
from .errors import ProtocolError
from .messages import Request
from .reader import (
    cstr,
    decode_channel,
    decode_context,
    decode_create_session,
    decode_event,
    decode_uri,
    union_channel_name,
)
from .userspace_probe import decode_location

# lttng_process_attr_value_type: the names that carry a string payload, not an id.
_NAME_VALUE_TYPES = (2, 4)  # USER_NAME, GROUP_NAME
_PID_VALUE_TYPE = 0
# sysconf(_SC_LOGIN_NAME_MAX) on Linux: the longest user/group name a tracker accepts.
LOGIN_NAME_MAX = 256


def _whole(used: int, request: Request, what: str) -> None:
    if used != len(request.payload):
        raise ProtocolError(f"{what}: {len(request.payload) - used} stray payload bytes")


def _create(r: Request) -> c.ClientCommand:
    return c.CreateSession(r.session_name, r.domain, decode_create_session(r))


def _enable_channel(r: Request) -> c.ClientCommand:
    channel, used = decode_channel(r.payload)
    _whole(used, r, "channel")
    return c.EnableChannel(r.session_name, r.domain, channel)


def _enable_event(r: Request) -> c.ClientCommand:
    event, used = decode_event(r.payload)
    _whole(used, r, "event")
    location = None
    if event.type == EventType.USERSPACE_PROBE:
        location = decode_location(event.userspace_probe_location)
    return c.EnableEvent(r.session_name, r.domain, union_channel_name(r), event, location, r.fds)


def _disable_event(r: Request) -> c.ClientCommand:
    event, used = decode_event(r.payload)
    _whole(used, r, "event")
    return c.DisableEvent(r.session_name, r.domain, union_channel_name(r), event)


def _add_context(r: Request) -> c.ClientCommand:
    context, used = decode_context(r.payload)
    _whole(used, r, "context")
    return c.AddContext(r.session_name, r.domain, union_channel_name(r), context)


def _set_consumer_uri(r: Request) -> c.ClientCommand:
    count = len(r.payload) // structs.URI_SIZE
    uris = tuple(decode_uri(r.payload, i * structs.URI_SIZE) for i in range(count))
    _whole(count * structs.URI_SIZE, r, "URIs")
    return c.SetConsumerUri(r.session_name, r.domain, uris)


def _tracker_value(r: Request) -> c.ClientCommand:
    u = structs.UnionProcessAttrValue.parse(r.union)
    value: int | str
    if int(u.value_type) in _NAME_VALUE_TYPES:
        if not 0 < len(r.payload) <= LOGIN_NAME_MAX or r.payload[-1] != 0:
            raise ProtocolError("tracker value name is not a NUL-terminated login name")
        value = cstr(r.payload)
    else:
        _whole(0, r, "tracker value")
        value = int(u.integral_value)
        if int(u.value_type) == _PID_VALUE_TYPE and value >= 1 << 63:
            value -= 1 << 64  # pids travel in the union's int64_t member, ids in its uint64_t
    add = r.cmd_type == Command.PROCESS_ATTR_TRACKER_ADD_INCLUDE_VALUE
    return c.TrackerChangeValue(
        r.session_name, r.domain, add, int(u.process_attr), int(u.value_type), value
    )


def _snapshot_output(raw: object) -> c.SnapshotOutput:
    return c.SnapshotOutput(
        id=int(raw.id),  # type: ignore[attr-defined]
        max_size=int(raw.max_size),  # type: ignore[attr-defined]
        name=cstr(bytes(raw.name)),  # type: ignore[attr-defined]
        ctrl_url=cstr(bytes(raw.ctrl_url)),  # type: ignore[attr-defined]
        data_url=cstr(bytes(raw.data_url)),  # type: ignore[attr-defined]
    )


def _snapshot_record(r: Request) -> c.ClientCommand:
    u = structs.UnionSnapshotRecord.parse(r.union)
    return c.SnapshotRecord(r.session_name, r.domain, _snapshot_output(u.output), bool(u.wait))


def _snapshot_output_command(kind: type[c.SnapshotAddOutput | c.SnapshotDelOutput]
                             ) -> Callable[[Request], c.ClientCommand]:
    def decode(r: Request) -> c.ClientCommand:
        output = _snapshot_output(structs.UnionSnapshotOutput.parse(r.union).output)
        return kind(r.session_name, r.domain, output)

    return decode


def _save(r: Request) -> c.ClientCommand:
    u = structs.UnionSaveSession.parse(r.union)
    return c.SaveSession(
        r.session_name,
        r.domain,
        save_name=cstr(bytes(u.session_name)),
        url=cstr(bytes(u.configuration_url)),
        overwrite=bool(u.overwrite),
        omit_name=bool(u.omit_name),
        omit_output=bool(u.omit_output),
    )


def _rotation_schedule(r: Request) -> c.ClientCommand:
    u = structs.UnionRotationSetSchedule.parse(r.union)
    return c.RotationSetSchedule(r.session_name, r.domain, int(u.type), bool(u.set), int(u.value))


def _trigger(r: Request) -> c.ClientCommand:
    return c.TriggerCommand(r.session_name, r.domain, r.cmd_type, r.payload)


def _plain(kind: type[c.ClientCommand]) -> Callable[[Request], c.ClientCommand]:
    return lambda r: kind(r.session_name, r.domain)


_Decoder = Callable[[Request], c.ClientCommand]

_DECODERS: dict[int, _Decoder] = {
    Command.ADD_CONTEXT: _add_context,
    Command.DISABLE_CHANNEL: lambda r: c.DisableChannel(
        r.session_name, r.domain, union_channel_name(r)
    ),
    Command.DISABLE_EVENT: _disable_event,
    Command.LIST_SYSCALLS: _plain(c.ListSyscalls),
    Command.ENABLE_CHANNEL: _enable_channel,
    Command.ENABLE_EVENT: _enable_event,
    Command.DESTROY_SESSION: _plain(c.DestroySession),
    Command.LIST_CHANNELS: _plain(c.ListChannels),
    Command.LIST_DOMAINS: _plain(c.ListDomains),
    Command.LIST_EVENTS: lambda r: c.ListEvents(r.session_name, r.domain, union_channel_name(r)),
    Command.LIST_SESSIONS: _plain(c.ListSessions),
    Command.LIST_TRACEPOINTS: _plain(c.ListTracepoints),
    Command.START_TRACE: _plain(c.StartTrace),
    Command.STOP_TRACE: _plain(c.StopTrace),
    Command.LIST_TRACEPOINT_FIELDS: _plain(c.ListTracepointFields),
    Command.SET_CONSUMER_URI: _set_consumer_uri,
    Command.DATA_PENDING: _plain(c.DataPending),
    Command.SNAPSHOT_ADD_OUTPUT: _snapshot_output_command(c.SnapshotAddOutput),
    Command.SNAPSHOT_DEL_OUTPUT: _snapshot_output_command(c.SnapshotDelOutput),
    Command.SNAPSHOT_LIST_OUTPUT: _plain(c.SnapshotListOutput),
    Command.SNAPSHOT_RECORD: _snapshot_record,
    Command.SAVE_SESSION: _save,
    Command.PROCESS_ATTR_TRACKER_ADD_INCLUDE_VALUE: _tracker_value,
    Command.PROCESS_ATTR_TRACKER_REMOVE_INCLUDE_VALUE: _tracker_value,
    Command.PROCESS_ATTR_TRACKER_GET_POLICY: lambda r: c.TrackerGetPolicy(
        r.session_name, r.domain, int(structs.UnionProcessAttr.parse(r.union).process_attr)
    ),
    Command.PROCESS_ATTR_TRACKER_SET_POLICY: lambda r: c.TrackerSetPolicy(
        r.session_name,
        r.domain,
        int(structs.UnionProcessAttrSetPolicy.parse(r.union).process_attr),
        int(structs.UnionProcessAttrSetPolicy.parse(r.union).tracking_policy),
    ),
    Command.PROCESS_ATTR_TRACKER_GET_INCLUSION_SET: lambda r: c.TrackerGetInclusionSet(
        r.session_name, r.domain, int(structs.UnionProcessAttr.parse(r.union).process_attr)
    ),
    Command.SET_SESSION_SHM_PATH: lambda r: c.SetSessionShmPath(
        r.session_name, r.domain, cstr(bytes(structs.UnionSetShmPath.parse(r.union).shm_path))
    ),
    Command.REGENERATE_METADATA: _plain(c.RegenerateMetadata),
    Command.REGENERATE_STATEDUMP: _plain(c.RegenerateStatedump),
    Command.REGISTER_CONSUMER: lambda r: c.RegisterConsumer(
        r.session_name, r.domain, cstr(bytes(structs.UnionRegisterConsumer.parse(r.union).path))
    ),
    Command.REGISTER_TRIGGER: _trigger,
    Command.UNREGISTER_TRIGGER: _trigger,
    Command.ROTATE_SESSION: _plain(c.RotateSession),
    Command.ROTATION_GET_INFO: lambda r: c.RotationGetInfo(
        r.session_name, r.domain, int(structs.UnionGetRotationInfo.parse(r.union).rotation_id)
    ),
    Command.ROTATION_SET_SCHEDULE: _rotation_schedule,
    Command.SESSION_LIST_ROTATION_SCHEDULES: _plain(c.ListRotationSchedules),
    Command.CREATE_SESSION_EXT: _create,
    Command.CLEAR_SESSION: _plain(c.ClearSession),
    Command.LIST_TRIGGERS: _trigger,
    Command.EXECUTE_ERROR_QUERY: _trigger,
}


def read_command(request: Request) -> c.ClientCommand:
    """The typed command of a request; raises ProtocolError if it is inconsistent."""
    decode = _DECODERS.get(request.cmd_type)
    if decode is None:
        return c.UnknownCommand(request.session_name, request.domain, request.cmd_type)
    try:
        return decode(request)
    except ConstructError as exc:
        raise ProtocolError(f"bad command {request.cmd_type}: {exc}", request.cmd_type) from exc
