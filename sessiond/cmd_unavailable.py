"""Commands pylttng does not carry out yet, refused the way lttng-sessiond 2.13 refuses
a feature it lacks: LTTNG_ERR_NOT_SUPPORTED, logged, the session left as it was."""

from __future__ import annotations

import logging

from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import ErrorCode

from .context import DaemonContext
from .errors import CommandError

log = logging.getLogger("pylttng.sessiond.unavailable")


async def refuse(ctx: DaemonContext, cmd: c.ClientCommand, _: object) -> r.Answer:
    what = type(cmd).__name__
    log.warning("refused %s: not available in pylttng-sessiond yet", what)
    raise CommandError(ErrorCode.NOT_SUPPORTED, f"{what} is not available yet")
