// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-syscalls.c - system call events of a channel.
 *
 * A SYSCALL enabler (a name, a "prefix*" glob, or "*" for all) makes the
 * channel instantiate syscall_entry_<name> and syscall_exit_<name> for
 * every matching native system call, compat_syscall_entry_<name> and
 * compat_syscall_exit_<name> for 32-bit compat calls (x86 ia32), plus the
 * "unknown" events that stand for numbers without metadata.
 *
 * Recording uses direct probes on the raw_syscalls sys_enter/sys_exit
 * tracepoints, one pair per channel that has armed syscall events.  The
 * channel keeps, per system call number, the armed entry and exit event
 * (NULL when not traced): the probe does one load to decide.  Payloads
 * are serialized straight from the registers; user strings are first
 * copied, bounded and without faulting, into a per-CPU scratch area, so
 * that their length is known when the record is reserved.  sys_enter and
 * sys_exit only fire in task context with preemption off, so the scratch
 * area cannot be reentered on its CPU.
 *
 * This is the event source of SYSCALL enablers (pylttng-source.h): an
 * enabler's state says which of entry/exit and native/compat it wants, an
 * event's which system call number(s) it stands for.
 */
#include <linux/compat.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/ptrace.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <asm/syscall.h>

#include "pylttng.h"
#include "pylttng-ftrace.h"
#include "pylttng-layout.h"
#include "pylttng-source.h"
#include "pylttng-syscalls.h"

#define PYL_SC_SCRATCH		(3 * PYL_SC_STR_MAX)
#define PYL_SC_TSDL_MAX		2048
#define PYL_SC_FAULT		"(fault)"

#define PYL_TSDL_INT	"\t\tinteger { size = %u; align = 8; signed = %d; encoding = none; base = 10; } _%s%s;\n"

/* A SYSCALL enabler's state: which events its name selects. */
struct pyl_sc_enabler {
	u8 entryexit;			/* enum pyl_abi_syscall_entryexit */
	u8 abi;				/* enum pyl_abi_syscall_abi */
};

/* A syscall event's state. */
struct pyl_sc_event {
	int nr;				/* first number with the name, -1: unknown */
	bool exit;
	bool compat;			/* 32-bit compat ABI */
	const char *name;		/* in ev->name, without prefix */
};

/* The armed events of one channel, read by its probes. */
struct pyl_sc_chan {
	struct pyl_event **entry;	/* by number */
	struct pyl_event **exit;
	struct pyl_event **compat_entry;	/* by compat number */
	struct pyl_event **compat_exit;
	struct pyl_event *unknown_entry, *unknown_exit;
	struct pyl_event *compat_unknown_entry, *compat_unknown_exit;
	unsigned int nr_armed;
	bool registered;
};

static struct tracepoint *pyl_tp_sys_enter, *pyl_tp_sys_exit;
static DEFINE_PER_CPU(char *, pyl_sc_scratch);

/* ------------------------------------------------------------ recording */

static void pyl_sc_put_int(u8 **dst, unsigned long v, unsigned int size)
{
	switch (size) {
	case 1: { u8 x = v; memcpy(*dst, &x, 1); break; }
	case 2: { u16 x = v; memcpy(*dst, &x, 2); break; }
	case 4: { u32 x = v; memcpy(*dst, &x, 4); break; }
	default: { u64 x = v; memcpy(*dst, &x, 8); size = 8; break; }
	}
	*dst += size;
}

/*
 * strncpy_from_user_nofault() is not exported: with page faults disabled,
 * strncpy_from_user() fails on a missing page instead of sleeping.
 */
static long pyl_sc_strncpy_nofault(char *dst, unsigned long uaddr, long count)
{
	long n;

	pagefault_disable();
	n = strncpy_from_user(dst, (const char __user *)uaddr, count);
	pagefault_enable();
	return n;
}

