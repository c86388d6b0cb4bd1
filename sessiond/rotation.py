"""Session rotations, as lttng-sessiond 2.13 runs them (cmd.c: cmd_rotate_session(),
session.c: session_create_new_trace_chunk(), session_close_trace_chunk(), rotation-thread.c:
check_session_rotation_pending(), timer.c), for a kernel session with local output or
streamed to lttng-relayd.

A streamed session's chunks are the relay daemon's: the consumer daemon creates the next
one there, rotates the streams and closes the old one in one request (consumerd/
relayd_rotation.py), and the relay daemon answers where the closed chunk goes
(``archives/<begin>-<end>-<n>`` of the session's folder), which becomes the archive's
location once the rotation is COMPLETED; the first chunk is created at the first start.

A rotation creates the next trace chunk (when the session is active), asks the consumer
to move every stream to it at the position of now, and closes the chunk being archived.
A background task then asks the consumer every DEFAULT_ROTATE_PENDING_TIMER whether a
stream still writes that chunk; once none does, the chunk's close command runs
(trace_chunk.py: archived, deleted or left) and the rotation is COMPLETED.

Rotation schedules: a periodic one rotates from a timer while the session runs; a size
one asks the consumer how many bytes the session's streams have written and rotates past
each threshold.  lttng-consumerd pushes that figure from each channel's monitor timer to
lttng-sessiond's notification thread, whose trigger wakes the rotation thread; here the
session daemon pulls it at the shortest monitor timer period of the session's channels,
and never when no channel has a monitor timer (no sample ever reaches the stock
notification thread then), with the same threshold logic (rotation-thread.c,
handle_condition()).
"""

from __future__ import annotations

import logging
import os
import time

import trio
from pylttng.consumerd.fs_identity import acting_as
from pylttng.protocol.client.constants import ErrorCode, RotationState
from pylttng.protocol.client.replies import RelayLocation
from pylttng.protocol.consumer import CloseCommandName, RelaydRotation

from .consumer_link import ConsumerError
from .context import DaemonContext
from .errors import CommandError
from .session import Session
from .trace_chunk import (
    TMP_NEW_CHUNK,
    TMP_OLD_CHUNK,
    CloseCommand,
    TraceChunk,
    create_chunk,
    release_chunk,
    rename_path,
)

log = logging.getLogger("pylttng.sessiond.rotation")

ROTATE_PENDING_CHECK_S = 0.5  # DEFAULT_ROTATE_PENDING_TIMER (500000 us)
IDLE_POLL_S = 1.0  # how often a session with no monitored channel is looked at again
_ARCHIVES = "archives"


def new_trace_chunk(session: Session) -> TraceChunk:
    """session_create_new_trace_chunk(): the current chunk moves aside first; the first
    chunk of a session never rotated lives in its output folder."""
    rot = session.rotation
    output = session.output_path
    next_id = 0 if rot.most_recent_chunk_id is None else rot.most_recent_chunk_id + 1
    path: str | None
    with acting_as(session.owner):
        if rot.current_chunk is not None:
            rename_path(output, rot.current_chunk, TMP_OLD_CHUNK)
            path = TMP_NEW_CHUNK
        else:
            path = None if rot.rotated else ""
        return create_chunk(output, next_id, path)


async def start_first_chunk(ctx: DaemonContext, session: Session) -> None:
    """cmd_start_trace(): the initial trace chunk of a session with an output. A streamed
    session's chunk lives on the relay daemon: the consumer daemon creates it there."""
    if session.relayd is not None:
        chunk = TraceChunk(id=0, creation_time=int(time.time()), path="")
        failure = await _rotate_relayd(ctx, session, None, chunk, CloseCommand.NO_OPERATION)
        if failure is not None:
            raise CommandError(ErrorCode.CREATE_TRACE_CHUNK_FAIL_CONSUMER, str(failure))
        session.rotation.current_chunk = chunk
        session.rotation.most_recent_chunk_id = chunk.id
        return
    try:
        chunk = new_trace_chunk(session)
    except OSError as exc:
        raise CommandError(ErrorCode.CREATE_DIR_FAIL, str(exc)) from None
    session.rotation.current_chunk = chunk
    session.rotation.most_recent_chunk_id = chunk.id


