"""Packed binary layouts of the lttng-tools 2.13 client protocol, as `construct` structs.

All integers are little-endian: the client and the daemon share one host (x86-64 and
arm64 are the targets). Each layout cites the lttng-tools stable-2.13 file it mirrors.
"""

from __future__ import annotations

from construct import (
    Bytes,
    Int8sl,
    Int8ul,
    Int16ul,
    Int32sl,
    Int32ul,
    Int64sl,
    Int64ul,
    Struct,
)

from .constants import NAME_MAX, PATH_MAX, SYMBOL_NAME_LEN

# include/lttng/domain.h: struct lttng_domain (natural alignment, 308 bytes).
LttngDomain = Struct(
    "type" / Int32sl,
    "buf_type" / Int32sl,
    "padding" / Bytes(12),  # LTTNG_DOMAIN_PADDING1
    # union { pid_t pid; char exec_name[255]; char padding[288]; } attr
    "attr" / Bytes(SYMBOL_NAME_LEN + 32),
)
DOMAIN_SIZE: int = LttngDomain.sizeof()

# include/lttng/session.h: struct lttng_session (natural alignment, 4376 bytes on LP64).
LttngSession = Struct(
    "name" / Bytes(NAME_MAX),
    "path" / Bytes(PATH_MAX),
    "_align" / Bytes(1),  # compiler padding after path[]: `enabled` is 4-aligned
    "enabled" / Int32ul,
    "snapshot_mode" / Int32ul,
    "live_timer_interval" / Int32ul,
    "alignment_padding" / Bytes(4),
    "extended" / Bytes(8),  # union { char padding[8]; void *ptr; }
)
SESSION_SIZE: int = LttngSession.sizeof()

# include/lttng/session-internal.h: struct lttng_session_extended (packed, 9 bytes).
LttngSessionExtended = Struct(
    "creation_time_value" / Int64ul,
    "creation_time_is_set" / Int8ul,
)

# sessiond-comm.h: sizeof(union u) inside struct lttcomm_session_msg on LP64; the
# largest member is `snapshot_record` (u32 + struct lttng_snapshot_output).
SESSION_MSG_UNION_SIZE = 8464

# sessiond-comm.h: struct lttcomm_session_msg (packed, 13156 bytes on LP64). The union
# stays raw bytes here; the per-command views below decode it.
SessionMsg = Struct(
    "cmd_type" / Int32ul,
    "session" / LttngSession,
    "domain" / LttngDomain,
    "u" / Bytes(SESSION_MSG_UNION_SIZE),
    "fd_count" / Int32ul,
)
SESSION_MSG_SIZE: int = SessionMsg.sizeof()

