"""Event commands of the kernel domain: ENABLE_EVENT, DISABLE_EVENT.

The policy of _cmd_enable_event() / event_kernel_enable_event() / kernel_create_event()
and cmd_disable_event() / event_kernel_disable_event() of lttng-sessiond 2.13 (cmd.c,
event.c, kernel.c), with the user-space probe call sites of
userspace_probe_add_callsite().
"""

from __future__ import annotations

import dataclasses
import errno
import os

from pylttng.protocol import kernel_abi as abi
from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import ErrorCode, EventType
from pylttng.protocol.client.messages import Event
from pylttng.protocol.client.userspace_probe import LookupMethod, UserspaceProbeLocation

from .cmd_channels import default_kernel_channel, drop_channel, enable_channel, enable_fd
from .context import DaemonContext
from .elf import ElfError, function_offset, sdt_probe_offsets
from .errors import CommandError
from .kernel_tracer import KernelTracer, KernelTracerError
from .session import KernelChannel, KernelEvent, Session

_INSTRUMENTATIONS = {
    EventType.TRACEPOINT: abi.Instrumentation.TRACEPOINT,
    EventType.SYSCALL: abi.Instrumentation.SYSCALL,
    EventType.PROBE: abi.Instrumentation.KPROBE,
    EventType.FUNCTION: abi.Instrumentation.KRETPROBE,
    EventType.FUNCTION_ENTRY: abi.Instrumentation.FUNCTION,
    EventType.USERSPACE_PROBE: abi.Instrumentation.UPROBE,
}

# kernel_create_event(): errno of the EVENT ioctl -> lttng error.
_EVENT_ERRORS = {errno.EEXIST: ErrorCode.KERN_EVENT_EXIST, errno.ENOSYS: ErrorCode.KERN_EVENT_ENOSYS}


def _probe_location(event: Event) -> abi.ProbeLocation | None:
    """trace_kernel_create_event(): --probe and --function carry lttng_event_probe_attr."""
    if event.type not in (EventType.PROBE, EventType.FUNCTION) or event.probe is None:
        return None
    p = event.probe
    return abi.ProbeLocation(addr=p.addr, offset=p.offset, symbol_name=p.symbol_name)


def _check_uprobe(location: UserspaceProbeLocation | None, fds: tuple[int, ...]) -> int:
    """The binary fd of a user-space probe; like the stock daemon, ELF function lookups
    and SDT probes only."""
    if location is None or len(fds) != 1 or location.lookup not in (
        LookupMethod.FUNCTION_ELF,
        LookupMethod.TRACEPOINT_SDT,
    ):
        raise CommandError(ErrorCode.PROBE_LOCATION_INVAL, "unsupported userspace probe location")
    return fds[0]


async def handle_enable_event(ctx: DaemonContext, cmd: c.EnableEvent, session: Session) -> r.Answer:
    """_cmd_enable_event() kernel branch + event_kernel_enable_event()."""
    ksess = session.kernel
    assert ksess is not None
    event = cmd.event
    if event.filter_expression or event.bytecode:
        # The module has no filter interpreter yet: refuse rather than record everything.
        raise CommandError(ErrorCode.NOT_SUPPORTED, "kernel event filters are not available yet")
    if event.exclusions:
        raise CommandError(ErrorCode.EXCLUSION_INVAL)  # kernel events take no exclusions
    if event.type != EventType.ALL and event.type not in _INSTRUMENTATIONS:
        raise CommandError(ErrorCode.KERN_EVENT_ENOSYS, f"event type {event.type}")
    if ksess.has_non_default_channel and not cmd.channel_name:
        raise CommandError(ErrorCode.NEED_CHANNEL_NAME)
    chan = ksess.channel(cmd.channel_name)
    created = False
    if chan is None:
        had_named = ksess.has_non_default_channel
        chan = await enable_channel(ctx, session, default_kernel_channel(cmd.channel_name))
        # Creating it implicitly does not make it a user-named channel.
        ksess.has_non_default_channel = had_named and bool(cmd.channel_name)
        created = True
    tracer = await ctx.tracer.get()
    if event.type == EventType.ALL:
        # Enabling "all" means every tracepoint and every system call.
        for kind in (EventType.TRACEPOINT, EventType.SYSCALL):
            await _enable_one(tracer, chan, dataclasses.replace(event, type=kind), cmd)
        return r.Done()
    try:
        await _enable_one(tracer, chan, event, cmd)
    except CommandError:
        if created and not chan.events:
            drop_channel(ksess, chan)
        raise
    return r.Done()


