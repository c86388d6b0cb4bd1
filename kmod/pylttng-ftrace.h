/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng-ftrace.h - read-only access to the kernel's trace-event registry.
 */
#ifndef _PYLTTNG_FTRACE_H
#define _PYLTTNG_FTRACE_H

#include <linux/trace_events.h>

#include "pylttng-compat.h"

unsigned long pyl_kallsyms_lookup(const char *name);

int pyl_ftrace_init(void);

/*
 * Call fn for every trace event usable as a tracepoint, with event_mutex
 * held, until fn returns non-zero (which is then returned).
 */
typedef int (*pyl_ftrace_fn)(struct trace_event_call *call, const char *name,
			     void *arg);
int pyl_ftrace_for_each(pyl_ftrace_fn fn, void *arg);

/* Fields of an event in declaration order, common_* ones skipped. */
typedef int (*pyl_field_fn)(const struct pyl_ftrace_event_field *field,
			    void *arg);
int pyl_ftrace_for_each_field(struct trace_event_call *call, pyl_field_fn fn,
			      void *arg);

/* perf tracepoint id of the event called name, or -ENOENT. */
int pyl_ftrace_event_id(const char *name);

/* The core kernel's tracepoint called name (for a direct probe), or NULL. */
struct tracepoint *pyl_kernel_tracepoint(const char *name);

#endif /* _PYLTTNG_FTRACE_H */
