"""Session life-cycle commands: create, start, stop, data pending, destroy, and the
session's shm path (cmd.c of lttng-sessiond 2.13)."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time

from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import (
    ErrorCode,
    RotationState,
    SessionDescriptorOutputType,
    SessionDescriptorType,
    UriDstType,
)
from pylttng.protocol.client.messages import Uri

from . import live, relayd_output, rotation
from .cmd_snapshots import add_snapshot_output
from .context import Credentials, DaemonContext
from .errors import CommandError
from .kernel_session import (
    destroy_kernel_session,
    kernel_data_pending,
    start_kernel_session,
    stop_kernel_session,
)
from .paths import home_dir
from .session import Session
from .trace_chunk import CloseCommand

log = logging.getLogger("pylttng.sessiond.sessions")

DEFAULT_SESSION_NAME = "auto"
DEFAULT_TRACE_DIR_NAME = "lttng-traces"


def _datetime(timestamp: int) -> str:
    # The stock daemon formats creation times in local time, "%Y%m%d-%H%M%S".
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(timestamp))


async def handle_create(ctx: DaemonContext, cmd: c.CreateSession, creds: Credentials) -> r.Answer:
    """cmd_create_session(): register the session, return the completed descriptor."""
    args = cmd.args
    desc = args.descriptor
    now = int(time.time())
    auto_named = desc.name is None
    name = desc.name if desc.name is not None else f"{DEFAULT_SESSION_NAME}-{_datetime(now)}"
    if not name or "/" in name:
        raise CommandError(ErrorCode.SESSION_INVALID_CHAR)
    if name in ctx.sessions:
        raise CommandError(ErrorCode.EXIST_SESS)
    snapshot = desc.type == SessionDescriptorType.SNAPSHOT
    network = desc.output_type == SessionDescriptorOutputType.NETWORK
    if desc.type == SessionDescriptorType.LIVE:
        live.check_descriptor(desc)
    uris: tuple[Uri, ...] = live.network_uris(desc) if network else ()
    relayd = relayd_output.from_uris(uris) if network else None
    output_path = ""
    if desc.output_type == SessionDescriptorOutputType.LOCAL:
        if desc.uris:
            output_path = desc.uris[0].dst
        else:
            base = os.path.join(args.home_dir or home_dir(), DEFAULT_TRACE_DIR_NAME)
            # Generated names already carry the date; others get it appended.
            leaf = name if auto_named else f"{name}-{_datetime(now)}"
            output_path = os.path.join(base, leaf)
        uris = (Uri(dtype=UriDstType.PATH, dst=output_path),)
    session = Session(
        id=ctx.sessions.next_id(),
        name=name,
        # A snapshot session writes nothing as it runs: its output is its first snapshot
        # output (cmd_create_session_from_descriptor()).
        output_path="" if snapshot else output_path,
        creation_time=now,
        uid=creds.uid,
        gid=creds.gid,
        auto_named=auto_named,
        snapshot_mode=snapshot,
        # A snapshot session's relay daemon is its snapshot output's, not a consumer
        # output streamed to (set_session_output_from_descriptor()).
        relayd=None if snapshot else relayd,
        hostname=socket.gethostname(),
        live_timer=(desc.live_timer_us or 0) if desc.type == SessionDescriptorType.LIVE else 0,
    )
    if snapshot and (output_path or relayd is not None):
        add_snapshot_output(session, name="", max_size=0, path=output_path, relayd=relayd)
    ctx.sessions.add(session)
    return r.SessionCreated(dataclasses.replace(desc, name=name, uris=uris))


async def handle_start(ctx: DaemonContext, cmd: c.StartTrace, session: Session) -> r.Answer:
    """cmd_start_trace(): the first start creates the first trace chunk; a start after a
    rotation while stopped rotates quietly from no chunk to a new one."""
    rot = session.rotation
    if session.active:
        raise CommandError(ErrorCode.TRACE_ALREADY_STARTED)
    if rot.state == RotationState.ONGOING and rot.current_chunk is None:
        raise CommandError(ErrorCode.ROTATION_PENDING)
    nb_channels = len(session.kernel.channels) if session.kernel else 0
    if not nb_channels:
        raise CommandError(ErrorCode.NO_CHANNEL)
    if session.live_timer and session.relayd is None:
        # A live session loaded without its URLs (SET_CONSUMER_URI failed or never came).
        log.warning("start %s refused: a live session without a relay daemon output",
                    session.name)
        raise CommandError(ErrorCode.NOT_SUPPORTED, "live session without an output")
    if session.relayd is not None and session.kernel is not None:
        relayd_output.refuse_trace_file_limits(session, "start")
        await relayd_output.setup_relayd(ctx, session)
    session.active = True
    rot.rotated_after_last_stop = rot.cleared_after_last_stop = False
    try:
        if session.output_traces and rot.current_chunk is None:
            if not session.has_been_started:
                await rotation.start_first_chunk(ctx, session)
            else:
                await rotation.rotate_session(ctx, session, command=CloseCommand.NO_OPERATION,
                                              quiet=True)
        if session.kernel is not None:
            await start_kernel_session(ctx, session)
    except CommandError:
        session.active = False
        raise
    session.has_been_started = True
    rotation.start_timer(ctx, session)
    return r.Done()


async def stop_trace(ctx: DaemonContext, session: Session) -> None:
    """cmd_stop_trace()."""
    if not session.active:
        raise CommandError(ErrorCode.TRACE_ALREADY_STOPPED)
    await stop_kernel_session(ctx, session)
    session.active = False


async def handle_stop(ctx: DaemonContext, cmd: c.StopTrace, session: Session) -> r.Answer:
    await stop_trace(ctx, session)
    return r.Done()


async def handle_data_pending(
    ctx: DaemonContext, cmd: c.DataPending, session: Session
) -> r.Answer:
    """cmd_data_pending(): only meaningful once stopped."""
    if session.active:
        raise CommandError(ErrorCode.SESSION_STARTED)
    if not session.has_been_started:
        return r.DataPendingAnswer(False)
    if session.rotation.state == RotationState.ONGOING:
        return r.DataPendingAnswer(True)  # a rotation is still pending: wait for it
    return r.DataPendingAnswer(await kernel_data_pending(ctx, session))


async def destroy_session(ctx: DaemonContext, session: Session) -> r.SessionDestroyed:
    """cmd_destroy_session(): stop if needed, end the rotation schedules; a session that
    was rotated has its last chunk archived too, and the reply waits for that (the
    destroy notifier runs once the session is released); then tear the kernel side down
    and forget it."""
    if session.active:
        await stop_trace(ctx, session)
    rotation.stop_timer(session)
    rotation.stop_size_watch(session)
    rot = session.rotation
    implicit = rot.rotated and rot.current_chunk is not None and session.output_traces
    failure = None
    if implicit:
        try:
            await rotation.rotate_session(ctx, session, command=CloseCommand.MOVE_TO_COMPLETED,
                                          quiet=True)
        except CommandError as exc:
            failure = exc
    await rotation.wait_rotation(session)
    closing = await destroy_kernel_session(ctx, session)
    failure = failure or closing
    ctx.sessions.remove(session)
    if failure is not None:
        raise failure
    if not implicit:
        return r.SessionDestroyed()
    return r.SessionDestroyed(rot.state, rotation.archive_path(session))


async def handle_destroy(ctx: DaemonContext, cmd: c.DestroySession, session: Session) -> r.Answer:
    return await destroy_session(ctx, session)


async def handle_set_shm_path(
    ctx: DaemonContext, cmd: c.SetSessionShmPath, session: Session
) -> r.Answer:
    """cmd_set_session_shm_path(): kept for user-space buffers, which kernel sessions lack."""
    if session.has_been_started:
        raise CommandError(ErrorCode.SESSION_STARTED)
    session.shm_path = cmd.shm_path
    return r.Done()
