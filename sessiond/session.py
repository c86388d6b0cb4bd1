"""In-memory state of recording sessions (the stock daemon's ltt_session & co)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import trio
from pylttng.consumerd.fs_identity import Owner
from pylttng.protocol.client.constants import ProcessAttr, RotationState, TrackingPolicy
from pylttng.protocol.client.messages import Channel, Event, EventContext

from .trace_chunk import TraceChunk

if TYPE_CHECKING:
    from .relayd_output import RelaydOutput


@dataclass
class KernelEvent:
    """One recording event rule of a kernel channel, with its tracer event fd."""

    spec: Event
    fd: int | None = None
    # A user-space probe's binary, open for the event's life as in lttng-sessiond: LIST_EVENTS
    # hands it to the client, and it pins the file that the kernel probes.
    binary_fd: int | None = None

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class SnapshotFiles:
    """Where a stream's next local snapshot starts: lttng-consumerd keeps a stream's file
    number and index file from one snapshot to the next (consumer-stream.c), since the
    stream lives as long as the session."""

    tracefile_index: int = 0
    indexed: bool = False


@dataclass
class KernelChannel:
    """A kernel channel: the attributes as listed, its tracer fd and its stream fds."""

    attr: Channel
    fd: int | None = None
    enabled: bool = True
    stream_fds: list[int] = field(default_factory=list)
    # Newest first, as the stock daemon keeps them (cds_list_add), so listings match.
    events: list[KernelEvent] = field(default_factory=list)
    contexts: list[EventContext] = field(default_factory=list)
    snapshot_files: dict[int, SnapshotFiles] = field(default_factory=dict)  # by CPU

    @property
    def name(self) -> str:
        return self.attr.name


@dataclass
class ProcessAttrTracker:
    """One process attribute tracker of a kernel session (tracker.c): its policy, and the
    values of its inclusion set as the user gave them, in the order given."""

    attr: ProcessAttr
    policy: TrackingPolicy = TrackingPolicy.INCLUDE_ALL
    values: list[tuple[int, int | str]] = field(default_factory=list)


def _all_trackers() -> dict[ProcessAttr, ProcessAttrTracker]:
    return {attr: ProcessAttrTracker(attr) for attr in ProcessAttr}


@dataclass
class KernelSession:
    """The kernel domain of a session (trace-kernel.h struct ltt_kernel_session)."""

    fd: int | None = None
    channels: list[KernelChannel] = field(default_factory=list)
    metadata_fd: int | None = None
    metadata_stream_fd: int | None = None
    has_non_default_channel: bool = False
    active: bool = False
    streams_sent: bool = False
    # The relay daemon's id of the session once the consumer daemon opened it there
    # (relayd_output.setup_relayd()); None while not streaming or not yet connected.
    relayd_session_id: int | None = None
    relayd_allows_clear: bool = False  # consumer_output's relay_allows_clear
    trackers: dict[ProcessAttr, ProcessAttrTracker] = field(default_factory=_all_trackers)

    def channel(self, name: str) -> KernelChannel | None:
        # trace_kernel_get_channel_by_name(): "" means the default channel.
        wanted = name or "channel0"
        return next((c for c in self.channels if c.name == wanted), None)


@dataclass
class SnapshotOutput:
    """A snapshot output of a session (snapshot.h struct snapshot_output): a local folder
    or a relay daemon."""

    id: int
    name: str
    max_size: int  # bytes for all streams together; 0: unlimited
    path: str  # the folder each snapshot's <name>-<date>-<n> folder goes into ("": relayd)
    relayd: RelaydOutput | None = None  # a net:// output: the relay daemon's URLs


@dataclass
class Rotation:
    """A session's trace chunks, rotations and rotation schedules (struct ltt_session)."""

    current_chunk: TraceChunk | None = None
    chunk_being_archived: TraceChunk | None = None
    most_recent_chunk_id: int | None = None
    last_archived_chunk_id: int | None = None
    last_archived_chunk_name: str = ""
    # Where the relay daemon put the last chunk closed (session->last_chunk_path).
    last_chunk_path: str = ""
    state: RotationState = RotationState.NO_ROTATION
    rotated: bool = False  # a chunk was ever archived (MOVE_TO_COMPLETED)
    rotated_after_last_stop: bool = False
    cleared_after_last_stop: bool = False
    ended: trio.Event = field(default_factory=trio.Event)  # the ongoing rotation is over
    timer_period_us: int = 0  # 0: no periodic schedule
    size_bytes: int = 0  # 0: no size schedule
    timer: trio.CancelScope | None = None  # the periodic schedule's task, while it runs
    size_watch: trio.CancelScope | None = None  # the size schedule's task


@dataclass
class Session:
    """A recording session (session.h struct ltt_session), kernel domain only."""

    id: int
    name: str
    output_path: str  # "" when the session has no local output
    creation_time: int
    uid: int
    gid: int
    auto_named: bool = False
    snapshot_mode: bool = False
    live_timer: int = 0
    active: bool = False
    has_been_started: bool = False
    shm_path: str = ""  # lttng create --shm-path: user-space buffers only
    snapshot_outputs: list[SnapshotOutput] = field(default_factory=list)
    last_snapshot_output_id: int = 0
    snapshots_taken: int = 0
    kernel: KernelSession | None = None
    rotation: Rotation = field(default_factory=Rotation)
    relayd: RelaydOutput | None = None  # streamed to lttng-relayd (create -U net://...)
    hostname: str = ""  # this host's name when created: the relay daemon's first folder

    @property
    def output_traces(self) -> bool:
        return bool(self.output_path) or self.relayd is not None

    @property
    def list_path(self) -> str:
        """The trace output as `lttng list` shows it."""
        return self.relayd.list_path if self.relayd is not None else self.output_path

    @property
    def owner(self) -> Owner:
        """Whose rights the session's folders and files are created with."""
        return Owner(self.uid, self.gid)

    @property
    def kernel_trace_dir(self) -> str:
        """The kernel folder of the current trace chunk."""
        chunk = self.rotation.current_chunk
        return chunk.kernel_dir(self.output_path) if chunk else f"{self.output_path}/kernel"


class SessionRegistry:
    """All sessions by name; `all()` is newest first, the order `lttng list` prints."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._ids = itertools.count(0)

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, session: Session) -> None:
        self._sessions[session.name] = session

    def remove(self, session: Session) -> None:
        self._sessions.pop(session.name, None)

    def get(self, name: str) -> Session | None:
        return self._sessions.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._sessions

    def all(self) -> list[Session]:
        # session.c adds each new session at the head of the list (cds_list_add).
        return list(reversed(self._sessions.values()))