/* Copy a user string into the scratch area; returns its length + NUL. */
static size_t pyl_sc_copy_string(char *dst, size_t room, unsigned long uaddr)
{
	long n;

	if (room < sizeof(PYL_SC_FAULT))
		return 0;
	n = pyl_sc_strncpy_nofault(dst, uaddr, min_t(size_t, room, PYL_SC_STR_MAX));
	if (n < 0) {
		strscpy(dst, PYL_SC_FAULT, room);
		return sizeof(PYL_SC_FAULT);
	}
	if (n >= min_t(size_t, room, PYL_SC_STR_MAX))
		n--;			/* truncated: no NUL was copied */
	dst[n] = '\0';
	return n + 1;
}

static bool pyl_sc_wants(const struct pyl_sc_arg *a, bool exit)
{
	return a->dir & (exit ? PYL_SC_OUT : PYL_SC_IN);
}

static void pyl_sc_record(struct pyl_event *ev, const struct pyl_sc_desc *d,
			  struct pt_regs *regs, long ret, bool exit)
{
	char *scratch = this_cpu_read(pyl_sc_scratch);
	size_t str_len[PYL_SC_MAX_ARGS] = {}, used = 0, len = 0;
	unsigned long args[PYL_SC_MAX_ARGS];
	struct pyl_rb_ctx ctx;
	unsigned int i;
	u8 *dst;

	if (!scratch)
		return;
	syscall_get_arguments(current, regs, args);
	if (exit)
		len += sizeof(long);
	for (i = 0; i < d->nb_args; i++) {
		const struct pyl_sc_arg *a = &d->args[i];

		if (!pyl_sc_wants(a, exit))
			continue;
		if (a->kind == PYL_SC_STRING) {
			str_len[i] = pyl_sc_copy_string(scratch + used,
							PYL_SC_SCRATCH - used, args[i]);
			if (!str_len[i])
				return;	/* out of scratch: never with real tables */
			used += str_len[i];
			len += str_len[i];
		} else {
			len += a->size;
		}
	}
	dst = pyl_event_reserve(ev, len, &ctx);
	if (!dst)
		return;
	if (exit)
		pyl_sc_put_int(&dst, ret, sizeof(long));
	used = 0;
	for (i = 0; i < d->nb_args; i++) {
		const struct pyl_sc_arg *a = &d->args[i];

		if (!pyl_sc_wants(a, exit))
			continue;
		if (a->kind == PYL_SC_STRING) {
			memcpy(dst, scratch + used, str_len[i]);
			dst += str_len[i];
			used += str_len[i];
		} else {
			pyl_sc_put_int(&dst, args[i], a->size);
		}
	}
	pyl_rb_commit(&ctx);
}

/* syscall_{entry,exit}_unknown: { id, [ret,] args[6] } */
static void pyl_sc_record_unknown(struct pyl_event *ev, struct pt_regs *regs,
				  long id, long ret, bool exit)
{
	unsigned long args[PYL_SC_MAX_ARGS];
	size_t len = 4 + (exit ? 8 : 0) + sizeof(u64) * PYL_SC_MAX_ARGS;
	struct pyl_rb_ctx ctx;
	unsigned int i;
	u8 *dst;

	syscall_get_arguments(current, regs, args);
	dst = pyl_event_reserve(ev, len, &ctx);
	if (!dst)
		return;
	pyl_sc_put_int(&dst, id, 4);
	if (exit)
		pyl_sc_put_int(&dst, ret, 8);
	for (i = 0; i < PYL_SC_MAX_ARGS; i++)
		pyl_sc_put_int(&dst, args[i], 8);
	pyl_rb_commit(&ctx);
}

