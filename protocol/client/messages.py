"""Typed messages of the lttng-tools 2.13 client protocol (no I/O, no byte layout)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .constants import (
    BufferType,
    DomainType,
    EventOutput,
    EventType,
    LoglevelType,
    SessionDescriptorOutputType,
    SessionDescriptorType,
)


@dataclass(frozen=True)
class Domain:
    """struct lttng_domain (include/lttng/domain.h); `type` stays raw for unknown values."""

    type: int = DomainType.NONE
    buf_type: int = BufferType.PER_PID
    pid: int = 0


@dataclass(frozen=True)
class Request:
    """One client command: struct lttcomm_session_msg plus its variable-length payload."""

    cmd_type: int
    session_name: str
    domain: Domain
    union: bytes  # raw lttcomm_session_msg.u; decode with the reader's helpers
    fd_count: int
    payload: bytes = b""
    fds: tuple[int, ...] = ()  # received beside it (SCM_RIGHTS); the I/O layer closes them


@dataclass(frozen=True)
class Reply:
    """struct lttcomm_lttng_msg header plus its command header and payload."""

    cmd_type: int
    ret_code: int
    pid: int = 0
    cmd_header: bytes = b""
    payload: bytes = b""
    # Sent after the bytes (SCM_RIGHTS), e.g. the probed binaries of LIST_EVENTS.
    fds: tuple[int, ...] = ()

    @property
    def fd_count(self) -> int:
        return len(self.fds)


@dataclass
class Channel:
    """struct lttng_channel + lttng_channel_extended, as serialized by channel.c."""

    name: str
    enabled: bool = True
    overwrite: int = -1  # -1: session default, 1: overwrite, 0: discard
    subbuf_size: int = 0
    num_subbuf: int = 0
    switch_timer_interval: int = 0
    read_timer_interval: int = 0
    output: int = EventOutput.SPLICE
    tracefile_size: int = 0
    tracefile_count: int = 0
    live_timer_interval: int = 0
    discarded_events: int = 0
    lost_packets: int = 0
    monitor_timer_interval: int = 0
    blocking_timeout: int = 0


@dataclass
class ProbeAttr:
    """struct lttng_event_probe_attr (include/lttng/event.h)."""

    addr: int = 0
    offset: int = 0
    symbol_name: str = ""


@dataclass
class Event:
    """struct lttng_event plus the extended parts carried by event.c's serialization."""

    name: str
    type: int = EventType.TRACEPOINT
    loglevel_type: int = LoglevelType.ALL
    loglevel: int = -1
    enabled: int = 1
    pid: int = 0
    flags: int = 0
    filter_expression: str | None = None
    exclusions: list[str] = field(default_factory=list)
    bytecode: bytes = b""
    userspace_probe_location: bytes = b""
    probe: ProbeAttr | None = None
    function_symbol: str | None = None


@dataclass(frozen=True)
class EventContext:
    """struct lttng_event_context as serialized by lttng_event_context_serialize()."""

    ctx: int
    perf_type: int = 0
    perf_config: int = 0
    perf_name: str = ""
    app_provider: str = ""
    app_name: str = ""


@dataclass(frozen=True)
class Uri:
    """struct lttng_uri (src/common/uri.h)."""

    dtype: int
    utype: int = 0
    stype: int = 0
    proto: int = 0
    port: int = 0
    subdir: str = ""
    dst: str = ""


@dataclass(frozen=True)
class SessionDescriptor:
    """struct lttng_session_descriptor as serialized by session-descriptor.c."""

    type: int = SessionDescriptorType.REGULAR
    output_type: int = SessionDescriptorOutputType.NONE
    name: str | None = None
    uris: tuple[Uri, ...] = ()
    live_timer_us: int | None = None


@dataclass(frozen=True)
class CreateSessionArgs:
    """Payload of LTTNG_CREATE_SESSION_EXT: client's home directory and the descriptor."""

    home_dir: str | None
    descriptor: SessionDescriptor


@dataclass(frozen=True)
class SessionInfo:
    """One entry of the LTTNG_LIST_SESSIONS reply (struct lttng_session + extended)."""

    name: str
    path: str
    enabled: bool
    snapshot_mode: bool = False
    live_timer_interval: int = 0
    creation_time: int | None = None