# Views of lttcomm_session_msg.u (sessiond-comm.h), each read from offset 0 of the union.
UnionChannelLength = Struct("length" / Int32ul)  # u.channel
UnionEnable = Struct(  # u.enable / u.disable / u.context
    "channel_name" / Bytes(SYMBOL_NAME_LEN),
    "length" / Int32ul,
)
# include/lttng/event-internal.h (all LTTNG_PACKED): the context header and its variants.
EventContextComm = Struct("type" / Int32ul)
EventContextPerfCounterComm = Struct(
    "type" / Int32ul,
    "config" / Int64ul,
    "name_len" / Int32ul,  # includes the NUL
)
EventContextAppComm = Struct(
    "provider_name_len" / Int32ul,
    "ctx_name_len" / Int32ul,
)
UnionList = Struct("channel_name" / Bytes(SYMBOL_NAME_LEN))  # u.list
UnionUri = Struct("size" / Int32ul)  # u.uri
UnionCreateSession = Struct(  # u.create_session
    "home_dir_size" / Int16ul,
    "session_descriptor_size" / Int64ul,
)
UnionProcessAttr = Struct(  # u.process_attr_tracker_get_tracking_policy / _inclusion_set
    "process_attr" / Int32sl,
)
UnionProcessAttrSetPolicy = Struct(  # u.process_attr_tracker_set_tracking_policy
    "process_attr" / Int32sl,
    "tracking_policy" / Int32sl,
)
UnionProcessAttrValue = Struct(  # u.process_attr_tracker_add_remove_include_value
    "process_attr" / Int32sl,
    "value_type" / Int32sl,
    "integral_value" / Int64ul,
    "name_len" / Int32ul,
)
# include/lttng/snapshot-internal.h: struct lttng_snapshot_output (packed).
SnapshotOutputComm = Struct(
    "id" / Int32ul,
    "max_size" / Int64ul,
    "name" / Bytes(NAME_MAX),
    "ctrl_url" / Bytes(PATH_MAX),
    "data_url" / Bytes(PATH_MAX),
)
SNAPSHOT_OUTPUT_SIZE: int = SnapshotOutputComm.sizeof()
UnionSnapshotOutput = Struct("output" / SnapshotOutputComm)  # u.snapshot_output
UnionSnapshotRecord = Struct("wait" / Int32ul, "output" / SnapshotOutputComm)
# include/lttng/save-internal.h: struct lttng_save_session_attr (packed), u.save_session.
UnionSaveSession = Struct(
    "session_name" / Bytes(NAME_MAX),
    "configuration_url" / Bytes(PATH_MAX),
    "overwrite" / Int8ul,
    "omit_name" / Int8ul,
    "omit_output" / Int8ul,
)
UnionRegisterConsumer = Struct("path" / Bytes(PATH_MAX))  # u.reg
UnionSetShmPath = Struct("shm_path" / Bytes(PATH_MAX))  # u.set_shm_path
UnionGetRotationInfo = Struct("rotation_id" / Int64ul)  # u.get_rotation_info
UnionRotationSetSchedule = Struct(  # u.rotation_set_schedule
    "type" / Int8ul,
    "set" / Int8ul,
    "value" / Int64ul,
)
UnionTrigger = Struct("length" / Int32ul, "is_trigger_anonymous" / Int8ul)  # u.trigger
UnionErrorQuery = Struct("length" / Int32ul)  # u.error_query

# src/common/tracker.c: struct process_attr_tracker_value_comm (packed): the type, then
# an int64/uint64 id or, for a name, its length (with the NUL) with the name after.
TrackerValueComm = Struct("type" / Int32sl, "value" / Bytes(8))

# sessiond-comm.h: struct lttcomm_lttng_msg (packed, 24 bytes), the reply header.
LttngMsg = Struct(
    "cmd_type" / Int32ul,
    "ret_code" / Int32ul,
    "pid" / Int32ul,
    "cmd_header_size" / Int32ul,
    "data_size" / Int32ul,
    "fd_count" / Int32ul,
)
LTTNG_MSG_SIZE: int = LttngMsg.sizeof()

# sessiond-comm.h: struct lttcomm_list_command_header.
ListCommandHeader = Struct("count" / Int32ul)

# sessiond-comm.h: struct lttcomm_session_destroy_command_header.
DestroyCommandHeader = Struct("rotation_state" / Int32sl)

# include/lttng/rotate-internal.h: struct lttng_rotate_session_return (packed).
RotateSessionReturn = Struct("rotation_id" / Int64ul)

# include/lttng/rotate-internal.h: struct lttng_rotation_get_info_return (packed): the
# state, the location type, then a union of the local path and the relay location (host
# name, protocol, two ports, relative path), which is longer by all but its path.
HOST_NAME_MAX = 256  # include/lttng/constant.h: LTTNG_HOST_NAME_MAX
RotationGetInfoReturn = Struct(
    "status" / Int32sl,
    "location_type" / Int8sl,
    "absolute_path" / Bytes(PATH_MAX),
    "_relay_rest" / Bytes(HOST_NAME_MAX + 1 + 2 + 2),
)

