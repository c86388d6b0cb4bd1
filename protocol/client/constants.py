"""Enumerations and sizes of the lttng-tools 2.13 client protocol.

Values come from lttng-tools stable-2.13:
- src/common/sessiond-comm/sessiond-comm.h (enum lttcomm_sessiond_command)
- include/lttng/lttng-error.h (enum lttng_error_code)
- include/lttng/domain.h, event.h, channel.h, tracker.h, constant.h
"""

from __future__ import annotations

import enum

# include/lttng/constant.h
SYMBOL_NAME_LEN = 256
NAME_MAX = 255
PATH_MAX = 4096

DEFAULT_CHANNEL_NAME = "channel0"  # src/common/defaults.h


class Command(enum.IntEnum):
    """enum lttcomm_sessiond_command (sessiond-comm.h)."""

    ADD_CONTEXT = 0
    DISABLE_CHANNEL = 2
    DISABLE_EVENT = 3
    LIST_SYSCALLS = 4
    ENABLE_CHANNEL = 5
    ENABLE_EVENT = 6
    DESTROY_SESSION = 9
    LIST_CHANNELS = 10
    LIST_DOMAINS = 11
    LIST_EVENTS = 12
    LIST_SESSIONS = 13
    LIST_TRACEPOINTS = 14
    REGISTER_CONSUMER = 15
    START_TRACE = 16
    STOP_TRACE = 17
    LIST_TRACEPOINT_FIELDS = 18
    DISABLE_CONSUMER = 19
    ENABLE_CONSUMER = 20
    SET_CONSUMER_URI = 21
    DATA_PENDING = 24
    SNAPSHOT_ADD_OUTPUT = 25
    SNAPSHOT_DEL_OUTPUT = 26
    SNAPSHOT_LIST_OUTPUT = 27
    SNAPSHOT_RECORD = 28
    SAVE_SESSION = 31
    PROCESS_ATTR_TRACKER_ADD_INCLUDE_VALUE = 32
    PROCESS_ATTR_TRACKER_REMOVE_INCLUDE_VALUE = 33
    PROCESS_ATTR_TRACKER_GET_POLICY = 34
    PROCESS_ATTR_TRACKER_SET_POLICY = 35
    PROCESS_ATTR_TRACKER_GET_INCLUSION_SET = 36
    SET_SESSION_SHM_PATH = 40
    REGENERATE_METADATA = 41
    REGENERATE_STATEDUMP = 42
    REGISTER_TRIGGER = 43
    UNREGISTER_TRIGGER = 44
    ROTATE_SESSION = 45
    ROTATION_GET_INFO = 46
    ROTATION_SET_SCHEDULE = 47
    SESSION_LIST_ROTATION_SCHEDULES = 48
    CREATE_SESSION_EXT = 49
    CLEAR_SESSION = 50
    LIST_TRIGGERS = 51
    EXECUTE_ERROR_QUERY = 52


# lttcomm_sessiond_command_is_valid(): MIN < cmd < MAX
COMMAND_MAX = 53