async def _enable_one(
    tracer: KernelTracer, chan: KernelChannel, event: Event, cmd: c.EnableEvent
) -> None:
    existing = next(
        (e for e in chan.events if e.name == event.name and e.spec.type == event.type), None
    )
    if existing is not None:
        if existing.spec.enabled:
            raise CommandError(ErrorCode.KERN_EVENT_EXIST)
        await enable_fd(tracer, existing.fd, ErrorCode.KERN_ENABLE_FAIL)
        existing.spec.enabled = 1
        return
    assert chan.fd is not None
    kind = _INSTRUMENTATIONS[EventType(event.type)]
    binary_fd = -1
    if kind == abi.Instrumentation.UPROBE:
        binary_fd = _check_uprobe(cmd.location, cmd.fds)
    try:
        fd = await tracer.create_event(
            chan.fd, event.name, kind, probe=_probe_location(event), uprobe_fd=binary_fd
        )
    except KernelTracerError as exc:
        code = _EVENT_ERRORS.get(exc.errno or 0, ErrorCode.KERN_ENABLE_FAIL)
        raise CommandError(code, str(exc)) from None
    try:
        if cmd.location is not None:
            await _add_callsites(tracer, fd, cmd.location, binary_fd)
        await tracer.enable(fd)
    except KernelTracerError as exc:
        os.close(fd)
        code = ErrorCode.KERN_EVENT_EXIST if exc.errno == errno.EEXIST else ErrorCode.KERN_ENABLE_FAIL
        raise CommandError(code, str(exc)) from None
    except CommandError:
        os.close(fd)
        raise
    spec = dataclasses.replace(event, enabled=1)
    kept_binary = os.dup(binary_fd) if binary_fd >= 0 else None
    chan.events.insert(0, KernelEvent(spec=spec, fd=fd, binary_fd=kept_binary))


async def _add_callsites(
    tracer: KernelTracer, event_fd: int, location: UserspaceProbeLocation, binary_fd: int
) -> None:
    """userspace_probe_add_callsite(): resolve the location, one ADD_CALLSITE per offset.

    As the stock daemon, an SDT probe found nowhere in the binary adds no callsite.
    """
    try:
        if location.lookup == LookupMethod.TRACEPOINT_SDT:
            offsets = sdt_probe_offsets(binary_fd, location.provider_name, location.probe_name)
        else:
            offsets = [function_offset(binary_fd, location.function_name)]
    except ElfError as exc:
        raise CommandError(ErrorCode.PROBE_LOCATION_INVAL, str(exc)) from None
    for offset in offsets:
        await tracer.add_callsite(event_fd, offset)


async def handle_disable_event(
    ctx: DaemonContext, cmd: c.DisableEvent, session: Session
) -> r.Answer:
    """cmd_disable_event() kernel branch + event_kernel_disable_event()."""
    ksess = session.kernel
    assert ksess is not None
    chan = ksess.channel(cmd.channel_name)
    if chan is None:
        raise CommandError(ErrorCode.KERN_CHAN_NOT_FOUND)
    event = cmd.event
    name: str | None = None if event.name in ("", "*") else event.name
    tracer = await ctx.tracer.get()
    found = False
    failed = False
    for kevent in chan.events:
        if event.type != EventType.ALL and kevent.spec.type != event.type:
            continue
        if name is not None and kevent.name != name:
            continue
        found = True
        try:
            if kevent.fd is not None:
                await tracer.disable(kevent.fd)
            kevent.spec.enabled = 0
        except KernelTracerError:
            failed = True
    if name is not None and not found:
        raise CommandError(ErrorCode.NO_EVENT)
    if failed:
        raise CommandError(ErrorCode.KERN_DISABLE_FAIL)
    return r.Done()
