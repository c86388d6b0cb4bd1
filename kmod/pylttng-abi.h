/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng-abi.h - user/kernel ABI of /proc/lttng.
 *
 * Numbers and layouts match the LTTng-modules 2.13 kernel tracer ABI 2.6
 * (ioctl magic 0xF6), so that the stock lttng-sessiond/lttng-consumerd can
 * drive this module.  Written from the published ABI facts; every struct
 * is packed, exactly as the user-space side expects it.
 */
#ifndef _PYLTTNG_ABI_H
#define _PYLTTNG_ABI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define PYL_ABI_MAJOR			2
#define PYL_ABI_MINOR			6

#define PYL_TRACER_MAJOR		2
#define PYL_TRACER_MINOR		13
#define PYL_TRACER_PATCHLEVEL		23

#define PYL_SYM_NAME_LEN		256
#define PYL_SESSION_NAME_LEN		256
#define PYL_CREATION_TIME_LEN		26

enum pyl_abi_instrumentation {
	PYL_ABI_TRACEPOINT	= 0,
	PYL_ABI_KPROBE		= 1,
	PYL_ABI_FUNCTION	= 2,
	PYL_ABI_KRETPROBE	= 3,
	PYL_ABI_NOOP		= 4,
	PYL_ABI_SYSCALL		= 5,
	PYL_ABI_UPROBE		= 6,
};

enum pyl_abi_output {
	PYL_ABI_SPLICE	= 0,
	PYL_ABI_MMAP	= 1,
};

struct pyl_abi_channel {
	__u64 subbuf_size;		/* bytes */
	__u64 num_subbuf;
	__u32 switch_timer_interval;	/* usecs */
	__u32 read_timer_interval;	/* usecs */
	__u32 output;			/* enum pyl_abi_output */
	__s32 overwrite;		/* 1: overwrite, 0: discard */
	char padding[PYL_SYM_NAME_LEN + 32];
} __packed;

enum pyl_abi_syscall_entryexit {
	PYL_ABI_SYSCALL_ENTRYEXIT	= 0,
	PYL_ABI_SYSCALL_ENTRY		= 1,
	PYL_ABI_SYSCALL_EXIT		= 2,
};

enum pyl_abi_syscall_abi {
	PYL_ABI_SYSCALL_ABI_ALL		= 0,
	PYL_ABI_SYSCALL_ABI_NATIVE	= 1,
	PYL_ABI_SYSCALL_ABI_COMPAT	= 2,
};

struct pyl_abi_syscall {
	__u8 entryexit;			/* enum pyl_abi_syscall_entryexit */
	__u8 abi;			/* enum pyl_abi_syscall_abi */
	__u8 match;			/* 0: by name (by number: unsupported) */
	__u8 padding;
	__u32 nr;
} __packed;

/* Either addr, or symbol_name + offset. */
struct pyl_abi_kprobe {
	__u64 addr;
	__u64 offset;
	char symbol_name[PYL_SYM_NAME_LEN];
} __packed;

struct pyl_abi_kretprobe {
	__u64 addr;
	__u64 offset;
	char symbol_name[PYL_SYM_NAME_LEN];
	__u8 entryexit;
} __packed;

/* The binary to probe: the stock sessiond passes the client's fd. */
struct pyl_abi_uprobe {
	__s32 fd;
} __packed;

/* ADD_CALLSITE: one probe point, a file offset in that binary. */
struct pyl_abi_event_callsite {
	union {
		struct {
			__u64 offset;
		} __packed uprobe;
	} u;
} __packed;

struct pyl_abi_event {
	char name[PYL_SYM_NAME_LEN];
	__u32 instrumentation;		/* enum pyl_abi_instrumentation */
	__u64 token;
	char padding[8];
	union {
		struct pyl_abi_kretprobe kretprobe;
		struct pyl_abi_kprobe kprobe;
		struct pyl_abi_uprobe uprobe;
		struct pyl_abi_syscall syscall;
		char padding[PYL_SYM_NAME_LEN + 32];
	} u;
} __packed;

