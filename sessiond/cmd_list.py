"""Listing commands: sessions, domains, channels, events, trackers (cmd.c / client.c)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from pylttng.protocol import kernel_abi as abi
from pylttng.protocol.client import writer
from pylttng.protocol.client.constants import (
    BufferType,
    DomainType,
    ErrorCode,
    EventType,
    ProcessAttr,
    TrackingPolicy,
)
from pylttng.protocol.client.messages import Channel, Domain, Event, ProbeAttr, SessionInfo

from .context import Credentials, DaemonContext
from .errors import CommandError
from .session import KernelChannel, Session


def list_sessions(ctx: DaemonContext, creds: Credentials) -> bytes:
    """cmd_list_lttng_sessions(): the sessions this client may see."""
    infos = [
        SessionInfo(
            name=s.name,
            path=s.output_path,
            enabled=s.active,
            snapshot_mode=s.snapshot_mode,
            live_timer_interval=s.live_timer,
            creation_time=s.creation_time,
        )
        for s in ctx.sessions.all()
        if ctx.can_access(creds, s.uid)
    ]
    return writer.encode_session_list(infos)


def list_domains(session: Session) -> bytes:
    """cmd_list_domains(): the kernel domain once the session has a kernel session."""
    domains = []
    if session.kernel is not None:
        domains.append(Domain(type=DomainType.KERNEL, buf_type=BufferType.GLOBAL))
    return writer.encode_domains(domains)


ChannelStats = Callable[[KernelChannel], tuple[int, int]]


def list_channels(session: Session, domain: int, stats: ChannelStats) -> tuple[bytes, bytes]:
    """cmd_list_channels(): (command header, payload), with the run-time statistics."""
    if domain != DomainType.KERNEL or session.kernel is None:
        return writer.encode_list_header(0), b""
    channels = session.kernel.channels
    payload = b"".join(writer.encode_channel(_with_stats(session, c, stats)) for c in channels)
    return writer.encode_list_header(len(channels)), payload


def _with_stats(session: Session, chan: KernelChannel, stats: ChannelStats) -> Channel:
    """get_kernel_runtime_stats(): zeros until the session has been started."""
    if not session.has_been_started:
        return chan.attr
    discarded, lost = stats(chan)
    return dataclasses.replace(chan.attr, discarded_events=discarded, lost_packets=lost)


def list_events(session: Session, domain: int, channel_name: str) -> tuple[bytes, tuple[int, ...]]:
    """cmd_list_events() / list_lttng_kernel_events(): header then serialized events, and
    the binary fd of each user-space probe, in order (the client pairs them up)."""
    if domain != DomainType.KERNEL:
        raise CommandError(ErrorCode.UND)
    chan = session.kernel.channel(channel_name) if session.kernel else None
    if chan is None:
        raise CommandError(ErrorCode.KERN_CHAN_NOT_FOUND)
    events = [
        # Like the stock daemon: a fresh lttng_event, so loglevel fields stay 0.
        Event(
            name=e.name,
            type=e.spec.type,
            loglevel_type=0,
            loglevel=0,
            enabled=e.spec.enabled,
            filter_expression=e.spec.filter_expression,
            probe=_listed_probe(e.spec),
            userspace_probe_location=e.spec.userspace_probe_location,
        )
        for e in chan.events
    ]
    fds = tuple(e.binary_fd for e in chan.events if e.binary_fd is not None)
    body = b"".join(writer.encode_event(e) for e in events)
    return writer.encode_list_header(len(events)) + body, fds


def _listed_probe(spec: Event) -> ProbeAttr | None:
    """lttng_event_serialize() writes probe attributes for probe and function events."""
    if spec.type not in (EventType.PROBE, EventType.FUNCTION):
        return None
    return spec.probe or ProbeAttr()


# enum lttng_event_flag (include/lttng/event.h)
EVENT_FLAG_SYSCALL_32 = 1 << 0
EVENT_FLAG_SYSCALL_64 = 1 << 1


def list_syscalls(entries: list[abi.SyscallListEntry]) -> tuple[bytes, bytes]:
    """cmd_list_syscalls() / syscall_table_list(): one event per name, bitness as flags."""
    by_name: dict[str, Event] = {}
    for entry in entries:
        if not entry.name:
            continue
        flag = EVENT_FLAG_SYSCALL_32 if entry.bitness == 32 else EVENT_FLAG_SYSCALL_64
        event = by_name.get(entry.name)
        if event is None:
            # enabled = -1: the CLI prints no enabled/disabled state for these.
            event = Event(
                name=entry.name, type=EventType.SYSCALL, loglevel_type=0, loglevel=0, enabled=-1
            )
            by_name[entry.name] = event
        event.flags |= flag
    body = b"".join(writer.encode_event(e) for e in by_name.values())
    return writer.encode_list_header(len(by_name)), body


def tracker_policy(session: Session, domain: int, process_attr: int) -> bytes:
    """cmd_process_attr_tracker_get_tracking_policy(): every tracker includes all."""
    if domain != DomainType.KERNEL or session.kernel is None:
        raise CommandError(ErrorCode.INVALID)
    if process_attr not in tuple(ProcessAttr):
        raise CommandError(ErrorCode.INVALID)
    return int(TrackingPolicy.INCLUDE_ALL).to_bytes(4, "little")


def tracker_inclusion_set(session: Session, domain: int, process_attr: int) -> bytes:
    """With an include-all policy there is no set to return (tracker.c)."""
    tracker_policy(session, domain, process_attr)
    raise CommandError(ErrorCode.PROCESS_ATTR_TRACKER_INVALID_TRACKING_POLICY)
