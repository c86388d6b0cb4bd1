"""Channel and context commands of the kernel domain: ENABLE_CHANNEL, DISABLE_CHANNEL,
ADD_CONTEXT.

The policy of cmd_enable_channel_internal(), channel_kernel_create(), channel_validate()
and cmd_add_context() / context_kernel_add() of lttng-sessiond 2.13 (cmd.c, channel.c,
context.c): same defaults, same checks, same lttng error codes.
"""

from __future__ import annotations

import dataclasses
import errno
import os

from pylttng.protocol import kernel_abi as abi
from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import (
    DEFAULT_CHANNEL_NAME,
    ErrorCode,
    EventContextType,
    EventOutput,
)
from pylttng.protocol.client.messages import Channel

from .context import DaemonContext
from .errors import CommandError
from .kernel_session import close_fd, wait_quiescent
from .kernel_tracer import KernelTracer, KernelTracerError
from .session import KernelChannel, KernelSession, Session

# src/common/defaults.h (Debian's configure defaults), as printed in the reference transcript.
DEFAULT_KERNEL_SUBBUF_SIZE = 1 << 20
DEFAULT_KERNEL_SUBBUF_NUM = 4
DEFAULT_KERNEL_READ_TIMER = 200_000
DEFAULT_KERNEL_SWITCH_TIMER = 0
DEFAULT_KERNEL_MONITOR_TIMER = 1_000_000


def default_kernel_channel(name: str = DEFAULT_CHANNEL_NAME) -> Channel:
    """channel_new_default_attr(LTTNG_DOMAIN_KERNEL, LTTNG_BUFFER_GLOBAL)."""
    return Channel(
        name=name or DEFAULT_CHANNEL_NAME,
        enabled=False,  # the stock daemon leaves lttng_channel.enabled at 0 here
        overwrite=-1,
        subbuf_size=max(DEFAULT_KERNEL_SUBBUF_SIZE, os.sysconf("SC_PAGESIZE")),
        num_subbuf=DEFAULT_KERNEL_SUBBUF_NUM,
        switch_timer_interval=DEFAULT_KERNEL_SWITCH_TIMER,
        read_timer_interval=DEFAULT_KERNEL_READ_TIMER,
        output=EventOutput.SPLICE,
        monitor_timer_interval=DEFAULT_KERNEL_MONITOR_TIMER,
    )


async def enable_fd(tracer: KernelTracer, fd: int | None, code: ErrorCode) -> None:
    if fd is None:
        return
    try:
        await tracer.enable(fd)
    except KernelTracerError as exc:
        raise CommandError(code, str(exc)) from None


async def enable_channel(ctx: DaemonContext, session: Session, attr: Channel) -> KernelChannel:
    """cmd_enable_channel_internal() for the kernel domain."""
    ksess = session.kernel
    assert ksess is not None
    tracer = await ctx.tracer.get()
    name = attr.name
    if name.startswith(".") or "/" in name:
        raise CommandError(ErrorCode.INVALID_CHANNEL_NAME)
    existing = ksess.channel(name)
    if existing is not None:
        if existing.enabled:
            raise CommandError(ErrorCode.KERN_CHAN_EXIST)
        await enable_fd(tracer, existing.fd, ErrorCode.KERN_CHAN_ENABLE_FAIL)
        existing.enabled = True
        return existing
    if session.has_been_started:
        raise CommandError(ErrorCode.TRACE_ALREADY_STARTED)
    attr = dataclasses.replace(attr, name=name or DEFAULT_CHANNEL_NAME)
    if session.snapshot_mode:
        attr.output = EventOutput.MMAP
    if session.live_timer:
        attr.live_timer_interval = session.live_timer
        attr.switch_timer_interval = 0
    if attr.overwrite == -1:
        attr.overwrite = int(session.snapshot_mode)
    _validate(attr)
    chan = await _create_channel(tracer, ksess, attr)
    if name:
        ksess.has_non_default_channel = True
    return chan


def _validate(attr: Channel) -> None:
    """channel_validate() / channel_validate_kernel(), and what pylttng does not apply.

    Like lttng-sessiond, no check of the trace file size against the sub-buffer size for
    the kernel domain (the `lttng` CLI rounds it up; consumerd/tracefiles.py)."""
    if attr.overwrite and attr.num_subbuf < 2:
        raise CommandError(ErrorCode.INVALID)
    if attr.blocking_timeout:
        raise CommandError(ErrorCode.INVALID)