def _close_chunk(session: Session, chunk: TraceChunk, command: CloseCommand) -> None:
    """session_close_trace_chunk(): name the new current chunk's folder, put a chunk that
    stays back where it was, then date the closed chunk."""
    rot = session.rotation
    output = session.output_path
    chunk.close_command = command
    with acting_as(session.owner):
        if rot.current_chunk is not None:
            stays_in_output = command is CloseCommand.DELETE and not rot.rotated
            rename_path(output, rot.current_chunk, "" if stays_in_output else None)
        if command is CloseCommand.NO_OPERATION:
            rename_path(output, chunk, None if rot.rotated else "")
    if command is CloseCommand.MOVE_TO_COMPLETED:
        rot.rotated = True
    chunk.close_time = int(time.time())


def archive_path(session: Session) -> str | RelayLocation:
    """Where the last completed rotation put its chunk (session_get_trace_archive_location()):
    a local folder, or the relay daemon's address, ports and the path it answered."""
    rot = session.rotation
    if rot.state != RotationState.COMPLETED:
        return ""
    out = session.relayd
    if out is not None:
        if not rot.last_chunk_path:
            return ""
        return RelayLocation(out.control.address, out.control.port, out.data.port,
                             rot.last_chunk_path)
    if not rot.last_archived_chunk_name:
        return ""
    return os.path.join(session.output_path, _ARCHIVES, rot.last_archived_chunk_name)


async def rotate_session(
    ctx: DaemonContext, session: Session, *, command: CloseCommand, quiet: bool = False
) -> int | None:
    """cmd_rotate_session(): the id of the chunk being archived, None when the session had
    no chunk (nothing to wait for); ``quiet``: the rotation of a clear or destroy, which a
    live session may do.  Raises CommandError."""
    rot = session.rotation
    if not session.has_been_started:
        raise CommandError(ErrorCode.START_SESSION_ONCE)
    if (session.live_timer and not quiet) or not session.output_traces:
        raise CommandError(ErrorCode.ROTATION_NOT_AVAILABLE)
    if rot.state == RotationState.ONGOING:
        raise CommandError(ErrorCode.ROTATION_PENDING)
    if rot.rotated_after_last_stop:
        raise CommandError(ErrorCode.ROTATION_MULTIPLE_AFTER_STOP)
    if rot.cleared_after_last_stop:
        raise CommandError(ErrorCode.ROTATION_AFTER_STOP_CLEAR)
    new = None
    streamed = session.relayd is not None
    if session.active:
        try:
            new = _next_relayd_chunk(session) if streamed else new_trace_chunk(session)
        except OSError as exc:
            raise CommandError(ErrorCode.CREATE_DIR_FAIL, str(exc)) from None
    old, rot.current_chunk = rot.current_chunk, new
    if new is not None:
        rot.most_recent_chunk_id = new.id
    if streamed:
        failure = await _rotate_relayd(ctx, session, old, new, command)
    else:
        failure = await _rotate_kernel(ctx, session, new)
    if not session.active:
        rot.rotated_after_last_stop = True
    if old is None:
        if failure is not None:
            raise failure
        return None
    rot.state = RotationState.ONGOING
    rot.ended = trio.Event()
    rot.chunk_being_archived = old
    if streamed:
        old.close_command = command  # closed on the relay daemon by _rotate_relayd()
        rot.rotated = rot.rotated or command is CloseCommand.MOVE_TO_COMPLETED
    else:
        try:
            _close_chunk(session, old, command)
        except OSError as exc:
            failure = CommandError(ErrorCode.CLOSE_TRACE_CHUNK_FAIL_CONSUMER, str(exc))
    if failure is not None:
        _end_rotation(session, RotationState.ERROR)
        raise failure
    ctx.start_soon(_watch_pending_rotation, ctx, session, old)
    log.info("session %s: rotation of chunk %d started", session.name, old.id)
    return old.id


