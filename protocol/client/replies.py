"""Typed replies of the session daemon: what a handler answers, encoded only by
`reply_writer` (the command header and payload each command's client expects)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .commands import SnapshotOutput
from .messages import Channel, Domain, Event, SessionDescriptor, SessionInfo


@dataclass(frozen=True)
class Done:
    """No command header, no payload: setup_lttng_msg_no_cmd_header()."""


@dataclass(frozen=True)
class SessionCreated:
    descriptor: SessionDescriptor


@dataclass(frozen=True)
class RelayLocation:
    """Where a relay daemon put a trace chunk archive (include/lttng/location.h: a
    LTTNG_TRACE_ARCHIVE_LOCATION_TYPE_RELAY location over TCP): the host as the session's
    control URL names it, both ports and the path relative to the relay daemon's output."""

    host: str
    control_port: int
    data_port: int
    relative_path: str


@dataclass(frozen=True)
class SessionDestroyed:
    """The destroy reply: the state of the rotation destroy did, and the archive it made
    once completed (cmd_destroy_session_reply())."""

    rotation_state: int = 0  # LTTNG_ROTATION_STATE_NO_ROTATION
    archive_path: str | RelayLocation = ""  # a local folder, or on a relay daemon


@dataclass(frozen=True)
class RotationStarted:
    rotation_id: int


@dataclass(frozen=True)
class RotationInfo:
    """ROTATION_GET_INFO: a rotation's state, and its archive's path once completed."""

    state: int
    archive_path: str | RelayLocation = ""  # a local folder, or on a relay daemon


@dataclass(frozen=True)
class DataPendingAnswer:
    pending: bool


@dataclass(frozen=True)
class SessionList:
    sessions: list[SessionInfo]


@dataclass(frozen=True)
class DomainList:
    domains: list[Domain]


@dataclass(frozen=True)
class ChannelList:
    channels: list[Channel]


@dataclass(frozen=True)
class EventList:
    """LIST_EVENTS: the count inside the payload, then the events; the binary fd of each
    user-space probe follows the bytes, in order."""

    events: list[Event]
    fds: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class CatalogueList:
    """LIST_TRACEPOINTS / LIST_SYSCALLS: the count as command header, events as payload."""

    events: list[Event]


@dataclass(frozen=True)
class TrackingPolicyAnswer:
    policy: int


@dataclass(frozen=True)
class InclusionSet:
    """A tracker's values, each (enum lttng_process_attr_value_type, id or name)."""

    values: list[tuple[int, int | str]]


@dataclass(frozen=True)
class RotationSchedules:
    periodic_us: int | None = None
    size_bytes: int | None = None


@dataclass(frozen=True)
class SnapshotOutputAdded:
    """SNAPSHOT_ADD_OUTPUT: the new output's id (struct lttcomm_lttng_output_id), which
    liblttng-ctl reads back into the caller's output."""

    output_id: int


@dataclass(frozen=True)
class SnapshotOutputList:
    outputs: list[SnapshotOutput]


Answer = (
    Done
    | SessionCreated
    | SessionDestroyed
    | RotationStarted
    | RotationInfo
    | DataPendingAnswer
    | SessionList
    | DomainList
    | ChannelList
    | EventList
    | CatalogueList
    | TrackingPolicyAnswer
    | InclusionSet
    | RotationSchedules
    | SnapshotOutputAdded
    | SnapshotOutputList
)
