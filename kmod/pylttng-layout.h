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
		       u32 rec_size);
void pyl_layout_write(const struct pyl_layout *layout, const u8 *rec,
		      u32 rec_size, u8 *dst);

/* pylttng-rename.c */
const char *pyl_rename_field(const char *event, const char *field, int *bias);
const char *pyl_rename_event(const char *ftrace_name);

#endif /* _PYLTTNG_LAYOUT_H */
