// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-ftrace.c - walk the kernel's own trace-event metadata.
 *
 * Event layouts come from the running kernel (each trace_event_call and
 * its field list), never from copied headers, so every tracepoint of the
 * kernel and of modules loaded later is usable.  The list ftrace_events
 * and its lock event_mutex are not exported; they are resolved once.
 */
#include <linux/errno.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "pylttng-ftrace.h"
#include "pylttng-layout.h"

static struct list_head *pyl_ftrace_events;
static struct mutex *pyl_event_mutex;

int pyl_ftrace_init(void)
{
	pyl_ftrace_events = (struct list_head *)pyl_kallsyms_lookup("ftrace_events");
	pyl_event_mutex = (struct mutex *)pyl_kallsyms_lookup("event_mutex");
	if (!pyl_ftrace_events || !pyl_event_mutex) {
		pr_err("pylttng: cannot find ftrace_events/event_mutex\n");
		return -ENOENT;
	}
	return 0;
}

/* Events that perf can attach to and that LTTng users know as tracepoints. */
static bool pyl_ftrace_usable(struct trace_event_call *call)
{
	const char *system = call->class ? call->class->system : NULL;

	if (!system || !call->event.type)
		return false;
	if (!strcmp(system, "ftrace"))
		return false;
	if (call->flags & PYL_FTRACE_SKIP_FLAGS)
		return false;
	return true;
}

int pyl_ftrace_for_each(pyl_ftrace_fn fn, void *arg)
{
	struct trace_event_call *call;
	int ret = 0;

	mutex_lock(pyl_event_mutex);
	list_for_each_entry(call, pyl_ftrace_events, list) {
		if (!pyl_ftrace_usable(call))
			continue;
		/* Callers see the LTTng-modules name of the event. */
		ret = fn(call, pyl_rename_event(trace_event_name(call)), arg);
		if (ret)
			break;
	}
	mutex_unlock(pyl_event_mutex);
	return ret;
}

int pyl_ftrace_for_each_field(struct trace_event_call *call, pyl_field_fn fn,
			      void *arg)
{
	struct pyl_ftrace_event_field *field;
	struct list_head *head = pyl_trace_get_fields(call);
	int ret;

	/* Fields are added at the head: walk backwards for source order. */
	list_for_each_entry_reverse(field, head, link) {
		if (!field->name || !field->type)
			continue;
		if (!strncmp(field->name, "common_", 7))
			continue;
		ret = fn(field, arg);
		if (ret)
			return ret;
	}
	return 0;
}

static int pyl_match_id(struct trace_event_call *call, const char *name,
			void *arg)
{
	const char *want = *(const char **)arg;

	if (strcmp(name, want))
		return 0;
	return call->event.type;
}

int pyl_ftrace_event_id(const char *name)
{
	int id = pyl_ftrace_for_each(pyl_match_id, &name);

	return id > 0 ? id : -ENOENT;
}

struct pyl_tp_lookup {
	const char *name;
	struct tracepoint *tp;
};

static void pyl_match_tp(struct tracepoint *tp, void *arg)
{
	struct pyl_tp_lookup *lk = arg;

	if (!strcmp(tp->name, lk->name))
		lk->tp = tp;
}

struct tracepoint *pyl_kernel_tracepoint(const char *name)
{
	struct pyl_tp_lookup lk = { .name = name };

	for_each_kernel_tracepoint(pyl_match_tp, &lk);
	return lk.tp;
}