# include/lttng/location-internal.h: struct lttng_trace_archive_location_comm (packed):
# the type, then a union of the local path's length (with its NUL) and the relay fields
# (host name length, protocol, two ports, relative path length); the strings follow.
TraceArchiveLocationComm = Struct(
    "type" / Int8sl,
    "absolute_path_len" / Int32ul,
    "_relay_rest" / Bytes(1 + 2 + 2 + 4),
)

# The relay location's protocol and ports, as both unions above hold them.
RelayProtocolPorts = Struct("protocol" / Int8sl, "control" / Int16ul, "data" / Int16ul)

# include/lttng/rotate-internal.h: struct lttng_session_list_schedules_return (packed).
ListRotationSchedulesReturn = Struct(
    "periodic_set" / Int8ul,
    "periodic_value" / Int64ul,
    "size_set" / Int8ul,
    "size_value" / Int64ul,
)

# include/lttng/channel-internal.h: struct lttng_channel_comm (packed); name follows.
ChannelComm = Struct(
    "name_len" / Int32ul,
    "enabled" / Int8ul,
    "overwrite" / Int8sl,
    "subbuf_size" / Int64ul,
    "num_subbuf" / Int64ul,
    "switch_timer_interval" / Int32ul,
    "read_timer_interval" / Int32ul,
    "output" / Int8ul,
    "tracefile_size" / Int64ul,
    "tracefile_count" / Int64ul,
    "live_timer_interval" / Int32ul,
    "discarded_events" / Int64ul,
    "lost_packets" / Int64ul,
    "monitor_timer_interval" / Int64ul,
    "blocking_timeout" / Int64sl,
)

# include/lttng/event-internal.h: struct lttng_event_comm (packed); the variable
# payload follows: name, exclusions, filter expression, bytecode, probe location, attrs.
EventComm = Struct(
    "event_type" / Int8sl,
    "loglevel_type" / Int8sl,
    "loglevel" / Int32sl,
    "enabled" / Int8sl,
    "pid" / Int32sl,
    "flags" / Int32ul,
    "name_len" / Int32ul,
    "exclusion_count" / Int32ul,
    "filter_expression_len" / Int32ul,
    "bytecode_len" / Int32ul,
    "userspace_probe_location_len" / Int32ul,
    "lttng_event_probe_attr_len" / Int32ul,
    "lttng_event_function_attr_len" / Int32ul,
)

# include/lttng/event-internal.h: struct lttng_event_exclusion_comm; name follows.
EventExclusionComm = Struct("len" / Int32ul)

# include/lttng/event-internal.h: struct lttng_event_probe_attr_comm; symbol follows.
EventProbeAttrComm = Struct(
    "addr" / Int64ul,
    "offset" / Int64ul,
    "symbol_name_len" / Int32ul,
)

# include/lttng/event-internal.h: struct lttng_event_function_attr_comm; symbol follows.
EventFunctionAttrComm = Struct("symbol_name_len" / Int32ul)

# src/common/uri.h: struct lttng_uri (packed, 8210 bytes).
LttngUri = Struct(
    "dtype" / Int32sl,
    "utype" / Int32sl,
    "stype" / Int32sl,
    "proto" / Int32sl,
    "port" / Int16ul,
    "subdir" / Bytes(PATH_MAX),
    "dst" / Bytes(PATH_MAX),  # union { ipv4; ipv6; path[4096] }
)
URI_SIZE: int = LttngUri.sizeof()

# src/common/session-descriptor.c: struct lttng_session_descriptor_comm (packed);
# the name (name_len bytes, NUL included) then uri_count struct lttng_uri follow.
SessionDescriptorComm = Struct(
    "type" / Int8ul,
    "output_type" / Int8ul,
    "name_len" / Int32ul,
    "uri_count" / Int8ul,
)
# ... and struct lttng_session_descriptor_live_comm adds the live timer after it.
SessionDescriptorLiveExtra = Struct("live_timer_us" / Int64ul)
