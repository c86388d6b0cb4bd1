"""Numbers of the lttng-tools 2.13 relayd protocol (consumerd/sessiond <-> lttng-relayd).

Sources, lttng-tools stable-2.13:
- src/common/sessiond-comm/sessiond-comm.h: enum lttcomm_relayd_command
- src/common/sessiond-comm/relayd.h: sizes of the names, configuration flags
- include/lttng/constant.h: LTTNG_NAME_MAX, LTTNG_HOST_NAME_MAX, LTTNG_PATH_MAX
- src/common/trace-chunk.h: enum lttng_trace_chunk_command_type
- configure.ac: the default ports and DEFAULT_NETWORK_RELAYD_CTRL_MAX_PAYLOAD_SIZE
"""

from __future__ import annotations

import enum
from typing import Final

# relayd.h: RELAYD_VERSION_COMM_MAJOR/MINOR are the lttng-tools version of the peer.
VERSION_MAJOR: Final = 2
VERSION_MINOR: Final = 13
# The layouts here are those of protocol 2.11 and later (cmd-2-11.c): older relay
# daemons get fixed-size create-session and add-stream messages that we do not write.
OLDEST_MINOR: Final = 11

# include/lttng/constant.h
NAME_MAX: Final = 255
HOST_NAME_MAX: Final = 256
PATH_MAX: Final = 4096
# src/common/defaults.h: DEFAULT_STREAM_NAME_LEN = LTTNG_SYMBOL_NAME_LEN + 8
STREAM_NAME_MAX: Final = 256 + 8
UUID_LEN: Final = 16  # src/common/uuid.h: LTTNG_UUID_LEN

# configure.ac: lttng-relayd closes a control connection announcing a bigger payload
# (main.c: relay_process_control_receive_header()).
MAX_CONTROL_PAYLOAD: Final = 134217728

# configure.ac: DEFAULT_NETWORK_{CONTROL,DATA,VIEWER}_PORT
DEFAULT_CONTROL_PORT: Final = 5342
DEFAULT_DATA_PORT: Final = 5343
DEFAULT_VIEWER_PORT: Final = 5344


class Command(enum.IntEnum):
    """enum lttcomm_relayd_command (sessiond-comm.h)."""

    ADD_STREAM = 1
    CREATE_SESSION = 2
    START_DATA = 3
    UPDATE_SYNC_INFO = 4
    VERSION = 5
    SEND_METADATA = 6
    CLOSE_STREAM = 7
    DATA_PENDING = 8
    QUIESCENT_CONTROL = 9
    BEGIN_DATA_PENDING = 10
    END_DATA_PENDING = 11
    ADD_INDEX = 12
    SEND_INDEX = 13
    CLOSE_INDEX = 14
    LIST_SESSIONS = 15
    STREAMS_SENT = 16
    RESET_METADATA = 17
    ROTATE_STREAMS = 18
    CREATE_TRACE_CHUNK = 19
    CLOSE_TRACE_CHUNK = 20
    TRACE_CHUNK_EXISTS = 21
    GET_CONFIGURATION = 22


# Commands a 2.13 lttng-relayd answers "unknown" (LTTNG_ERR_UNK) and then drops the
# connection (main.c: relay_process_control_command(), default case): UPDATE_SYNC_INFO
# is named there but not handled, the others are no longer sent by any 2.x peer.
UNHANDLED_COMMANDS: Final = frozenset(
    {
        Command.UPDATE_SYNC_INFO,
        Command.ADD_INDEX,
        Command.CLOSE_INDEX,
        Command.LIST_SESSIONS,
    }
)


class TraceChunkCommand(enum.IntEnum):
    """enum lttng_trace_chunk_command_type (trace-chunk.h): what closing a chunk does."""

    MOVE_TO_COMPLETED = 0
    NO_OPERATION = 1
    DELETE = 2


class ConfigurationFlag(enum.IntFlag):
    """enum lttcomm_relayd_configuration_flag (relayd.h)."""

    CLEAR_ALLOWED = 1 << 0
