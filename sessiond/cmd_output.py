"""SET_CONSUMER_URI (cmd.c: cmd_set_consumer_uri()): what `lttng load` sends to give a
session created without an output its relay daemon URLs."""

from __future__ import annotations

import logging

from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import ErrorCode, UriDstType

from . import relayd_output
from .context import DaemonContext
from .errors import CommandError
from .session import Session

log = logging.getLogger("pylttng.sessiond.output")


async def handle_set_consumer_uri(
    ctx: DaemonContext, cmd: c.SetConsumerUri, session: Session
) -> r.Answer:
    if session.active:
        raise CommandError(ErrorCode.TRACE_ALREADY_STARTED)
    if session.relayd is not None:
        raise CommandError(ErrorCode.URL_EXIST)
    local = any(u.dtype == UriDstType.PATH for u in cmd.uris)
    ksess = session.kernel
    if local or session.snapshot_mode or session.has_been_started or (
        ksess is not None and ksess.relayd_session_id is not None
    ):
        # A new local path, snapshot outputs through it, or a session that already
        # recorded or streams: not carried out yet.
        log.warning("set consumer URI of %s refused: not available in pylttng-sessiond yet",
                    session.name)
        raise CommandError(ErrorCode.NOT_SUPPORTED, "consumer URI")
    session.relayd = relayd_output.from_uris(await relayd_output.resolve(cmd.uris))
    session.output_path = ""  # not created before the first start: nothing to undo
    log.info("session %s: output set to %s", session.name, session.relayd.list_path)
    return r.Done()
