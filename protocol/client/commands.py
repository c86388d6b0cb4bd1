"""Typed client commands: what a request asks for, decoded once by `command_reader`.

One class per enum lttcomm_sessiond_command value (sessiond-comm.h, lttng-tools 2.13),
holding every variable-length part already decoded, so that no handler reads bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .messages import Channel, CreateSessionArgs, Domain, Event, EventContext, Uri
from .userspace_probe import UserspaceProbeLocation


@dataclass(frozen=True)
class ClientCommand:
    """The parts of struct lttcomm_session_msg every command carries."""

    session_name: str
    domain: Domain


@dataclass(frozen=True)
class UnknownCommand(ClientCommand):
    """A number process_client_msg() has no case for (LTTNG_ERR_UND)."""

    cmd_type: int = -1


@dataclass(frozen=True)
class RegisterConsumer(ClientCommand):
    """lttng_register_consumer(): a consumer daemon socket of the caller's."""

    path: str


# --- sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateSession(ClientCommand):
    args: CreateSessionArgs


@dataclass(frozen=True)
class DestroySession(ClientCommand):
    pass


@dataclass(frozen=True)
class StartTrace(ClientCommand):
    pass


@dataclass(frozen=True)
class StopTrace(ClientCommand):
    pass


@dataclass(frozen=True)
class DataPending(ClientCommand):
    pass


@dataclass(frozen=True)
class SetConsumerUri(ClientCommand):
    uris: tuple[Uri, ...]


@dataclass(frozen=True)
class SetSessionShmPath(ClientCommand):
    shm_path: str


# --- channels, events and contexts -------------------------------------------------------


@dataclass(frozen=True)
class EnableChannel(ClientCommand):
    channel: Channel


@dataclass(frozen=True)
class DisableChannel(ClientCommand):
    channel_name: str


@dataclass(frozen=True)
class EnableEvent(ClientCommand):
    channel_name: str
    event: Event
    # A user-space probe's location, and the binary's fd sent beside the request.
    location: UserspaceProbeLocation | None = None
    fds: tuple[int, ...] = ()


@dataclass(frozen=True)
class DisableEvent(ClientCommand):
    channel_name: str
    event: Event


@dataclass(frozen=True)
class AddContext(ClientCommand):
    channel_name: str
    context: EventContext


# --- listing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListSessions(ClientCommand):
    pass


@dataclass(frozen=True)
class ListDomains(ClientCommand):
    pass


@dataclass(frozen=True)
class ListChannels(ClientCommand):
    pass


@dataclass(frozen=True)
class ListEvents(ClientCommand):
    channel_name: str


@dataclass(frozen=True)
class ListTracepoints(ClientCommand):
    pass


@dataclass(frozen=True)
class ListTracepointFields(ClientCommand):
    pass


@dataclass(frozen=True)
class ListSyscalls(ClientCommand):
    pass


# --- process attribute trackers ----------------------------------------------------------


@dataclass(frozen=True)
class TrackerGetPolicy(ClientCommand):
    process_attr: int


@dataclass(frozen=True)
class TrackerSetPolicy(ClientCommand):
    process_attr: int
    policy: int


@dataclass(frozen=True)
class TrackerGetInclusionSet(ClientCommand):
    process_attr: int


@dataclass(frozen=True)
class TrackerChangeValue(ClientCommand):
    """ADD_INCLUDE_VALUE (add=True) or REMOVE_INCLUDE_VALUE of one tracker."""

    add: bool
    process_attr: int
    value_type: int  # enum lttng_process_attr_value_type
    value: int | str  # an id, or a user/group name


# --- snapshots ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotOutput:
    """struct lttng_snapshot_output (include/lttng/snapshot-internal.h)."""

    id: int = 0
    max_size: int = 0
    name: str = ""
    ctrl_url: str = ""
    data_url: str = ""


@dataclass(frozen=True)
class SnapshotAddOutput(ClientCommand):
    output: SnapshotOutput


@dataclass(frozen=True)
class SnapshotDelOutput(ClientCommand):
    output: SnapshotOutput


@dataclass(frozen=True)
class SnapshotListOutput(ClientCommand):
    pass


@dataclass(frozen=True)
class SnapshotRecord(ClientCommand):
    output: SnapshotOutput
    wait: bool = True


# --- rotation, clear, regenerate ---------------------------------------------------------


@dataclass(frozen=True)
class RotateSession(ClientCommand):
    pass


@dataclass(frozen=True)
class RotationGetInfo(ClientCommand):
    rotation_id: int


@dataclass(frozen=True)
class RotationSetSchedule(ClientCommand):
    schedule_type: int  # enum lttng_rotation_schedule_type
    set: bool
    value: int


@dataclass(frozen=True)
class ListRotationSchedules(ClientCommand):
    pass


@dataclass(frozen=True)
class ClearSession(ClientCommand):
    pass


@dataclass(frozen=True)
class RegenerateMetadata(ClientCommand):
    pass


@dataclass(frozen=True)
class RegenerateStatedump(ClientCommand):
    pass


# --- save / load -------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveSession(ClientCommand):
    """struct lttng_save_session_attr; an empty name saves every session."""

    save_name: str
    url: str
    overwrite: bool
    omit_name: bool
    omit_output: bool


# --- triggers and error queries (opaque payloads: not offered) ---------------------------


@dataclass(frozen=True)
class TriggerCommand(ClientCommand):
    """REGISTER_TRIGGER, UNREGISTER_TRIGGER, LIST_TRIGGERS or EXECUTE_ERROR_QUERY."""

    cmd_type: int
    payload: bytes = field(default=b"", repr=False)