async def _create_channel(
    tracer: KernelTracer, ksess: KernelSession, attr: Channel
) -> KernelChannel:
    """kernel_create_channel(): one CHANNEL ioctl on the session fd."""
    assert ksess.fd is not None
    try:
        fd = await tracer.create_channel(
            ksess.fd,
            subbuf_size=attr.subbuf_size,
            num_subbuf=attr.num_subbuf,
            switch_timer_us=attr.switch_timer_interval,
            read_timer_us=attr.read_timer_interval,
            mmap_output=attr.output == EventOutput.MMAP,
            overwrite=bool(attr.overwrite),
        )
    except KernelTracerError as exc:
        raise CommandError(ErrorCode.KERN_CHAN_FAIL, str(exc)) from None
    chan = KernelChannel(attr=attr, fd=fd)
    ksess.channels.insert(0, chan)
    await wait_quiescent(tracer)
    return chan


def drop_channel(ksess: KernelSession, chan: KernelChannel) -> None:
    ksess.channels.remove(chan)
    close_fd(chan.fd)


async def handle_enable_channel(
    ctx: DaemonContext, cmd: c.EnableChannel, session: Session
) -> r.Answer:
    await enable_channel(ctx, session, cmd.channel)
    return r.Done()


async def handle_disable_channel(
    ctx: DaemonContext, cmd: c.DisableChannel, session: Session
) -> r.Answer:
    ksess = session.kernel
    assert ksess is not None
    chan = ksess.channel(cmd.channel_name)
    if chan is None:
        raise CommandError(ErrorCode.KERN_CHAN_NOT_FOUND)
    if chan.enabled:
        tracer = await ctx.tracer.get()
        try:
            if chan.fd is not None:
                await tracer.disable(chan.fd)
        except KernelTracerError as exc:
            raise CommandError(ErrorCode.KERN_CHAN_DISABLE_FAIL, str(exc)) from None
        chan.enabled = False
    return r.Done()


# context_kernel_add(): client context type -> kernel ABI context type. Others (pthread_id,
# ip, perf:thread:*, application contexts) are user-space only: "Add kernel context failed".
_KERNEL_CONTEXTS: dict[int, abi.ContextType] = {
    EventContextType.PERF_COUNTER: abi.ContextType.PERF_CPU_COUNTER,
    EventContextType.PERF_CPU_COUNTER: abi.ContextType.PERF_CPU_COUNTER,
    **{
        EventContextType[kctx.name]: kctx
        for kctx in abi.ContextType
        if kctx.name in EventContextType.__members__ and kctx is not abi.ContextType.PERF_CPU_COUNTER
    },
}


async def handle_add_context(ctx: DaemonContext, cmd: c.AddContext, session: Session) -> r.Answer:
    """cmd_add_context() kernel branch + context_kernel_add()."""
    ksess = session.kernel
    assert ksess is not None
    if session.has_been_started:
        raise CommandError(ErrorCode.TRACE_ALREADY_STARTED)
    if not ksess.channels:
        had_named = ksess.has_non_default_channel
        await enable_channel(ctx, session, default_kernel_channel())
        ksess.has_non_default_channel = had_named
    context = cmd.context
    kctx = _KERNEL_CONTEXTS.get(context.ctx)
    if kctx is None:
        raise CommandError(ErrorCode.KERN_CONTEXT_FAIL, f"context {context.ctx}")
    if cmd.channel_name:
        chan = ksess.channel(cmd.channel_name)
        if chan is None:
            raise CommandError(ErrorCode.KERN_CHAN_NOT_FOUND)
        targets = [chan]
    else:
        targets = list(ksess.channels)
    tracer = await ctx.tracer.get()
    for chan in targets:
        # kernel_add_channel_context(): EEXIST is not an error, ENOSYS is "unavailable".
        assert chan.fd is not None
        try:
            await tracer.add_context(
                chan.fd,
                kctx,
                perf_type=context.perf_type,
                perf_config=context.perf_config,
                perf_name=context.perf_name,
            )
        except KernelTracerError as exc:
            if exc.errno == errno.ENOSYS:
                raise CommandError(ErrorCode.KERN_CONTEXT_UNAVAILABLE, str(exc)) from None
            if exc.errno != errno.EEXIST:
                raise CommandError(ErrorCode.KERN_CONTEXT_FAIL, str(exc)) from None
        chan.contexts.append(context)
    return r.Done()