class ErrorCode(enum.IntEnum):
    """enum lttng_error_code (include/lttng/lttng-error.h), without the LTTNG_ERR_ prefix."""

    OK = 10
    UNK = 11
    UND = 12
    SESSION_STARTED = 13
    UNKNOWN_DOMAIN = 14
    NOT_SUPPORTED = 15
    NO_SESSION = 16
    CREATE_DIR_FAIL = 17
    SESSION_FAIL = 18
    NO_SESSIOND = 19
    SET_URL = 20
    URL_EXIST = 21
    BUFFER_NOT_SUPPORTED = 22
    SESS_NOT_FOUND = 23
    BUFFER_TYPE_MISMATCH = 24
    FATAL = 25
    NOMEM = 26
    SELECT_SESS = 27
    EXIST_SESS = 28
    NO_EVENT = 29
    CONNECT_FAIL = 30
    SNAPSHOT_OUTPUT_EXIST = 31
    EPERM = 32
    KERN_NA = 33
    KERN_VERSION = 34
    KERN_EVENT_EXIST = 35
    KERN_SESS_FAIL = 36
    KERN_CHAN_EXIST = 37
    KERN_CHAN_FAIL = 38
    KERN_CHAN_NOT_FOUND = 39
    KERN_CHAN_DISABLE_FAIL = 40
    KERN_CHAN_ENABLE_FAIL = 41
    KERN_CONTEXT_FAIL = 42
    KERN_ENABLE_FAIL = 43
    KERN_DISABLE_FAIL = 44
    KERN_META_FAIL = 45
    KERN_START_FAIL = 46
    KERN_STOP_FAIL = 47
    KERN_CONSUMER_FAIL = 48
    KERN_STREAM_FAIL = 49
    START_SESSION_ONCE = 50
    SNAPSHOT_FAIL = 51
    NO_STREAM = 52
    KERN_LIST_FAIL = 53
    UST_CALIBRATE_FAIL = 54
    UST_EVENT_ENABLED = 55
    UST_SESS_FAIL = 56
    UST_CHAN_EXIST = 57
    UST_CHAN_FAIL = 58
    UST_CHAN_NOT_FOUND = 59
    UST_CHAN_DISABLE_FAIL = 60
    UST_CHAN_ENABLE_FAIL = 61
    CHAN_EXIST = 62
    UST_ENABLE_FAIL = 63
    UST_DISABLE_FAIL = 64
    UST_META_FAIL = 65
    UST_START_FAIL = 66
    UST_STOP_FAIL = 67
    UST_CONSUMER64_FAIL = 68
    UST_CONSUMER32_FAIL = 69
    UST_STREAM_FAIL = 70
    SNAPSHOT_NODATA = 71
    NO_CHANNEL = 72
    SESSION_INVALID_CHAR = 73
    UST_LIST_FAIL = 74
    UST_EVENT_EXIST = 75
    UST_EVENT_NOT_FOUND = 76
    UST_CONTEXT_EXIST = 77
    UST_CONTEXT_INVAL = 78
    NEED_ROOT_SESSIOND = 79
    TRACE_ALREADY_STARTED = 80
    TRACE_ALREADY_STOPPED = 81
    KERN_EVENT_ENOSYS = 82
    NEED_CHANNEL_NAME = 83
    NO_UST = 84
    SAVE_FILE_EXIST = 85
    SAVE_IO_FAIL = 86
    LOAD_INVALID_CONFIG = 87
    LOAD_IO_FAIL = 88
    LOAD_SESSION_NOENT = 89
    MAX_SIZE_INVALID = 90
    MI_OUTPUT_TYPE = 91
    MI_IO_FAIL = 92
    MI_NOT_IMPLEMENTED = 93
    INVALID = 97
    NO_USTCONSUMERD = 98
    NO_KERNCONSUMERD = 99
    EVENT_EXIST_LOGLEVEL = 100
    URL_DATA_MISS = 101
    URL_CTRL_MISS = 102
    ENABLE_CONSUMER_FAIL = 103
    RELAYD_CONNECT_FAIL = 104
    RELAYD_VERSION_FAIL = 105
    FILTER_INVAL = 106
    FILTER_NOMEM = 107
    FILTER_EXIST = 108
    NO_CONSUMER = 109
    EXCLUSION_INVAL = 110
    EXCLUSION_NOMEM = 111
    INVALID_EVENT_NAME = 112
    INVALID_CHANNEL_NAME = 113
    PROCESS_ATTR_EXISTS = 114
    PROCESS_ATTR_MISSING = 115
    INVALID_CHANNEL_DOMAIN = 116
    OVERFLOW = 117
    SESSION_NOT_STARTED = 118
    LIVE_SESSION = 119
    PER_PID_SESSION = 120
    KERN_CONTEXT_UNAVAILABLE = 121
    REGEN_STATEDUMP_FAIL = 122
    REGEN_STATEDUMP_NOMEM = 123
    NOT_SNAPSHOT_SESSION = 124
    INVALID_TRIGGER = 125
    TRIGGER_EXISTS = 126
    TRIGGER_NOT_FOUND = 127
    COMMAND_CANCELLED = 128
    ROTATION_PENDING = 129
    ROTATION_NOT_AVAILABLE = 130
    ROTATION_SCHEDULE_SET = 131
    ROTATION_SCHEDULE_NOT_SET = 132
    ROTATION_MULTIPLE_AFTER_STOP = 133
    ROTATION_WRONG_VERSION = 134
    NO_SESSION_OUTPUT = 135
    ROTATION_NOT_AVAILABLE_RELAY = 136
    AGENT_TRACING_DISABLED = 137
    PROBE_LOCATION_INVAL = 138
    ELF_PARSING = 139
    SDT_PROBE_SEMAPHORE = 140
    ROTATION_FAIL_CONSUMER = 141
    ROTATE_RENAME_FAIL_CONSUMER = 142
    ROTATION_PENDING_LOCAL_FAIL_CONSUMER = 143
    ROTATION_PENDING_RELAY_FAIL_CONSUMER = 144
    MKDIR_FAIL_CONSUMER = 145
    CHAN_NOT_FOUND = 146
    SNAPSHOT_UNSUPPORTED = 147
    SESSION_NOT_EXIST = 148
    CREATE_TRACE_CHUNK_FAIL_CONSUMER = 149
    CLOSE_TRACE_CHUNK_FAIL_CONSUMER = 150
    TRACE_CHUNK_EXISTS_FAIL_CONSUMER = 151
    INVALID_PROTOCOL = 152
    FILE_CREATION_ERROR = 153
    TIMER_STOP_ERROR = 154
    ROTATION_NOT_AVAILABLE_KERNEL = 155
    CLEAR_RELAY_DISALLOWED = 156
    CLEAR_NOT_AVAILABLE_RELAY = 157
    CLEAR_FAIL_CONSUMER = 158
    ROTATION_AFTER_STOP_CLEAR = 159
    USER_NOT_FOUND = 160
    GROUP_NOT_FOUND = 161
    UNSUPPORTED_DOMAIN = 162
    PROCESS_ATTR_TRACKER_INVALID_TRACKING_POLICY = 163
    EVENT_NOTIFIER_GROUP_NOTIFICATION_FD = 164
    INVALID_CAPTURE_EXPRESSION = 165
    EVENT_NOTIFIER_REGISTRATION = 166
    EVENT_NOTIFIER_ERROR_ACCOUNTING = 167
    EVENT_NOTIFIER_ERROR_ACCOUNTING_FULL = 168
    INVALID_ERROR_QUERY_TARGET = 169
    BUFFER_FLUSH_FAILED = 170
    NR = 171
    PID_TRACKED = 172
    PID_NOT_TRACKED = 173


