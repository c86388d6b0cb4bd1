// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-rename.c - field names where LTTng-modules differs from ftrace.
 *
 * Analyses (Trace Compass, lttng-analyses) key on the LTTng-modules names,
 * e.g. the scheduler events call a thread id "tid", not "pid".  A few
 * values differ too: LTTng reports scheduler priorities minus MAX_RT_PRIO.
 */
#include <linux/string.h>

#include "pylttng-layout.h"

#define PYL_RT_PRIO_BIAS	(-100)	/* MAX_RT_PRIO */

struct pyl_rename {
	const char *event;	/* exact name, or prefix ending with '*' */
	const char *from;
	const char *to;
	int bias;		/* added to a 32-bit integer value */
};

static const struct pyl_rename pyl_renames[] = {
	{ "sched_switch",	"prev_pid",	"prev_tid" },
	{ "sched_switch",	"next_pid",	"next_tid" },
	{ "sched_process_fork",	"parent_pid",	"parent_tid" },
	{ "sched_process_fork",	"child_pid",	"child_tid" },
	{ "sched_process_exec",	"old_pid",	"old_tid" },
	{ "sched_*",		"pid",		"tid" },
	{ "sched_*",		"prio",		"prio",		PYL_RT_PRIO_BIAS },
	{ "sched_*",		"prev_prio",	"prev_prio",	PYL_RT_PRIO_BIAS },
	{ "sched_*",		"next_prio",	"next_prio",	PYL_RT_PRIO_BIAS },
	{ "sched_*",		"oldprio",	"oldprio",	PYL_RT_PRIO_BIAS },
	{ "sched_*",		"newprio",	"newprio",	PYL_RT_PRIO_BIAS },
};

static bool pyl_event_matches(const char *pattern, const char *event)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '*')
		return !strncmp(pattern, event, n - 1);
	return !strcmp(pattern, event);
}

const char *pyl_rename_field(const char *event, const char *field, int *bias)
{
	size_t i;

	*bias = 0;
	for (i = 0; i < ARRAY_SIZE(pyl_renames); i++) {
		if (strcmp(pyl_renames[i].from, field))
			continue;
		if (pyl_event_matches(pyl_renames[i].event, event)) {
			*bias = pyl_renames[i].bias;
			return pyl_renames[i].to;
		}
	}
	return field;
}