async def _rotate_kernel(
    ctx: DaemonContext, session: Session, new: TraceChunk | None
) -> CommandError | None:
    """kernel_rotate_session(): every stream of the session, metadata included."""
    ksess = session.kernel
    if ksess is None or not ksess.streams_sent:
        return None
    trace_dir = new.kernel_dir(session.output_path) if new is not None else ""
    try:
        link = await ctx.consumer.link()
        await link.rotate_session(session.id, trace_dir)
    except (ConsumerError, OSError) as exc:
        return CommandError(ErrorCode.ROTATION_FAIL_CONSUMER, str(exc))
    return None


def _next_relayd_chunk(session: Session) -> TraceChunk:
    """session_create_new_trace_chunk() of a streamed session: named by the relay daemon."""
    last = session.rotation.most_recent_chunk_id
    return TraceChunk(id=0 if last is None else last + 1, creation_time=int(time.time()),
                      path="")


async def _rotate_relayd(
    ctx: DaemonContext,
    session: Session,
    old: TraceChunk | None,
    new: TraceChunk | None,
    command: CloseCommand,
) -> CommandError | None:
    """session_set_trace_chunk() + kernel_rotate_session() + session_close_trace_chunk() of
    a streamed session, which the consumer daemon carries out with the relay daemon."""
    ksess = session.kernel
    if ksess is None or ksess.relayd_session_id is None:
        return None
    close_time = int(time.time())
    close_name: CloseCommandName = (
        "move_to_completed" if command is CloseCommand.MOVE_TO_COMPLETED
        else "delete" if command is CloseCommand.DELETE else "no_operation"
    )
    req = RelaydRotation(
        next_chunk_id=None if new is None else new.id,
        creation_time=close_time if new is None else new.creation_time,
        close_time=close_time,
        close_command=close_name,
    )
    try:
        link = await ctx.consumer.link()
        path = await link.rotate_relayd_session(session.id, req)
    except (ConsumerError, OSError) as exc:
        return CommandError(ErrorCode.ROTATION_FAIL_CONSUMER, str(exc))
    if old is not None:
        old.close_time = close_time
        session.rotation.last_chunk_path = path
    return None


async def _watch_pending_rotation(ctx: DaemonContext, session: Session, chunk: TraceChunk) -> None:
    """check_session_rotation_pending(), every DEFAULT_ROTATE_PENDING_TIMER."""
    try:
        await _poll_pending_rotation(ctx, session, chunk)
    except Exception:  # a bug must not take the daemon down, nor leave waiters waiting
        log.exception("session %s: rotation pending check failed", session.name)
        if session.rotation.chunk_being_archived is chunk:
            _end_rotation(session, RotationState.ERROR)


async def _poll_pending_rotation(ctx: DaemonContext, session: Session, chunk: TraceChunk) -> None:
    rot = session.rotation
    ksess = session.kernel
    while rot.chunk_being_archived is chunk:
        await trio.sleep(ROTATE_PENDING_CHECK_S)
        try:
            pending = False
            if ksess is not None and (ksess.streams_sent or ksess.relayd_session_id is not None):
                link = await ctx.consumer.link()
                pending = await link.rotation_pending(session.id)
        except (ConsumerError, OSError, CommandError) as exc:
            log.error("session %s: rotation pending check failed: %s", session.name, exc)
            pending = False
            state = RotationState.ERROR
        else:
            state = RotationState.COMPLETED
        if not pending and rot.chunk_being_archived is chunk:
            _end_rotation(session, state)


def _end_rotation(session: Session, state: RotationState) -> None:
    """session_reset_rotation_state(): run the close command of the chunk being archived
    (its archive exists once COMPLETED is reported) and wake whoever waits."""
    rot = session.rotation
    chunk = rot.chunk_being_archived
    if chunk is not None:
        if state == RotationState.COMPLETED:
            rot.last_archived_chunk_name = chunk.name
        rot.last_archived_chunk_id = chunk.id
        rot.chunk_being_archived = None
        try:
            if session.relayd is None:  # the relay daemon releases its own chunks
                with acting_as(session.owner):
                    release_chunk(session.output_path, chunk)
        except OSError as exc:
            log.error("session %s: trace chunk %d: %s", session.name, chunk.id, exc)
        log.info("session %s: rotation of chunk %d %s", session.name, chunk.id, state.name)
    rot.state = state
    rot.ended.set()


