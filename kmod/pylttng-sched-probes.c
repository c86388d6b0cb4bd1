// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-sched-probes.c - direct probes for the scheduler's hot tracepoints.
 *
 * A tracepoint event (pylttng-tracepoints.c) is normally recorded through
 * an in-kernel perf event: generic, but ~5 times the cost of a probe
 * registered on the tracepoint itself (DESIGN.md section 4).  sched_switch
 * and the wake-up events fire on every context switch and wake-up, so they
 * get probes of their own: the tracepoint source asks here first when it
 * arms an event (pylttng-source.h), and takes the perf route on -ENOENT.
 *
 * Such a probe fills the very record the kernel's TP_fast_assign would
 * (same values, at the offsets the kernel's field list gives) and hands
 * it to the event's layout, as the perf route does with perf's copy.  So
 * the CTF event is byte for byte the same on either route, and the layout
 * still comes from the running kernel's metadata.  A field the probe does
 * not know (a kernel that changed the event) makes the event fall back to
 * the perf route.  The probe prototypes are checked at build time against
 * <trace/events/sched.h> (the sizeof of an unevaluated register_trace_*()).
 */
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <trace/events/sched.h>

#include "pylttng.h"
#include "pylttng-ftrace.h"
#include "pylttng-source.h"

/* Every record field a probe here can fill. */
enum pyl_sched_field {
	PYL_SF_PREV_COMM, PYL_SF_PREV_PID, PYL_SF_PREV_PRIO, PYL_SF_PREV_STATE,
	PYL_SF_NEXT_COMM, PYL_SF_NEXT_PID, PYL_SF_NEXT_PRIO,
	PYL_SF_COMM, PYL_SF_PID, PYL_SF_PRIO, PYL_SF_TARGET_CPU,
	PYL_SF_NR
};

static const char *const pyl_sched_field_names[PYL_SF_NR] = {
	[PYL_SF_PREV_COMM] = "prev_comm", [PYL_SF_PREV_PID] = "prev_pid",
	[PYL_SF_PREV_PRIO] = "prev_prio", [PYL_SF_PREV_STATE] = "prev_state",
	[PYL_SF_NEXT_COMM] = "next_comm", [PYL_SF_NEXT_PID] = "next_pid",
	[PYL_SF_NEXT_PRIO] = "next_prio",
	[PYL_SF_COMM] = "comm", [PYL_SF_PID] = "pid", [PYL_SF_PRIO] = "prio",
	[PYL_SF_TARGET_CPU] = "target_cpu",
};

/* Big enough for sched_switch's record (64 bytes on v6.1). */
#define PYL_SCHED_REC_MAX	128

/* Where the kernel puts each field of one event's record. */
struct pyl_sched_record {
	u16 size;			/* of the whole record */
	u16 off[PYL_SF_NR];
	u8 len[PYL_SF_NR];		/* 0: not in this event */
};

/* One armed event: what its probe was registered with. */
struct pyl_direct_probe {
	struct pyl_event *ev;
	struct tracepoint *tp;
	void *fn;
	struct pyl_sched_record rec;
};

static void pyl_put_int(u8 *rec, const struct pyl_sched_record *r,
			enum pyl_sched_field f, long value)
{
	u8 *dst = rec + r->off[f];

	switch (r->len[f]) {
	case 8:
		*(s64 *)dst = value;
		break;
	case 4:
		*(s32 *)dst = value;
		break;
	case 2:
		*(s16 *)dst = value;
		break;
	case 1:
		*dst = value;
		break;
	}
}

static void pyl_put_comm(u8 *rec, const struct pyl_sched_record *r,
			 enum pyl_sched_field f, const struct task_struct *task)
{
	memcpy(rec + r->off[f], task->comm, min_t(size_t, r->len[f], TASK_COMM_LEN));
}

static void pyl_probe_sched_switch(void *data, PYL_SCHED_SWITCH_PROTO)
{
	struct pyl_direct_probe *dp = data;
	const struct pyl_sched_record *r = &dp->rec;
	u8 rec[PYL_SCHED_REC_MAX] __aligned(8);

	pyl_put_comm(rec, r, PYL_SF_PREV_COMM, prev);
	pyl_put_int(rec, r, PYL_SF_PREV_PID, prev->pid);
	pyl_put_int(rec, r, PYL_SF_PREV_PRIO, prev->prio);
	pyl_put_int(rec, r, PYL_SF_PREV_STATE, PYL_SCHED_SWITCH_STATE());
	pyl_put_comm(rec, r, PYL_SF_NEXT_COMM, next);
	pyl_put_int(rec, r, PYL_SF_NEXT_PID, next->pid);
	pyl_put_int(rec, r, PYL_SF_NEXT_PRIO, next->prio);
	pyl_event_record_raw(dp->ev, rec, r->size);
}

/* sched_waking, sched_wakeup, sched_wakeup_new (sched_wakeup_template). */
static void pyl_probe_sched_wakeup(void *data, struct task_struct *p)
{
	struct pyl_direct_probe *dp = data;
	const struct pyl_sched_record *r = &dp->rec;
	u8 rec[PYL_SCHED_REC_MAX] __aligned(8);

	pyl_put_comm(rec, r, PYL_SF_COMM, p);
	pyl_put_int(rec, r, PYL_SF_PID, p->pid);
	pyl_put_int(rec, r, PYL_SF_PRIO, p->prio);
	pyl_put_int(rec, r, PYL_SF_TARGET_CPU, task_cpu(p));
	pyl_event_record_raw(dp->ev, rec, r->size);
}

/* Compile-time checks of the prototypes; nothing here is evaluated. */
static inline void pyl_sched_probes_typecheck(void)
{
	BUILD_BUG_ON(sizeof(register_trace_sched_switch(pyl_probe_sched_switch, NULL)) == 0);
	BUILD_BUG_ON(sizeof(register_trace_sched_wakeup(pyl_probe_sched_wakeup, NULL)) == 0);
	BUILD_BUG_ON(sizeof(register_trace_sched_waking(pyl_probe_sched_wakeup, NULL)) == 0);
	BUILD_BUG_ON(sizeof(register_trace_sched_wakeup_new(pyl_probe_sched_wakeup, NULL)) == 0);
}

struct pyl_sched_probe {
	const char *name;		/* tracepoint = ftrace event = LTTng event */
	void *fn;
	enum pyl_sched_field first, last;	/* the fields it fills */
};

static const struct pyl_sched_probe pyl_sched_probes[] = {
	{ "sched_switch", pyl_probe_sched_switch, PYL_SF_PREV_COMM, PYL_SF_NEXT_PRIO },
	{ "sched_waking", pyl_probe_sched_wakeup, PYL_SF_COMM, PYL_SF_TARGET_CPU },
	{ "sched_wakeup", pyl_probe_sched_wakeup, PYL_SF_COMM, PYL_SF_TARGET_CPU },
	{ "sched_wakeup_new", pyl_probe_sched_wakeup, PYL_SF_COMM, PYL_SF_TARGET_CPU },
};

/* ------------------------------------------------ the kernel's record */

struct pyl_sched_lookup {
	const struct pyl_sched_probe *probe;
	struct pyl_sched_record *rec;
	int err;			/* -ENOENT: no such event */
};

static int pyl_sched_note_field(const struct pyl_ftrace_event_field *field, void *arg)
{
	struct pyl_sched_lookup *lk = arg;
	int f;

	for (f = lk->probe->first; f <= lk->probe->last; f++)
		if (!strcmp(field->name, pyl_sched_field_names[f]))
			break;
	if (f > lk->probe->last || field->offset < 0 || field->size <= 0 ||
	    field->offset + field->size > PYL_SCHED_REC_MAX)
		return -EINVAL;		/* a field we would leave unset */
	if (f != PYL_SF_PREV_COMM && f != PYL_SF_NEXT_COMM && f != PYL_SF_COMM &&
	    field->size != 1 && field->size != 2 && field->size != 4 && field->size != 8)
		return -EINVAL;
	lk->rec->off[f] = field->offset;
	lk->rec->len[f] = field->size;
	lk->rec->size = max_t(u16, lk->rec->size, field->offset + field->size);
	return 0;
}

static int pyl_sched_find_call(struct trace_event_call *call, const char *name, void *arg)
{
	struct pyl_sched_lookup *lk = arg;
	int f;

	if (strcmp(trace_event_name(call), lk->probe->name))
		return 0;
	lk->err = pyl_ftrace_for_each_field(call, pyl_sched_note_field, lk);
	for (f = lk->probe->first; !lk->err && f <= lk->probe->last; f++)
		if (!lk->rec->len[f])
			lk->err = -EINVAL;	/* a field the kernel no longer has */
	return 1;
}

/* The record layout of the kernel's event, checked against what the probe fills. */
static int pyl_sched_record_of(const struct pyl_sched_probe *probe,
			       struct pyl_sched_record *rec)
{
	struct pyl_sched_lookup lk = { .probe = probe, .rec = rec, .err = -ENOENT };

	memset(rec, 0, sizeof(*rec));
	pyl_ftrace_for_each(pyl_sched_find_call, &lk);
	return lk.err;
}

/* ------------------------------------------------------ arm / disarm */

/*
 * Hook ev with its direct probe (see pylttng-source.h).  ERR_PTR(-ENOENT):
 * ev is not one of these events, or this kernel's event is not the one the
 * probe knows.  pyl_mutex held.
 */
struct pyl_direct_probe *pyl_sched_probe_arm(struct pyl_event *ev)
{
	const struct pyl_sched_probe *probe = NULL;
	struct pyl_direct_probe *dp;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(pyl_sched_probes); i++)
		if (!strcmp(ev->name, pyl_sched_probes[i].name))
			probe = &pyl_sched_probes[i];
	if (!probe)
		return ERR_PTR(-ENOENT);
	dp = kzalloc(sizeof(*dp), GFP_KERNEL);
	if (!dp)
		return ERR_PTR(-ENOMEM);
	ret = pyl_sched_record_of(probe, &dp->rec);
	if (ret) {
		pr_notice_once("pylttng: %s has fields this module does not know: recorded through perf\n",
			       ev->name);
		goto fallback;
	}
	dp->tp = pyl_kernel_tracepoint(ev->name);
	if (!dp->tp)
		goto fallback;
	dp->ev = ev;
	dp->fn = probe->fn;
	WRITE_ONCE(ev->armed, true);
	ret = tracepoint_probe_register(dp->tp, dp->fn, dp);
	if (ret) {
		WRITE_ONCE(ev->armed, false);
		kfree(dp);
		return ERR_PTR(ret);
	}
	return dp;
fallback:
	kfree(dp);
	return ERR_PTR(-ENOENT);
}

/* Frees dp.  The caller waits for an RCU grace period before freeing ev. */
void pyl_sched_probe_disarm(struct pyl_event *ev, struct pyl_direct_probe *dp)
{
	WRITE_ONCE(ev->armed, false);
	tracepoint_probe_unregister(dp->tp, dp->fn, dp);
	/* The probe may still run on another CPU until the grace period. */
	tracepoint_synchronize_unregister();
	kfree(dp);
}