static void pyl_sc_dispatch_compat(struct pyl_sc_chan *sc, struct pt_regs *regs,
				   long id, long ret, bool exit)
{
	const struct pyl_sc_desc *d = id >= 0 ? pyl_sc_compat_desc(id) : NULL;
	struct pyl_event *ev;

	if (!d) {
		ev = exit ? READ_ONCE(sc->compat_unknown_exit) :
			    READ_ONCE(sc->compat_unknown_entry);
		if (ev)
			pyl_sc_record_unknown(ev, regs, id, ret, exit);
		return;
	}
	ev = exit ? READ_ONCE(sc->compat_exit[id]) : READ_ONCE(sc->compat_entry[id]);
	if (ev)
		pyl_sc_record(ev, d, regs, ret, exit);
}

static void pyl_sc_dispatch(struct pyl_sc_chan *sc, struct pt_regs *regs,
			    long id, long ret, bool exit)
{
	const struct pyl_sc_desc *d;
	struct pyl_event *ev;

	if (in_compat_syscall()) {
		pyl_sc_dispatch_compat(sc, regs, id, ret, exit);
		return;
	}
	d = id >= 0 ? pyl_sc_desc(id) : NULL;
	if (!d) {
		ev = exit ? READ_ONCE(sc->unknown_exit) : READ_ONCE(sc->unknown_entry);
		if (ev)
			pyl_sc_record_unknown(ev, regs, id, ret, exit);
		return;
	}
	ev = exit ? READ_ONCE(sc->exit[id]) : READ_ONCE(sc->entry[id]);
	if (ev)
		pyl_sc_record(ev, d, regs, ret, exit);
}

static void pyl_sc_enter_probe(void *data, struct pt_regs *regs, long id)
{
	pyl_sc_dispatch(data, regs, id, 0, false);
}

static void pyl_sc_exit_probe(void *data, struct pt_regs *regs, long ret)
{
	pyl_sc_dispatch(data, regs, syscall_get_nr(current, regs), ret, true);
}

/* -------------------------------------------------------------- probes */

static int pyl_sc_register(struct pyl_sc_chan *sc)
{
	int ret;

	if (!pyl_tp_sys_enter || !pyl_tp_sys_exit)
		return -ENOSYS;
	ret = tracepoint_probe_register(pyl_tp_sys_enter, pyl_sc_enter_probe, sc);
	if (ret)
		return ret;
	ret = tracepoint_probe_register(pyl_tp_sys_exit, pyl_sc_exit_probe, sc);
	if (ret) {
		tracepoint_probe_unregister(pyl_tp_sys_enter, pyl_sc_enter_probe, sc);
		return ret;
	}
	sc->registered = true;
	return 0;
}

/* Probes may still run until the caller's RCU grace period. */
static void pyl_sc_unregister(struct pyl_sc_chan *sc)
{
	tracepoint_probe_unregister(pyl_tp_sys_enter, pyl_sc_enter_probe, sc);
	tracepoint_probe_unregister(pyl_tp_sys_exit, pyl_sc_exit_probe, sc);
	sc->registered = false;
}

static void pyl_sc_chan_arrays_free(struct pyl_sc_chan *sc)
{
	kfree(sc->entry);
	kfree(sc->exit);
	kfree(sc->compat_entry);
	kfree(sc->compat_exit);
}

static struct pyl_sc_chan *pyl_sc_chan_get(struct pyl_channel *chan)
{
	struct pyl_sc_chan *sc = chan->sc;

	if (sc)
		return sc;
	sc = kzalloc(sizeof(*sc), GFP_KERNEL);
	if (!sc)
		return NULL;
	sc->entry = kcalloc(pyl_sc_nr(), sizeof(*sc->entry), GFP_KERNEL);
	sc->exit = kcalloc(pyl_sc_nr(), sizeof(*sc->exit), GFP_KERNEL);
	/* kcalloc(0) is ZERO_SIZE_PTR, not NULL: no compat table is fine. */
	sc->compat_entry = kcalloc(pyl_sc_compat_nr(), sizeof(*sc->compat_entry), GFP_KERNEL);
	sc->compat_exit = kcalloc(pyl_sc_compat_nr(), sizeof(*sc->compat_exit), GFP_KERNEL);
	if (!sc->entry || !sc->exit || !sc->compat_entry || !sc->compat_exit) {
		pyl_sc_chan_arrays_free(sc);
		kfree(sc);
		return NULL;
	}
	chan->sc = sc;
	return sc;
}