struct pyl_abi_tracer_version {
	__u32 major;
	__u32 minor;
	__u32 patchlevel;
} __packed;

struct pyl_abi_tracer_abi_version {
	__u32 major;
	__u32 minor;
} __packed;

struct pyl_abi_session_name {
	char name[PYL_SESSION_NAME_LEN];
} __packed;

struct pyl_abi_session_creation_time {
	char iso8601[PYL_CREATION_TIME_LEN];
} __packed;

enum pyl_abi_context_type {
	PYL_CTX_PID		= 0,
	PYL_CTX_PERF_CPU	= 1,
	PYL_CTX_PROCNAME	= 2,
	PYL_CTX_PRIO		= 3,
	PYL_CTX_NICE		= 4,
	PYL_CTX_VPID		= 5,
	PYL_CTX_TID		= 6,
	PYL_CTX_VTID		= 7,
	PYL_CTX_PPID		= 8,
	PYL_CTX_VPPID		= 9,
	PYL_CTX_HOSTNAME	= 10,
	PYL_CTX_CPU_ID		= 11,
	PYL_CTX_INTERRUPTIBLE	= 12,
	PYL_CTX_PREEMPTIBLE	= 13,
	PYL_CTX_NEED_RESCHEDULE	= 14,
	PYL_CTX_MIGRATABLE	= 15,
	PYL_CTX_CALLSTACK_KERNEL = 16,
	PYL_CTX_CALLSTACK_USER	= 17,
	PYL_CTX_CGROUP_NS	= 18,
	PYL_CTX_IPC_NS		= 19,
	PYL_CTX_MNT_NS		= 20,
	PYL_CTX_NET_NS		= 21,
	PYL_CTX_PID_NS		= 22,
	PYL_CTX_USER_NS		= 23,
	PYL_CTX_UTS_NS		= 24,
	PYL_CTX_UID		= 25,
	PYL_CTX_EUID		= 26,
	PYL_CTX_SUID		= 27,
	PYL_CTX_GID		= 28,
	PYL_CTX_EGID		= 29,
	PYL_CTX_SGID		= 30,
	PYL_CTX_VUID		= 31,
	PYL_CTX_VEUID		= 32,
	PYL_CTX_VSUID		= 33,
	PYL_CTX_VGID		= 34,
	PYL_CTX_VEGID		= 35,
	PYL_CTX_VSGID		= 36,
	PYL_CTX_TIME_NS		= 37,
	PYL_CTX_NR,
};

struct pyl_abi_perf_counter_ctx {
	__u32 type;
	__u64 config;
	char name[PYL_SYM_NAME_LEN];
} __packed;

struct pyl_abi_context {
	__u32 ctx;			/* enum pyl_abi_context_type */
	char padding[16];
	union {
		struct pyl_abi_perf_counter_ctx perf_counter;
		char padding[PYL_SYM_NAME_LEN + 32];
	} u;
} __packed;

/* The process attributes a session's trackers filter on. */
enum pyl_abi_tracker_type {
	PYL_TRACKER_PID		= 0,
	PYL_TRACKER_VPID	= 1,
	PYL_TRACKER_UID		= 2,
	PYL_TRACKER_VUID	= 3,
	PYL_TRACKER_GID		= 4,
	PYL_TRACKER_VGID	= 5,
	PYL_TRACKER_NR,
};

/* id -1: TRACK every value, or UNTRACK them all. */
struct pyl_abi_tracker_args {
	__u32 type;			/* enum pyl_abi_tracker_type */
	__s32 id;
} __packed;

/*
 * pylttng's own (no LTTng-modules counterpart): a channel's statistics as
 * `lttng list` prints them, summed over its streams from the packets their
 * reader consumed, as lttng-consumerd would count them.
 */
struct pyl_abi_channel_stats {
	__u64 discarded_events;
	__u64 lost_packets;
} __packed;

