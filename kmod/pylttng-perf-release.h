/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng-perf-release.h - release a kernel perf event without waiting a
 * jiffy or two per tracepoint.
 */
#ifndef _PYLTTNG_PERF_RELEASE_H
#define _PYLTTNG_PERF_RELEASE_H

#include <linux/perf_event.h>

void pyl_perf_release(struct perf_event *pe);
void pyl_perf_release_init(void);
void pyl_perf_release_exit(void);

#endif /* _PYLTTNG_PERF_RELEASE_H */