/* The probe's slot(s) for ev: one per number sharing its name. */
static void pyl_sc_publish(struct pyl_sc_chan *sc, struct pyl_event *ev,
			   struct pyl_event *val)
{
	const struct pyl_sc_event *se = ev->priv;
	bool exit = se->exit;
	struct pyl_event **slots;
	const struct pyl_sc_desc *d;
	unsigned int nr, count;

	if (se->nr < 0) {
		if (se->compat)
			WRITE_ONCE(*(exit ? &sc->compat_unknown_exit :
					    &sc->compat_unknown_entry), val);
		else
			WRITE_ONCE(*(exit ? &sc->unknown_exit : &sc->unknown_entry), val);
		return;
	}
	if (se->compat) {
		slots = exit ? sc->compat_exit : sc->compat_entry;
		count = pyl_sc_compat_nr();
	} else {
		slots = exit ? sc->exit : sc->entry;
		count = pyl_sc_nr();
	}
	for (nr = se->nr; nr < count; nr++) {
		d = se->compat ? pyl_sc_compat_desc(nr) : pyl_sc_desc(nr);
		if (d && d->canon == se->nr)
			WRITE_ONCE(slots[nr], val);
	}
}

static void pyl_sc_arm(struct pyl_event *ev)
{
	struct pyl_sc_chan *sc = pyl_sc_chan_get(ev->chan);

	if (!sc)
		return;
	if (!sc->registered && pyl_sc_register(sc)) {
		pr_warn_ratelimited("pylttng: cannot hook system calls\n");
		return;
	}
	pyl_sc_publish(sc, ev, ev);
	ev->armed = true;
	sc->nr_armed++;
}

/* The caller waits for an RCU grace period before freeing anything. */
static void pyl_sc_disarm(struct pyl_event *ev)
{
	struct pyl_sc_chan *sc = ev->chan->sc;

	pyl_sc_publish(sc, ev, NULL);
	ev->armed = false;
	if (!--sc->nr_armed)
		pyl_sc_unregister(sc);
}

/* Channel teardown: every event is disarmed and a grace period passed. */
static void pyl_sc_chan_free(struct pyl_channel *chan)
{
	struct pyl_sc_chan *sc = chan->sc;

	if (!sc)
		return;
	WARN_ON_ONCE(sc->registered);
	pyl_sc_chan_arrays_free(sc);
	kfree(sc);
	chan->sc = NULL;
}

/* ------------------------------------------------------- instantiation */

/* The EVENT ioctl's entry/exit and ABI choices; "" was made "*". */
static int pyl_sc_enabler_init(struct pyl_enabler *en,
			       const struct pyl_abi_event *param)
{
	struct pyl_sc_enabler *se;

	if (param->u.syscall.entryexit > PYL_ABI_SYSCALL_EXIT ||
	    param->u.syscall.abi > PYL_ABI_SYSCALL_ABI_COMPAT ||
	    param->u.syscall.match != 0)
		return -EINVAL;
	se = kzalloc(sizeof(*se), GFP_KERNEL);
	if (!se)
		return -ENOMEM;
	se->entryexit = param->u.syscall.entryexit;
	se->abi = param->u.syscall.abi;
	en->priv = se;
	return 0;
}

static void pyl_sc_enabler_free(struct pyl_enabler *en)
{
	kfree(en->priv);
}

