"""Process attribute tracker commands of the kernel domain (cmd.c and kernel.c,
cmd_process_attr_tracker_*(), lttng-sessiond 2.13)."""

from __future__ import annotations

from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import DomainType, ErrorCode, ProcessAttr, TrackingPolicy

from .context import DaemonContext
from .errors import CommandError
from .session import Session


def _check(session: Session, domain: int, process_attr: int) -> None:
    if domain != DomainType.KERNEL or session.kernel is None:
        raise CommandError(ErrorCode.INVALID)
    if process_attr not in tuple(ProcessAttr):
        raise CommandError(ErrorCode.INVALID)


async def handle_get_policy(
    ctx: DaemonContext, cmd: c.TrackerGetPolicy, session: Session
) -> r.Answer:
    """Every tracker includes all until trackers can be set."""
    _check(session, cmd.domain.type, cmd.process_attr)
    return r.TrackingPolicyAnswer(TrackingPolicy.INCLUDE_ALL)


async def handle_get_inclusion_set(
    ctx: DaemonContext, cmd: c.TrackerGetInclusionSet, session: Session
) -> r.Answer:
    """With an include-all policy there is no set to return (tracker.c)."""
    _check(session, cmd.domain.type, cmd.process_attr)
    raise CommandError(ErrorCode.PROCESS_ATTR_TRACKER_INVALID_TRACKING_POLICY)


async def handle_change(
    ctx: DaemonContext, cmd: c.TrackerSetPolicy | c.TrackerChangeValue, session: Session
) -> r.Answer:
    _check(session, cmd.domain.type, cmd.process_attr)
    raise CommandError(ErrorCode.NOT_SUPPORTED, "process attribute trackers are not available yet")
