"""Session life-cycle commands: create, start, stop, data pending, destroy (cmd.c)."""

from __future__ import annotations

import os
import time

from pylttng.protocol.client.constants import (
    ErrorCode,
    SessionDescriptorOutputType,
    SessionDescriptorType,
    UriDstType,
)
from pylttng.protocol.client.messages import CreateSessionArgs, SessionDescriptor, Uri

from .context import Credentials, DaemonContext
from .errors import CommandError
from .paths import home_dir
from .session import Session

DEFAULT_SESSION_NAME = "auto"
DEFAULT_TRACE_DIR_NAME = "lttng-traces"


def _datetime(timestamp: int) -> str:
    # The stock daemon formats creation times in local time, "%Y%m%d-%H%M%S".
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(timestamp))


def create_session(
    ctx: DaemonContext, args: CreateSessionArgs, creds: Credentials
) -> SessionDescriptor:
    """cmd_create_session(): register the session, return the completed descriptor."""
    desc = args.descriptor
    now = int(time.time())
    auto_named = desc.name is None
    name = desc.name if desc.name is not None else f"{DEFAULT_SESSION_NAME}-{_datetime(now)}"
    if not name or "/" in name:
        raise CommandError(ErrorCode.SESSION_INVALID_CHAR)
    if name in ctx.sessions:
        raise CommandError(ErrorCode.EXIST_SESS)
    if desc.output_type == SessionDescriptorOutputType.NETWORK or (
        desc.type == SessionDescriptorType.LIVE
    ):
        # Streaming to lttng-relayd is the consumer daemon's business; not offered yet.
        raise CommandError(ErrorCode.NOT_SUPPORTED, "network output")
    uris: tuple[Uri, ...] = ()
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
    snapshot = desc.type == SessionDescriptorType.SNAPSHOT
    session = Session(
        id=ctx.sessions.next_id(),
        name=name,
        output_path="" if snapshot else output_path,
        creation_time=now,
        uid=creds.uid,
        gid=creds.gid,
        auto_named=auto_named,
        snapshot_mode=snapshot,
    )
    ctx.sessions.add(session)
    return SessionDescriptor(
        type=desc.type,
        output_type=desc.output_type,
        name=name,
        uris=uris,
        live_timer_us=desc.live_timer_us,
    )


async def start_trace(ctx: DaemonContext, session: Session) -> None:
    """cmd_start_trace()."""
    if session.active:
        raise CommandError(ErrorCode.TRACE_ALREADY_STARTED)
    nb_channels = len(session.kernel.channels) if session.kernel else 0
    if not nb_channels:
        raise CommandError(ErrorCode.NO_CHANNEL)
    if session.output_traces:
        try:
            os.makedirs(session.kernel_trace_dir, mode=0o770, exist_ok=True)
        except OSError as exc:
            raise CommandError(ErrorCode.CREATE_DIR_FAIL, str(exc)) from None
    session.active = True
    try:
        if session.kernel is not None:
            await ctx.kernel.start(session)
    except CommandError:
        session.active = False
        raise
    session.has_been_started = True


async def stop_trace(ctx: DaemonContext, session: Session) -> None:
    """cmd_stop_trace()."""
    if not session.active:
        raise CommandError(ErrorCode.TRACE_ALREADY_STOPPED)
    await ctx.kernel.stop(session)
    session.active = False


async def data_pending(ctx: DaemonContext, session: Session) -> bool:
    """cmd_data_pending(): only meaningful once stopped."""
    if session.active:
        raise CommandError(ErrorCode.SESSION_STARTED)
    if not session.has_been_started:
        return False
    return await ctx.kernel.data_pending(session)


async def destroy_session(ctx: DaemonContext, session: Session) -> None:
    """cmd_destroy_session(): stop if needed, tear the kernel side down, forget it."""
    if session.active:
        await stop_trace(ctx, session)
    await ctx.kernel.destroy(session)
    ctx.sessions.remove(session)