static bool pyl_sc_matches(const struct pyl_enabler *en, const struct pyl_event *ev)
{
	const struct pyl_sc_event *se = ev->priv;
	const struct pyl_sc_enabler *want = en->priv;

	if (en->instrumentation != PYL_ABI_SYSCALL)
		return false;
	if ((want->entryexit == PYL_ABI_SYSCALL_ENTRY && se->exit) ||
	    (want->entryexit == PYL_ABI_SYSCALL_EXIT && !se->exit))
		return false;
	if ((want->abi == PYL_ABI_SYSCALL_ABI_NATIVE && se->compat) ||
	    (want->abi == PYL_ABI_SYSCALL_ABI_COMPAT && !se->compat))
		return false;
	if (se->nr < 0)
		return !strcmp(en->name, "*");	/* nameless: only "all" */
	return pyl_enabler_matches(en, se->name);
}

static void pyl_sc_tsdl_args(char *buf, size_t *pos, const struct pyl_sc_desc *d,
			     bool exit)
{
	unsigned int i;

	if (exit)
		*pos += scnprintf(buf + *pos, PYL_SC_TSDL_MAX - *pos, PYL_TSDL_INT,
				  BITS_PER_LONG, 1, "ret", "");
	for (i = 0; i < d->nb_args; i++) {
		const struct pyl_sc_arg *a = &d->args[i];

		if (!pyl_sc_wants(a, exit))
			continue;
		if (a->kind == PYL_SC_STRING)
			*pos += scnprintf(buf + *pos, PYL_SC_TSDL_MAX - *pos,
					  "\t\tstring _%s;\n", a->name);
		else
			*pos += scnprintf(buf + *pos, PYL_SC_TSDL_MAX - *pos,
					  PYL_TSDL_INT, a->size * 8, a->is_signed,
					  a->name, "");
	}
}

static void pyl_sc_tsdl_unknown(char *buf, size_t *pos, bool exit)
{
	*pos += scnprintf(buf + *pos, PYL_SC_TSDL_MAX - *pos, PYL_TSDL_INT,
			  32, 1, "id", "");
	if (exit)
		*pos += scnprintf(buf + *pos, PYL_SC_TSDL_MAX - *pos, PYL_TSDL_INT,
				  64, 1, "ret", "");
	*pos += scnprintf(buf + *pos, PYL_SC_TSDL_MAX - *pos, PYL_TSDL_INT,
			  64, 0, "args", "[6]");
}

/* A TSDL-only layout: syscall payloads are written by the probes above. */
static struct pyl_layout *pyl_sc_layout(const struct pyl_sc_desc *d, bool exit)
{
	struct pyl_layout *layout;
	size_t pos = 0;

	layout = kzalloc(sizeof(*layout), GFP_KERNEL);
	if (!layout)
		return NULL;
	layout->tsdl = kzalloc(PYL_SC_TSDL_MAX, GFP_KERNEL);
	if (!layout->tsdl) {
		kfree(layout);
		return NULL;
	}
	if (d)
		pyl_sc_tsdl_args(layout->tsdl, &pos, d, exit);
	else
		pyl_sc_tsdl_unknown(layout->tsdl, &pos, exit);
	return layout;
}

static void pyl_sc_add_event(struct pyl_channel *chan, const struct pyl_sc_desc *d,
			     int nr, bool exit, bool compat)
{
	struct pyl_sc_event *se;
	char *name;

	name = kasprintf(GFP_KERNEL, "%ssyscall_%s_%s", compat ? "compat_" : "",
			 exit ? "exit" : "entry", d ? d->name : "unknown");
	if (!name)
		return;
	se = pyl_event_find(chan, name) ? NULL : kzalloc(sizeof(*se), GFP_KERNEL);
	if (!se) {
		kfree(name);
		return;
	}
	se->nr = nr;
	se->exit = exit;
	se->compat = compat;
	se->name = name + strlen(name) - strlen(d ? d->name : "unknown");
	if (!pyl_event_add(chan, &pyl_syscall_source, name, pyl_sc_layout(d, exit), se))
		kfree(se);
}

static void pyl_sc_free(struct pyl_event *ev)
{
	kfree(ev->priv);
}

