"""Listing commands: sessions, domains, channels, events, the tracepoint and system call
catalogues (cmd_list_*() of cmd.c and client.c, lttng-sessiond 2.13)."""

from __future__ import annotations

import dataclasses

from pylttng.protocol import kernel_abi as abi
from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import BufferType, DomainType, ErrorCode, EventType
from pylttng.protocol.client.messages import Channel, Domain, Event, ProbeAttr, SessionInfo

from .context import Credentials, DaemonContext
from .errors import CommandError
from .kernel_tracer import KernelTracer, KernelTracerError
from .session import KernelChannel, Session

# enum lttng_event_flag (include/lttng/event.h)
EVENT_FLAG_SYSCALL_32 = 1 << 0
EVENT_FLAG_SYSCALL_64 = 1 << 1


async def handle_list_sessions(
    ctx: DaemonContext, cmd: c.ListSessions, creds: Credentials
) -> r.Answer:
    """cmd_list_lttng_sessions(): the sessions this client may see."""
    return r.SessionList([
        SessionInfo(
            name=s.name,
            path=s.list_path,
            enabled=s.active,
            snapshot_mode=s.snapshot_mode,
            live_timer_interval=s.live_timer,
            creation_time=s.creation_time,
        )
        for s in ctx.sessions.all()
        if ctx.can_access(creds, s.uid)
    ])


async def handle_list_domains(ctx: DaemonContext, cmd: c.ListDomains, session: Session) -> r.Answer:
    """cmd_list_domains(): the kernel domain once the session has a kernel session."""
    domains = []
    if session.kernel is not None:
        domains.append(Domain(type=DomainType.KERNEL, buf_type=BufferType.GLOBAL))
    return r.DomainList(domains)


async def handle_list_channels(
    ctx: DaemonContext, cmd: c.ListChannels, session: Session
) -> r.Answer:
    """cmd_list_channels(): the channels with their run-time statistics."""
    if cmd.domain.type != DomainType.KERNEL or session.kernel is None:
        return r.ChannelList([])
    tracer = ctx.tracer.loaded
    return r.ChannelList([_with_stats(tracer, session, chan) for chan in session.kernel.channels])


def _with_stats(tracer: KernelTracer | None, session: Session, chan: KernelChannel) -> Channel:
    """get_kernel_runtime_stats(): zeros until the session has been started; the tracer
    sums, over the channel's streams, what lttng-consumerd would count from the packets
    consumed so far (the last events_discarded, packet_seq_num gaps)."""
    if not session.has_been_started or chan.fd is None or tracer is None:
        return chan.attr
    try:
        discarded, lost = tracer.channel_stats(chan.fd)
    except KernelTracerError as exc:
        raise CommandError(ErrorCode.UNK, f"channel statistics: {exc}") from None
    return dataclasses.replace(chan.attr, discarded_events=discarded, lost_packets=lost)


async def handle_list_events(ctx: DaemonContext, cmd: c.ListEvents, session: Session) -> r.Answer:
    """cmd_list_events() / list_lttng_kernel_events(): the events, and the binary fd of
    each user-space probe, in order (the client pairs them up)."""
    if cmd.domain.type != DomainType.KERNEL:
        raise CommandError(ErrorCode.UND)
    chan = session.kernel.channel(cmd.channel_name) if session.kernel else None
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
    return r.EventList(events, fds)


def _listed_probe(spec: Event) -> ProbeAttr | None:
    """lttng_event_serialize() writes probe attributes for probe and function events."""
    if spec.type not in (EventType.PROBE, EventType.FUNCTION):
        return None
    return spec.probe or ProbeAttr()


async def handle_list_tracepoints(
    ctx: DaemonContext, cmd: c.ListTracepoints, creds: Credentials
) -> r.Answer:
    """cmd_list_tracepoints() / kernel_list_events(): one zeroed lttng_event per name."""
    tracer = await ctx.tracer.get()
    try:
        names = await tracer.list_tracepoints()
    except (KernelTracerError, OSError) as exc:
        raise CommandError(ErrorCode.KERN_LIST_FAIL, f"tracepoint list: {exc}") from None
    return r.CatalogueList([
        Event(name=name[: abi.SYM_NAME_LEN - 1], type=EventType.TRACEPOINT,
              loglevel_type=0, loglevel=0, enabled=-1)
        for name in names
    ])


async def handle_list_syscalls(
    ctx: DaemonContext, cmd: c.ListSyscalls, creds: Credentials
) -> r.Answer:
    """cmd_list_syscalls() / syscall_table_list(): one event per name, bitness as flags."""
    tracer = await ctx.tracer.get()
    try:
        entries = await tracer.list_syscalls()
    except (KernelTracerError, OSError) as exc:
        raise CommandError(ErrorCode.KERN_LIST_FAIL, str(exc)) from None
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
    return r.CatalogueList(list(by_name.values()))


async def handle_list_tracepoint_fields(
    ctx: DaemonContext, cmd: c.ListTracepointFields, creds: Credentials
) -> r.Answer:
    """cmd_list_tracepoint_fields(): user-space only in lttng-sessiond 2.13."""
    raise CommandError(ErrorCode.UND)
