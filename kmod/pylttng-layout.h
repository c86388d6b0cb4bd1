/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng-layout.h - ftrace record -> CTF payload translation.
 */
#ifndef _PYLTTNG_LAYOUT_H
#define _PYLTTNG_LAYOUT_H

#include <linux/types.h>
#include <linux/trace_events.h>

enum pyl_op_kind {
	PYL_OP_COPY,		/* fixed-size bytes */
	PYL_OP_STRING,		/* __data_loc char[] -> NUL-terminated */
	PYL_OP_SEQUENCE,	/* __data_loc T[] -> u32 count + elements */
	PYL_OP_BIAS32,		/* 32-bit integer + (s16)elem */
	PYL_OP_TASK,		/* about the task whose tid is at src: elem */
};

/* What a PYL_OP_TASK writes (LTTng-modules' sched_process_fork extras). */
enum pyl_task_value {
	PYL_TASK_TGID,		/* s32 */
	PYL_TASK_PIDNS_INUM,	/* u32: inode of its active pid namespace */
	PYL_TASK_VTIDS,		/* u8 count + its s32 tid at each pid ns level */
};

#define PYL_MAX_PID_NS_LEVEL	32	/* as LTTNG_MAX_PID_NS_LEVEL */
#define PYL_LAYOUT_MAX_TASKS	2	/* distinct tid fields with PYL_OP_TASKs */

/* A task looked up once per record, so that size and write agree. */
struct pyl_task_info {
	u16 src;
	u8 nr_vtids;
	s32 tgid;
	u32 ns_inum;
	s32 vtids[PYL_MAX_PID_NS_LEVEL];
};

/* Per-record state from pyl_layout_size() to pyl_layout_write(). */
struct pyl_layout_env {
	unsigned int nr_tasks;
	struct pyl_task_info tasks[PYL_LAYOUT_MAX_TASKS];
};

struct pyl_op {
	u8 kind;
	u8 rel;			/* __rel_loc: offset from the field's end */
	u16 elem;		/* element size of a sequence; BIAS32: bias */
	u16 src;		/* offset in the ftrace record */
	u16 len;		/* bytes, for COPY */
};

struct pyl_layout {
	char *tsdl;		/* the "fields := struct { ... }" members */
	unsigned int nr_ops;
	struct pyl_op ops[];
};

struct pyl_layout *pyl_layout_build(struct trace_event_call *call,
				    const char *event_name);
void pyl_layout_free(struct pyl_layout *layout);
size_t pyl_layout_size(const struct pyl_layout *layout, const u8 *rec,
		       u32 rec_size, struct pyl_layout_env *env);
void pyl_layout_write(const struct pyl_layout *layout, const u8 *rec,
		      u32 rec_size, const struct pyl_layout_env *env, u8 *dst);

/* pylttng-rename.c */
const char *pyl_rename_field(const char *event, const char *field, int *bias);
const char *pyl_rename_event(const char *ftrace_name);

struct pyl_task_field {
	const char *name;
	u8 value;		/* enum pyl_task_value */
};
const struct pyl_task_field *pyl_task_fields(const char *event, const char *field,
					      unsigned int *nr);

#endif /* _PYLTTNG_LAYOUT_H */