class DomainType(enum.IntEnum):
    """enum lttng_domain_type (include/lttng/domain.h)."""

    NONE = 0
    KERNEL = 1
    UST = 2
    JUL = 3
    LOG4J = 4
    PYTHON = 5


class BufferType(enum.IntEnum):
    """enum lttng_buffer_type (include/lttng/domain.h)."""

    PER_PID = 0
    PER_UID = 1
    GLOBAL = 2


class EventContextType(enum.IntEnum):
    """enum lttng_event_context_type (include/lttng/event.h)."""

    PID = 0
    PERF_COUNTER = 1  # backward compatibility: a per-CPU counter
    PROCNAME = 2
    PRIO = 3
    NICE = 4
    VPID = 5
    TID = 6
    VTID = 7
    PPID = 8
    VPPID = 9
    PTHREAD_ID = 10
    HOSTNAME = 11
    IP = 12
    PERF_CPU_COUNTER = 13
    PERF_THREAD_COUNTER = 14
    APP_CONTEXT = 15
    INTERRUPTIBLE = 16
    PREEMPTIBLE = 17
    NEED_RESCHEDULE = 18
    MIGRATABLE = 19
    CALLSTACK_KERNEL = 20
    CALLSTACK_USER = 21
    CGROUP_NS = 22
    IPC_NS = 23
    MNT_NS = 24
    NET_NS = 25
    PID_NS = 26
    USER_NS = 27
    UTS_NS = 28
    UID = 29
    EUID = 30
    SUID = 31
    GID = 32
    EGID = 33
    SGID = 34
    VUID = 35
    VEUID = 36
    VSUID = 37
    VGID = 38
    VEGID = 39
    VSGID = 40
    TIME_NS = 41


class EventType(enum.IntEnum):
    """enum lttng_event_type (include/lttng/event.h)."""

    ALL = -1
    TRACEPOINT = 0
    PROBE = 1
    FUNCTION = 2
    FUNCTION_ENTRY = 3
    NOOP = 4
    SYSCALL = 5
    USERSPACE_PROBE = 6


class LoglevelType(enum.IntEnum):
    """enum lttng_loglevel_type (include/lttng/event.h)."""

    ALL = 0
    RANGE = 1
    SINGLE = 2


class EventOutput(enum.IntEnum):
    """enum lttng_event_output (include/lttng/event.h)."""

    SPLICE = 0
    MMAP = 1


class ProcessAttr(enum.IntEnum):
    """enum lttng_process_attr (include/lttng/tracker.h)."""

    PROCESS_ID = 0
    VIRTUAL_PROCESS_ID = 1
    USER_ID = 2
    VIRTUAL_USER_ID = 3
    GROUP_ID = 4
    VIRTUAL_GROUP_ID = 5


class TrackingPolicy(enum.IntEnum):
    """enum lttng_tracking_policy (include/lttng/tracker.h)."""

    INCLUDE_ALL = 0
    EXCLUDE_ALL = 1
    INCLUDE_SET = 2


class SessionDescriptorType(enum.IntEnum):
    """enum lttng_session_descriptor_type (include/lttng/session-descriptor-internal.h)."""

    REGULAR = 1
    SNAPSHOT = 2
    LIVE = 3


class SessionDescriptorOutputType(enum.IntEnum):
    """enum lttng_session_descriptor_output_type (session-descriptor-internal.h)."""

    NONE = 0
    LOCAL = 1
    NETWORK = 2


class UriDstType(enum.IntEnum):
    """enum lttng_dst_type (src/common/uri.h)."""

    IPV4 = 1
    IPV6 = 2
    PATH = 3


class RotationState(enum.IntEnum):
    """include/lttng/rotation.h: enum lttng_rotation_state."""

    ERROR = -1
    NO_ROTATION = 0
    ONGOING = 1
    COMPLETED = 2
    EXPIRED = 3


class RotationScheduleType(enum.IntEnum):
    """include/lttng/rotation.h: enum lttng_rotation_schedule_type."""

    SIZE_THRESHOLD = 0
    PERIODIC = 1


class TraceArchiveLocationType(enum.IntEnum):
    """include/lttng/location.h: enum lttng_trace_archive_location_type."""

    UNKNOWN = 0
    LOCAL = 1
    RELAY = 2
