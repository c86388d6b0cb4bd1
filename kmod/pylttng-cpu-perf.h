/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng-cpu-perf.h - one kernel perf event per online CPU, following
 * CPU hotplug (tracepoint probes, perf counter contexts).
 */
#ifndef _PYLTTNG_CPU_PERF_H
#define _PYLTTNG_CPU_PERF_H

#include <linux/list.h>
#include <linux/perf_event.h>

struct pyl_cpu_perf {
	struct perf_event_attr attr;
	perf_overflow_handler_t overflow;	/* NULL: counting only */
	void *priv;				/* overflow context, hooks' data */
	/* Before the CPU's event is published (e.g. to read a base count). */
	void (*created)(struct pyl_cpu_perf *cp, unsigned int cpu,
			struct perf_event *pe);
	/* perf refused the CPU's event (optional). */
	void (*refused)(struct pyl_cpu_perf *cp, unsigned int cpu, long err);
	bool strict;		/* a refusal fails pyl_cpu_perf_start() */
	bool read_by_probes;	/* probes read pe[]: wait for them on release */
	bool started;
	struct perf_event **pe;		/* by CPU: probes read it */
	unsigned int *gen;		/* by CPU: its online count at creation */
	struct list_head node;		/* in the started sets */
};

int pyl_cpu_perf_start(struct pyl_cpu_perf *cp);
void pyl_cpu_perf_stop(struct pyl_cpu_perf *cp);
void pyl_cpu_perf_stop_later(struct pyl_cpu_perf *cp);
void pyl_cpu_perf_wait_releases(void);
int pyl_cpu_perf_init(void);
void pyl_cpu_perf_exit(void);

#endif /* _PYLTTNG_CPU_PERF_H */
