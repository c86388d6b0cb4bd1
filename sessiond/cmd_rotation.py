"""Rotation and clear commands: ROTATE_SESSION, ROTATION_GET_INFO, ROTATION_SET_SCHEDULE,
SESSION_LIST_ROTATION_SCHEDULES (client.c, cmd.c) and CLEAR_SESSION (clear.c) of
lttng-sessiond 2.13; the rotations themselves are rotation.py's."""

from __future__ import annotations

from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import ErrorCode, RotationScheduleType

from . import rotation
from .consumer_link import ConsumerError
from .context import DaemonContext
from .errors import CommandError
from .kernel_session import start_kernel_session, stop_kernel_session
from .session import Session
from .trace_chunk import CloseCommand

_UINT_MAX = (1 << 32) - 1
_U64_MAX = (1 << 64) - 1


async def handle_rotate(ctx: DaemonContext, cmd: c.RotateSession, session: Session) -> r.Answer:
    """An explicit rotation: the chunk so far becomes an archive."""
    rotation_id = await rotation.rotate_session(
        ctx, session, command=CloseCommand.MOVE_TO_COMPLETED
    )
    return r.RotationStarted(rotation_id or 0)


async def handle_get_info(
    ctx: DaemonContext, cmd: c.RotationGetInfo, session: Session
) -> r.Answer:
    state, path = rotation.rotation_info(session, cmd.rotation_id)
    return r.RotationInfo(state, path)


async def handle_set_schedule(
    ctx: DaemonContext, cmd: c.RotationSetSchedule, session: Session
) -> r.Answer:
    """cmd_rotation_set_schedule(): one schedule of each type; unsetting one names it."""
    if session.live_timer or not session.output_traces:
        raise CommandError(ErrorCode.ROTATION_NOT_AVAILABLE)
    rot = session.rotation
    if cmd.schedule_type == RotationScheduleType.SIZE_THRESHOLD:
        current = rot.size_bytes
    elif cmd.schedule_type == RotationScheduleType.PERIODIC:
        current = rot.timer_period_us
        if cmd.value >= _UINT_MAX:
            raise CommandError(ErrorCode.INVALID)
    else:
        raise CommandError(ErrorCode.INVALID)
    if cmd.value == _U64_MAX:
        raise CommandError(ErrorCode.INVALID)
    if cmd.set and current:
        raise CommandError(ErrorCode.ROTATION_SCHEDULE_SET)
    if not cmd.set and (not current or current != cmd.value):
        raise CommandError(ErrorCode.ROTATION_SCHEDULE_NOT_SET)
    value = cmd.value if cmd.set else 0
    if cmd.schedule_type == RotationScheduleType.PERIODIC:
        rot.timer_period_us = value
        rotation.stop_timer(session)
        if value and session.active:  # else started with the session
            rotation.start_timer(ctx, session)
    else:
        rot.size_bytes = value
        rotation.stop_size_watch(session)
        if value:
            rotation.start_size_watch(ctx, session)
    return r.Done()


async def handle_list_schedules(
    ctx: DaemonContext, cmd: c.ListRotationSchedules, session: Session
) -> r.Answer:
    rot = session.rotation
    return r.RotationSchedules(rot.timer_period_us or None, rot.size_bytes or None)


async def handle_clear(ctx: DaemonContext, cmd: c.ClearSession, session: Session) -> r.Answer:
    """cmd_clear_session(): stop the kernel session, drop what its buffers hold, rotate to
    a new chunk with the old one deleted, start again; answered once the chunk is gone."""
    rot = session.rotation
    if not session.has_been_started:
        return r.Done()  # nothing to clear, and no error
    ksess = session.kernel
    if session.relayd is not None and not (ksess is not None and ksess.relayd_allows_clear):
        raise CommandError(ErrorCode.CLEAR_NOT_AVAILABLE_RELAY)  # older than 2.12, or refuses
    if rot.cleared_after_last_stop or rot.rotated_after_last_stop:
        return r.Done()  # effect-less until the next start
    was_active = session.active
    if was_active:
        await stop_kernel_session(ctx, session)
    await _clear_buffers(ctx, session)
    if session.output_traces:
        await rotation.rotate_session(ctx, session, command=CloseCommand.DELETE, quiet=True)
    if not session.active:
        rot.cleared_after_last_stop = True
    if was_active:
        await start_kernel_session(ctx, session)
    await rotation.wait_rotation(session)  # the clear notifier: the reply waits for it
    return r.Done()


async def _clear_buffers(ctx: DaemonContext, session: Session) -> None:
    """kernel_clear_session(): each data stream (the consumer's), metadata left alone."""
    ksess = session.kernel
    if ksess is None:
        return
    if ksess.streams_sent:
        try:
            link = await ctx.consumer.link()
            await link.clear_session(session.id)
        except (ConsumerError, OSError) as exc:
            raise CommandError(ErrorCode.CLEAR_FAIL_CONSUMER, str(exc)) from None
        return
    # A snapshot session's streams are never handed over: clear them from here.
    tracer = await ctx.tracer.get()
    for chan in ksess.channels:
        for fd in chan.stream_fds:
            await tracer.clear_buffer(fd)