async def wait_rotation(session: Session) -> None:
    """Until the ongoing rotation, if any, is over."""
    if session.rotation.state == RotationState.ONGOING:
        await session.rotation.ended.wait()


def rotation_info(
    session: Session, rotation_id: int
) -> tuple[RotationState, str | RelayLocation]:
    """cmd_rotate_get_info(): a rotation's state and, once COMPLETED, its archive."""
    rot = session.rotation
    if rot.chunk_being_archived is not None:
        if rotation_id == rot.chunk_being_archived.id:
            return RotationState.ONGOING, ""
        return RotationState.EXPIRED, ""
    if rot.last_archived_chunk_id is not None and rotation_id != rot.last_archived_chunk_id:
        return RotationState.EXPIRED, ""
    return rot.state, archive_path(session)


# --- schedules ---------------------------------------------------------------------------


async def _scheduled_rotation(ctx: DaemonContext, session: Session, why: str) -> None:
    """launch_session_rotation() / handle_condition(): errors are not fatal."""
    async with ctx.command_lock:
        if ctx.sessions.get(session.name) is not session:
            return
        try:
            await rotate_session(ctx, session, command=CloseCommand.MOVE_TO_COMPLETED)
        except CommandError as exc:
            log.info("session %s: %s rotation skipped: %s", session.name, why, exc)
        except Exception:  # a bug must not take the daemon down
            log.exception("session %s: %s rotation failed", session.name, why)


async def _periodic_rotations(ctx: DaemonContext, session: Session, period_us: int,
                              scope: trio.CancelScope) -> None:
    with scope:
        while True:
            await trio.sleep(period_us / 1e6)
            await _scheduled_rotation(ctx, session, "periodic")


def monitor_period_s(session: Session) -> float | None:
    """The shortest monitor timer period of the session's kernel channels (--monitor-timer,
    in µs; 0 turns a channel's monitor off), or None when no channel is monitored."""
    periods = [c.attr.monitor_timer_interval for c in session.kernel.channels
               if c.attr.monitor_timer_interval] if session.kernel else []
    return min(periods) / 1e6 if periods else None


async def _size_rotations(ctx: DaemonContext, session: Session, size: int,
                          scope: trio.CancelScope) -> None:
    threshold = size
    with scope:
        while True:
            period = monitor_period_s(session)
            await trio.sleep(IDLE_POLL_S if period is None else period)
            ksess = session.kernel
            if period is None or ksess is None or not ksess.streams_sent:
                continue
            try:
                consumed = await (await ctx.consumer.link()).consumed_size(session.id)
            except (ConsumerError, OSError, CommandError) as exc:
                log.warning("session %s: consumed size unknown: %s", session.name, exc)
                continue
            if consumed >= threshold:
                await _scheduled_rotation(ctx, session, "size")
                threshold = consumed + size  # subscribe to the next threshold


def start_timer(ctx: DaemonContext, session: Session) -> None:
    """timer_session_rotation_schedule_timer_start(), if not running."""
    rot = session.rotation
    if rot.timer is None and rot.timer_period_us:
        rot.timer = trio.CancelScope()
        ctx.start_soon(_periodic_rotations, ctx, session, rot.timer_period_us, rot.timer)


def stop_timer(session: Session) -> None:
    rot = session.rotation
    if rot.timer is not None:
        rot.timer.cancel()
        rot.timer = None


def start_size_watch(ctx: DaemonContext, session: Session) -> None:
    """subscribe_session_consumed_size_rotation()."""
    rot = session.rotation
    rot.size_watch = trio.CancelScope()
    ctx.start_soon(_size_rotations, ctx, session, rot.size_bytes, rot.size_watch)


def stop_size_watch(session: Session) -> None:
    rot = session.rotation
    if rot.size_watch is not None:
        rot.size_watch.cancel()
        rot.size_watch = None
