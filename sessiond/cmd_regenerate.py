"""REGENERATE_STATEDUMP and REGENERATE_METADATA (cmd_regenerate_statedump() and
cmd_regenerate_metadata() of lttng-sessiond 2.13, cmd.c)."""

from __future__ import annotations

import errno

from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import ErrorCode

from .context import DaemonContext
from .errors import CommandError
from .kernel_tracer import KernelTracerError
from .session import Session


async def handle_statedump(
    ctx: DaemonContext, cmd: c.RegenerateStatedump, session: Session
) -> r.Answer:
    """The kernel session records its state dump again."""
    if not session.active:
        raise CommandError(ErrorCode.SESSION_NOT_STARTED)
    if session.kernel is None or session.kernel.fd is None:
        return r.Done()
    tracer = await ctx.tracer.get()
    try:
        await tracer.statedump(session.kernel.fd)
    except KernelTracerError as exc:
        code = (ErrorCode.REGEN_STATEDUMP_NOMEM if exc.errno == errno.ENOMEM
                else ErrorCode.REGEN_STATEDUMP_FAIL)
        raise CommandError(code, f"kernel statedump: {exc}") from None
    return r.Done()


async def handle_metadata(
    ctx: DaemonContext, cmd: c.RegenerateMetadata, session: Session
) -> r.Answer:
    """The kernel writes the session's TSDL again (with the clock offset of now); the
    consumer daemon starts the metadata file over (check_regenerate_metadata_support())."""
    if session.live_timer:
        raise CommandError(ErrorCode.LIVE_SESSION)
    if not session.active:
        raise CommandError(ErrorCode.SESSION_NOT_STARTED)
    if session.kernel is None or session.kernel.fd is None:
        return r.Done()
    tracer = await ctx.tracer.get()
    try:
        await tracer.regenerate_metadata(session.kernel.fd)
    except KernelTracerError as exc:
        raise CommandError(ErrorCode.UNK, f"kernel metadata regeneration: {exc}") from None
    return r.Done()