#define PYL_IOC_MAGIC			0xF6

/* /proc/lttng */
#define PYL_ABI_SESSION			_IO(PYL_IOC_MAGIC, 0x45)
#define PYL_ABI_TRACER_VERSION		\
	_IOR(PYL_IOC_MAGIC, 0x46, struct pyl_abi_tracer_version)
#define PYL_ABI_TRACEPOINT_LIST		_IO(PYL_IOC_MAGIC, 0x47)
#define PYL_ABI_WAIT_QUIESCENT		_IO(PYL_IOC_MAGIC, 0x48)
#define PYL_ABI_SYSCALL_LIST		_IO(PYL_IOC_MAGIC, 0x4A)
#define PYL_ABI_TRACER_ABI_VERSION	\
	_IOR(PYL_IOC_MAGIC, 0x4B, struct pyl_abi_tracer_abi_version)

/* session fd */
#define PYL_ABI_METADATA		\
	_IOW(PYL_IOC_MAGIC, 0x54, struct pyl_abi_channel)
#define PYL_ABI_CHANNEL			\
	_IOW(PYL_IOC_MAGIC, 0x55, struct pyl_abi_channel)
#define PYL_ABI_SESSION_START		_IO(PYL_IOC_MAGIC, 0x56)
#define PYL_ABI_SESSION_STOP		_IO(PYL_IOC_MAGIC, 0x57)
/* The pid as the argument itself, not a pointer to it. */
#define PYL_ABI_SESSION_TRACK_PID	_IOW(PYL_IOC_MAGIC, 0x58, __s32)
#define PYL_ABI_SESSION_UNTRACK_PID	_IOW(PYL_IOC_MAGIC, 0x59, __s32)
/* Same numbers as the two above, told apart by the direction bits. */
#define PYL_ABI_SESSION_LIST_TRACKER_PIDS _IO(PYL_IOC_MAGIC, 0x58)
#define PYL_ABI_SESSION_METADATA_REGEN	_IO(PYL_IOC_MAGIC, 0x59)
#define PYL_ABI_SESSION_STATEDUMP	_IO(PYL_IOC_MAGIC, 0x5C)
#define PYL_ABI_SESSION_SET_NAME	\
	_IOW(PYL_IOC_MAGIC, 0x5D, struct pyl_abi_session_name)
#define PYL_ABI_SESSION_SET_CREATION_TIME \
	_IOW(PYL_IOC_MAGIC, 0x5E, struct pyl_abi_session_creation_time)

#define PYL_ABI_SESSION_LIST_TRACKER_IDS \
	_IOW(PYL_IOC_MAGIC, 0xA0, struct pyl_abi_tracker_args)
#define PYL_ABI_SESSION_TRACK_ID	\
	_IOW(PYL_IOC_MAGIC, 0xA1, struct pyl_abi_tracker_args)
#define PYL_ABI_SESSION_UNTRACK_ID	\
	_IOW(PYL_IOC_MAGIC, 0xA2, struct pyl_abi_tracker_args)

/* channel fd */
#define PYL_ABI_STREAM			_IO(PYL_IOC_MAGIC, 0x62)
#define PYL_ABI_EVENT			\
	_IOW(PYL_IOC_MAGIC, 0x63, struct pyl_abi_event)
#define PYL_ABI_CHANNEL_STATS		\
	_IOR(PYL_IOC_MAGIC, 0x6E, struct pyl_abi_channel_stats)

/* event and channel fd */
#define PYL_ABI_CONTEXT			\
	_IOW(PYL_IOC_MAGIC, 0x71, struct pyl_abi_context)

/* event, channel and session fd */
#define PYL_ABI_ENABLE			_IO(PYL_IOC_MAGIC, 0x82)
#define PYL_ABI_DISABLE			_IO(PYL_IOC_MAGIC, 0x83)

/* event fd */
#define PYL_ABI_FILTER			_IO(PYL_IOC_MAGIC, 0x90)
#define PYL_ABI_ADD_CALLSITE		_IO(PYL_IOC_MAGIC, 0x91)

