"""The error a session load reports when one of its commands fails: liblttng-ctl turns
the session daemon's answer to some of them into a status, and session-config.c (lttng-tools
2.13) turns that status into its own error; the others' errors come through as they are."""

from __future__ import annotations

from pylttng.protocol.client import commands as c
from pylttng.protocol.client.constants import ErrorCode


def load_error(cmd: c.ClientCommand, code: ErrorCode) -> ErrorCode:
    if isinstance(cmd, c.TrackerSetPolicy):
        # lttng_process_attr_tracker_handle_set_tracking_policy() failed: UNK.
        return ErrorCode.UNK
    if isinstance(cmd, c.TrackerChangeValue):
        # process_id_tracker_node(): an existing or missing value is named, the rest
        # (user or group not found too) is UNK.
        known = (ErrorCode.PROCESS_ATTR_EXISTS, ErrorCode.PROCESS_ATTR_MISSING)
        return code if code in known else ErrorCode.UNK
    if isinstance(cmd, c.RotationSetSchedule):
        # add_periodic_rotation() / add_size_rotation(): SCHEDULE_ALREADY_SET and INVALID
        # statuses are an invalid configuration, any other failure UNK.
        if code in (ErrorCode.ROTATION_SCHEDULE_SET, ErrorCode.ROTATION_SCHEDULE_NOT_SET):
            return ErrorCode.LOAD_INVALID_CONFIG
        return ErrorCode.UNK
    return code