static bool pyl_sc_wanted_name(struct pyl_channel *chan, const char *name,
			       bool compat)
{
	u8 other = compat ? PYL_ABI_SYSCALL_ABI_NATIVE : PYL_ABI_SYSCALL_ABI_COMPAT;
	struct pyl_enabler *en;

	list_for_each_entry(en, &chan->enablers, node) {
		const struct pyl_sc_enabler *want = en->priv;

		if (en->instrumentation == PYL_ABI_SYSCALL &&
		    want->abi != other && pyl_enabler_matches(en, name))
			return true;
	}
	return false;
}

static bool pyl_sc_any_enabler(struct pyl_channel *chan)
{
	struct pyl_enabler *en;

	list_for_each_entry(en, &chan->enablers, node)
		if (en->instrumentation == PYL_ABI_SYSCALL)
			return true;
	return false;
}

/* Caller holds pyl_mutex. */
static void pyl_sc_instantiate(struct pyl_channel *chan)
{
	const struct pyl_sc_desc *d;
	unsigned int nr;

	if (!pyl_sc_any_enabler(chan))
		return;
	/* As LTTng-modules: the unknown events come with any syscall rule. */
	pyl_sc_add_event(chan, NULL, -1, false, false);
	pyl_sc_add_event(chan, NULL, -1, true, false);
	pyl_sc_add_event(chan, NULL, -1, false, true);
	pyl_sc_add_event(chan, NULL, -1, true, true);
	for (nr = 0; nr < pyl_sc_nr(); nr++) {
		d = pyl_sc_desc(nr);
		if (!d || d->canon != nr || !pyl_sc_wanted_name(chan, d->name, false))
			continue;
		pyl_sc_add_event(chan, d, nr, false, false);
		pyl_sc_add_event(chan, d, nr, true, false);
	}
	for (nr = 0; nr < pyl_sc_compat_nr(); nr++) {
		d = pyl_sc_compat_desc(nr);
		if (!d || d->canon != nr || !pyl_sc_wanted_name(chan, d->name, true))
			continue;
		pyl_sc_add_event(chan, d, nr, false, true);
		pyl_sc_add_event(chan, d, nr, true, true);
	}
}

/* ------------------------------------------------------------ set-up */

static void pyl_sc_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		kfree(per_cpu(pyl_sc_scratch, cpu));
		per_cpu(pyl_sc_scratch, cpu) = NULL;
	}
	pyl_sc_table_exit();
}

static int pyl_sc_init(void)
{
	int ret, cpu;

	ret = pyl_sc_table_init();
	if (ret)
		return ret;
	pyl_tp_sys_enter = pyl_kernel_tracepoint("sys_enter");
	pyl_tp_sys_exit = pyl_kernel_tracepoint("sys_exit");
	if (!pyl_tp_sys_enter || !pyl_tp_sys_exit)
		pr_warn("pylttng: no raw_syscalls tracepoints: system calls not traced\n");
	for_each_possible_cpu(cpu) {
		char *buf = kmalloc_node(PYL_SC_SCRATCH, GFP_KERNEL, cpu_to_node(cpu));

		if (!buf) {
			pyl_sc_exit();
			return -ENOMEM;
		}
		per_cpu(pyl_sc_scratch, cpu) = buf;
	}
	return 0;
}

const struct pyl_event_source_ops pyl_syscall_source = {
	.enablers = BIT(PYL_ABI_SYSCALL),
	.empty_name = "*",		/* "": every system call */
	.init = pyl_sc_init,
	.exit = pyl_sc_exit,
	.enabler_init = pyl_sc_enabler_init,
	.enabler_free = pyl_sc_enabler_free,
	.instantiate = pyl_sc_instantiate,
	.matches = pyl_sc_matches,
	.arm = pyl_sc_arm,
	.disarm = pyl_sc_disarm,
	.free = pyl_sc_free,
	.chan_free = pyl_sc_chan_free,
};
