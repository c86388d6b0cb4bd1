/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng-source.h - event sources: what each one does, behind one ops table.
 *
 * An event source turns enablers into events and hooks those events into
 * the kernel:
 *
 *   pylttng-tracepoints.c  kernel tracepoints, through perf or, for the hot
 *                          scheduler events, a direct probe
 *                          (pylttng-sched-probes.c)
 *   pylttng-syscalls.c     system calls, native and compat
 *   pylttng-statedump.c    LTTng's lttng_statedump_* events
 *   pylttng-kprobes.c      kprobes and kretprobes
 *   pylttng-uprobes.c      uprobes
 *
 * pylttng-events.c owns the enablers, the events of a channel (their
 * names and ids) and the decision to arm or disarm each event; it reaches a
 * source only through its pyl_event_source_ops.  Each source keeps its own
 * state behind en->priv (per enabler) and ev->priv (per event).
 *
 * The ops are control operations, called with pyl_mutex held.  Recording
 * does not go through them: a source's probe finds its event by itself and
 * records with pyl_event_reserve() + pyl_rb_commit() or with
 * pyl_event_record_raw(), checking ev->armed.  Every record is reserved by
 * pyl_event_reserve(), which drops those of a task the session's trackers
 * do not take.
 */
#ifndef _PYLTTNG_SOURCE_H
#define _PYLTTNG_SOURCE_H

#include <linux/bits.h>
#include <linux/err.h>
#include <linux/types.h>

#include "pylttng.h"

struct pyl_event_source_ops {
	/*
	 * The enablers this source owns, BIT(enum pyl_abi_instrumentation):
	 * an EVENT ioctl goes to the first source owning its instrumentation.
	 * A source may own none and still make events for others' enablers
	 * (statedump events are selected by TRACEPOINT enablers).
	 */
	u32 enablers;
	/* What an empty enabler name stands for; NULL: it is invalid. */
	const char *empty_name;

	/* Module load and unload (optional). */
	int (*init)(void);
	void (*exit)(void);

	/*
	 * EVENT ioctl: check param and set up en->priv; en->name and
	 * en->glob are set, en->chan is not yet.  On failure, nothing is
	 * left to free.  Optional.
	 */
	int (*enabler_init)(struct pyl_enabler *en, const struct pyl_abi_event *param);
	/* Free en->priv; the events of en are freed already.  Optional. */
	void (*enabler_free)(struct pyl_enabler *en);
	/* ADD_CALLSITE on the event fd (optional: -EINVAL). */
	long (*add_callsite)(struct pyl_enabler *en, void __user *arg);

	/*
	 * Create the events of a new enabler, once, whether or not the
	 * session is active (dynamic probes).  Optional.
	 */
	void (*enabler_add)(struct pyl_enabler *en);
	/*
	 * Create the events of chan its enablers select and chan lacks
	 * (pyl_event_add()), while the session is active.  Sources run in
	 * pyl_sources[] order, which fixes the event ids.  Optional.
	 */
	void (*instantiate)(struct pyl_channel *chan);

	/* Does en (of any source) select ev (of this source)? */
	bool (*matches)(const struct pyl_enabler *en, const struct pyl_event *ev);
	/* Hook ev and set ev->armed; on failure ev stays disarmed. */
	void (*arm)(struct pyl_event *ev);
	/*
	 * Clear ev->armed and unhook ev; its probes may still run until the
	 * caller's RCU grace period.
	 */
	void (*disarm)(struct pyl_event *ev);
	/* Free ev->priv: ev is disarmed, a grace period passed.  Optional. */
	void (*free)(struct pyl_event *ev);
	/* Channel teardown, after its events are freed.  Optional. */
	void (*chan_free)(struct pyl_channel *chan);
};

extern const struct pyl_event_source_ops pyl_tracepoint_source;
extern const struct pyl_event_source_ops pyl_syscall_source;
extern const struct pyl_event_source_ops pyl_statedump_source;
extern const struct pyl_event_source_ops pyl_kprobe_source;
extern const struct pyl_event_source_ops pyl_uprobe_source;

/* ------------------------------------ pylttng-events.c, for the sources */

/* en's name (exact, or a star glob) matches name. */
bool pyl_enabler_matches(const struct pyl_enabler *en, const char *name);
/* Some enabler of chan with this instrumentation matches name. */
bool pyl_channel_wants(const struct pyl_channel *chan, u32 instrumentation,
		       const char *name);
/* chan's event called name, if any. */
struct pyl_event *pyl_event_find(struct pyl_channel *chan, const char *name);
/*
 * A new event of chan from src, with the next id: name and layout are
 * taken over (freed on failure, NULL ones fail), priv stays the caller's
 * on failure.  Returns NULL when out of memory.
 */
struct pyl_event *pyl_event_add(struct pyl_channel *chan,
				const struct pyl_event_source_ops *src,
				char *name, struct pyl_layout *layout, void *priv);

/* Recording, preemption off (pylttng-events.c); NULL: record nothing. */
u8 *pyl_event_reserve(struct pyl_event *ev, size_t payload_len,
		      struct pyl_rb_ctx *rctx);
void pyl_event_record_raw(struct pyl_event *ev, const u8 *rec, u32 rec_size);

/* -------- pylttng-sched-probes.c: the tracepoints' direct probe route */

struct pyl_direct_probe;
/*
 * Hook ev with its direct probe and set ev->armed.  ERR_PTR(-ENOENT): ev
 * has none (or this kernel's event is not the one the probe knows), take
 * the perf route; another error: ev stays disarmed.
 */
struct pyl_direct_probe *pyl_sched_probe_arm(struct pyl_event *ev);
void pyl_sched_probe_disarm(struct pyl_event *ev, struct pyl_direct_probe *dp);

#endif /* _PYLTTNG_SOURCE_H */
