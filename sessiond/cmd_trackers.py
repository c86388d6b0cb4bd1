"""Process attribute tracker commands of the kernel domain: `lttng track` / `untrack`
and the tracker part of `lttng list` (cmd_process_attr_tracker_*() of cmd.c, tracker.c
and kernel_process_attr_tracker_*() of kernel.c, lttng-sessiond 2.13).

The daemon keeps each tracker's policy and values as the user gave them (a user name
stays a name, for listings); the module gets the ids, through the LTTng-modules tracker
ioctls, and filters every record on them.
"""

from __future__ import annotations

import errno
import grp
import pwd

from pylttng.protocol import kernel_abi as abi
from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import DomainType, ErrorCode, ProcessAttr, TrackingPolicy

from .context import DaemonContext
from .errors import CommandError
from .kernel_session import wait_quiescent
from .kernel_tracer import KernelTracer, KernelTracerError
from .session import KernelSession, ProcessAttrTracker, Session

# enum lttng_process_attr_value_type
VALUE_PID, VALUE_UID, VALUE_USER_NAME, VALUE_GID, VALUE_GROUP_NAME = range(5)

# The value types each attribute takes (process_attr_value_from_comm()).
_VALUE_TYPES = {
    ProcessAttr.PROCESS_ID: (VALUE_PID,),
    ProcessAttr.VIRTUAL_PROCESS_ID: (VALUE_PID,),
    ProcessAttr.USER_ID: (VALUE_UID, VALUE_USER_NAME),
    ProcessAttr.VIRTUAL_USER_ID: (VALUE_UID, VALUE_USER_NAME),
    ProcessAttr.GROUP_ID: (VALUE_GID, VALUE_GROUP_NAME),
    ProcessAttr.VIRTUAL_GROUP_ID: (VALUE_GID, VALUE_GROUP_NAME),
}

# kern-ctl errno -> lttng error (kernel_process_attr_tracker_*()).
_TRACK_ERRORS = {
    errno.EINVAL: ErrorCode.INVALID,
    errno.ENOMEM: ErrorCode.NOMEM,
    errno.EEXIST: ErrorCode.PROCESS_ATTR_EXISTS,
    errno.ENOENT: ErrorCode.PROCESS_ATTR_MISSING,
}


def _tracker(session: Session, domain: int, process_attr: int) -> tuple[KernelSession,
                                                                       ProcessAttrTracker]:
    if domain != DomainType.KERNEL:
        raise CommandError(ErrorCode.UNSUPPORTED_DOMAIN)
    if session.kernel is None or process_attr not in _VALUE_TYPES:
        raise CommandError(ErrorCode.INVALID)
    ksess = session.kernel
    return ksess, ksess.trackers[ProcessAttr(process_attr)]


async def _kernel_track(
    tracker: KernelTracer, ksess: KernelSession, attr: ProcessAttr, id_: int, *, track: bool
) -> None:
    """kernctl_track_pid()/_id() or the untrack ones; -1 means every id."""
    assert ksess.fd is not None
    try:
        await tracker.set_tracked(ksess.fd, abi.TrackerType(int(attr)), id_, tracked=track)
    except KernelTracerError as exc:
        await wait_quiescent(tracker)
        raise CommandError(_TRACK_ERRORS.get(exc.errno or 0, ErrorCode.UNK), str(exc)) from None


async def handle_get_policy(
    ctx: DaemonContext, cmd: c.TrackerGetPolicy, session: Session
) -> r.Answer:
    _, tracker = _tracker(session, cmd.domain.type, cmd.process_attr)
    return r.TrackingPolicyAnswer(tracker.policy)


async def handle_get_inclusion_set(
    ctx: DaemonContext, cmd: c.TrackerGetInclusionSet, session: Session
) -> r.Answer:
    _, tracker = _tracker(session, cmd.domain.type, cmd.process_attr)
    if tracker.policy != TrackingPolicy.INCLUDE_SET:
        raise CommandError(ErrorCode.PROCESS_ATTR_TRACKER_INVALID_TRACKING_POLICY)
    return r.InclusionSet(list(tracker.values))


async def handle_set_policy(
    ctx: DaemonContext, cmd: c.TrackerSetPolicy, session: Session
) -> r.Answer:
    """INCLUDE_ALL tracks every id in the kernel; EXCLUDE_ALL and INCLUDE_SET start from
    none (the set is emptied on any change of policy)."""
    ksess, tracker = _tracker(session, cmd.domain.type, cmd.process_attr)
    if cmd.policy not in tuple(TrackingPolicy):
        raise CommandError(ErrorCode.INVALID)
    policy = TrackingPolicy(cmd.policy)
    if policy == tracker.policy:
        return r.Done()
    tracker.policy = policy
    tracker.values.clear()
    kernel = await ctx.tracer.get()
    await _kernel_track(kernel, ksess, tracker.attr, -1,
                        track=policy == TrackingPolicy.INCLUDE_ALL)
    return r.Done()


async def handle_change_value(
    ctx: DaemonContext, cmd: c.TrackerChangeValue, session: Session
) -> r.Answer:
    """Add a value to a tracker's inclusion set, or remove it; the kernel is told, and the
    set is rolled back if the kernel refuses."""
    ksess, tracker = _tracker(session, cmd.domain.type, cmd.process_attr)
    if cmd.value_type not in _VALUE_TYPES[tracker.attr]:
        raise CommandError(ErrorCode.INVALID)
    value = (cmd.value_type, cmd.value)
    id_ = _kernel_id(cmd.value_type, cmd.value)
    if tracker.policy != TrackingPolicy.INCLUDE_SET:
        raise CommandError(ErrorCode.PROCESS_ATTR_TRACKER_INVALID_TRACKING_POLICY)
    present = value in tracker.values
    if cmd.add and present:
        raise CommandError(ErrorCode.PROCESS_ATTR_EXISTS)
    if not cmd.add and not present:
        raise CommandError(ErrorCode.PROCESS_ATTR_MISSING)
    kernel = await ctx.tracer.get()
    await _kernel_track(kernel, ksess, tracker.attr, id_, track=cmd.add)
    if cmd.add:
        tracker.values.append(value)
    else:
        tracker.values.remove(value)
    return r.Done()


def _kernel_id(value_type: int, value: int | str) -> int:
    """The id the module compares: names resolved now (utils_user_id_from_name())."""
    if isinstance(value, int):
        return value
    try:
        if value_type == VALUE_USER_NAME:
            return pwd.getpwnam(value).pw_uid
        return grp.getgrnam(value).gr_gid
    except KeyError:
        code = ErrorCode.USER_NOT_FOUND if value_type == VALUE_USER_NAME else (
            ErrorCode.GROUP_NOT_FOUND)
        raise CommandError(code, value) from None