/* stream fd: generic ring buffer reader (ringbuffer/vfs.h) */
#define PYL_RB_SNAPSHOT			_IO(PYL_IOC_MAGIC, 0x00)
#define PYL_RB_SNAPSHOT_GET_CONSUMED	_IOR(PYL_IOC_MAGIC, 0x01, unsigned long)
#define PYL_RB_SNAPSHOT_GET_PRODUCED	_IOR(PYL_IOC_MAGIC, 0x02, unsigned long)
#define PYL_RB_GET_SUBBUF		_IOW(PYL_IOC_MAGIC, 0x03, unsigned long)
#define PYL_RB_PUT_SUBBUF		_IO(PYL_IOC_MAGIC, 0x04)
#define PYL_RB_GET_NEXT_SUBBUF		_IO(PYL_IOC_MAGIC, 0x05)
#define PYL_RB_PUT_NEXT_SUBBUF		_IO(PYL_IOC_MAGIC, 0x06)
#define PYL_RB_GET_SUBBUF_SIZE		_IOR(PYL_IOC_MAGIC, 0x07, unsigned long)
#define PYL_RB_GET_PADDED_SUBBUF_SIZE	_IOR(PYL_IOC_MAGIC, 0x08, unsigned long)
#define PYL_RB_GET_MAX_SUBBUF_SIZE	_IOR(PYL_IOC_MAGIC, 0x09, unsigned long)
#define PYL_RB_GET_MMAP_LEN		_IOR(PYL_IOC_MAGIC, 0x0A, unsigned long)
#define PYL_RB_GET_MMAP_READ_OFFSET	_IOR(PYL_IOC_MAGIC, 0x0B, unsigned long)
#define PYL_RB_FLUSH			_IO(PYL_IOC_MAGIC, 0x0C)
#define PYL_RB_GET_METADATA_VERSION	_IOR(PYL_IOC_MAGIC, 0x0D, __u64)
#define PYL_RB_SNAPSHOT_SAMPLE_POSITIONS _IO(PYL_IOC_MAGIC, 0x0E)
#define PYL_RB_FLUSH_EMPTY		_IO(PYL_IOC_MAGIC, 0x0F)
#define PYL_RB_METADATA_CACHE_DUMP	_IO(PYL_IOC_MAGIC, 0x10)
#define PYL_RB_CLEAR			_IO(PYL_IOC_MAGIC, 0x11)
#define PYL_RB_GET_NEXT_SUBBUF_METADATA_CHECK \
					_IOR(PYL_IOC_MAGIC, 0x12, __u32)

/* stream fd: CTF packet accessors (lttng/abi.h) */
#define PYL_RB_GET_TIMESTAMP_BEGIN	_IOR(PYL_IOC_MAGIC, 0x20, __u64)
#define PYL_RB_GET_TIMESTAMP_END	_IOR(PYL_IOC_MAGIC, 0x21, __u64)
#define PYL_RB_GET_EVENTS_DISCARDED	_IOR(PYL_IOC_MAGIC, 0x22, __u64)
#define PYL_RB_GET_CONTENT_SIZE		_IOR(PYL_IOC_MAGIC, 0x23, __u64)
#define PYL_RB_GET_PACKET_SIZE		_IOR(PYL_IOC_MAGIC, 0x24, __u64)
#define PYL_RB_GET_STREAM_ID		_IOR(PYL_IOC_MAGIC, 0x25, __u64)
#define PYL_RB_GET_CURRENT_TIMESTAMP	_IOR(PYL_IOC_MAGIC, 0x26, __u64)
#define PYL_RB_GET_SEQ_NUM		_IOR(PYL_IOC_MAGIC, 0x27, __u64)
#define PYL_RB_INSTANCE_ID		_IOR(PYL_IOC_MAGIC, 0x28, __u64)

#endif /* _PYLTTNG_ABI_H */
