// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-context.c - contexts of a channel: what every event carries.
 *
 * The CONTEXT ioctl on a channel fd adds a field to the channel's
 * "event.context" structure, before the session first starts (as
 * LTTng-modules: the TSDL of a stream never changes).  Field names and
 * types are those of LTTng-modules (src/lttng-context-*.c), so that
 * analyses read them unchanged.  Every field is byte-aligned.
 *
 * The probe serializes the context of an event into a per-CPU scratch
 * area first (one slot per nesting level: task, softirq, irq, nmi), which
 * gives the exact length to reserve, then copies it after the header.
 */
#include <linux/kernel.h>
#include <linux/cred.h>
#include <linux/ipc_namespace.h>
#include <linux/nsproxy.h>
#include <linux/percpu.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/time_namespace.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>
#include <linux/utsname.h>
#include <linux/cgroup.h>
#include <net/net_namespace.h>

#include "pylttng.h"
#include "pylttng-compat.h"
#include "pylttng-context.h"

#define PYL_CTX_NEST		4
#define PYL_HOSTNAME_LEN	(__NEW_UTS_LEN + 1)
#define PYL_TSDL_CTX_MAX	(PYL_CTX_MAX_FIELDS * 192)
/* The tracepoint that called the probe disabled preemption once. */
#define PYL_PROBE_PREEMPT_NESTING	1

enum pyl_ctx_kind {
	PYL_K_S32, PYL_K_U32, PYL_K_S8, PYL_K_U8, PYL_K_TEXT, PYL_K_U64,
	PYL_K_STACK,
};

struct pyl_ctx_desc {
	const char *name;
	u8 kind;
	u8 len;			/* bytes, or text length */
};

static const struct pyl_ctx_desc pyl_ctx_descs[PYL_CTX_NR] = {
	[PYL_CTX_PID]		= { "pid", PYL_K_S32, 4 },
	[PYL_CTX_PERF_CPU]	= { NULL, PYL_K_U64, 8 },
	[PYL_CTX_PROCNAME]	= { "procname", PYL_K_TEXT, TASK_COMM_LEN },
	[PYL_CTX_PRIO]		= { "prio", PYL_K_S32, 4 },
	[PYL_CTX_NICE]		= { "nice", PYL_K_S32, 4 },
	[PYL_CTX_VPID]		= { "vpid", PYL_K_S32, 4 },
	[PYL_CTX_TID]		= { "tid", PYL_K_S32, 4 },
	[PYL_CTX_VTID]		= { "vtid", PYL_K_S32, 4 },
	[PYL_CTX_PPID]		= { "ppid", PYL_K_S32, 4 },
	[PYL_CTX_VPPID]		= { "vppid", PYL_K_S32, 4 },
	[PYL_CTX_HOSTNAME]	= { "hostname", PYL_K_TEXT, PYL_HOSTNAME_LEN },
	[PYL_CTX_CPU_ID]	= { "cpu_id", PYL_K_S32, 4 },
	[PYL_CTX_INTERRUPTIBLE]	= { "interruptible", PYL_K_S8, 1 },
	[PYL_CTX_PREEMPTIBLE]	= { "preemptible", PYL_K_U8, 1 },
	[PYL_CTX_NEED_RESCHEDULE] = { "need_reschedule", PYL_K_U8, 1 },
	[PYL_CTX_MIGRATABLE]	= { "migratable", PYL_K_U8, 1 },
	[PYL_CTX_CALLSTACK_KERNEL] = { "callstack_kernel", PYL_K_STACK, 0 },
	[PYL_CTX_CALLSTACK_USER] = { "callstack_user", PYL_K_STACK, 0 },
	[PYL_CTX_CGROUP_NS]	= { "cgroup_ns", PYL_K_U32, 4 },
	[PYL_CTX_IPC_NS]	= { "ipc_ns", PYL_K_U32, 4 },
	[PYL_CTX_MNT_NS]	= { "mnt_ns", PYL_K_U32, 4 },
	[PYL_CTX_NET_NS]	= { "net_ns", PYL_K_U32, 4 },
	[PYL_CTX_PID_NS]	= { "pid_ns", PYL_K_U32, 4 },
	[PYL_CTX_USER_NS]	= { "user_ns", PYL_K_U32, 4 },
	[PYL_CTX_UTS_NS]	= { "uts_ns", PYL_K_U32, 4 },
	[PYL_CTX_UID]		= { "uid", PYL_K_U32, 4 },
	[PYL_CTX_EUID]		= { "euid", PYL_K_U32, 4 },
	[PYL_CTX_SUID]		= { "suid", PYL_K_U32, 4 },
	[PYL_CTX_GID]		= { "gid", PYL_K_U32, 4 },
	[PYL_CTX_EGID]		= { "egid", PYL_K_U32, 4 },
	[PYL_CTX_SGID]		= { "sgid", PYL_K_U32, 4 },
	[PYL_CTX_VUID]		= { "vuid", PYL_K_U32, 4 },
	[PYL_CTX_VEUID]		= { "veuid", PYL_K_U32, 4 },
	[PYL_CTX_VSUID]		= { "vsuid", PYL_K_U32, 4 },
	[PYL_CTX_VGID]		= { "vgid", PYL_K_U32, 4 },
	[PYL_CTX_VEGID]		= { "vegid", PYL_K_U32, 4 },
	[PYL_CTX_VSGID]		= { "vsgid", PYL_K_U32, 4 },
	[PYL_CTX_TIME_NS]	= { "time_ns", PYL_K_U32, 4 },
};

/* ------------------------------------------------------------- scratch */

struct pyl_ctx_scratch {
	int nest;
	/* + a long: the callstack may start one alignment shift later */
	u8 buf[PYL_CTX_NEST][PYL_CTX_MAX_LEN + sizeof(long)];
};

static struct pyl_ctx_scratch __percpu *pyl_scratch;

/* Preemption is off in probes: the slot stays ours until put. */
u8 *pyl_ctx_scratch_get(void)
{
	struct pyl_ctx_scratch *s = this_cpu_ptr(pyl_scratch);
	int nest = s->nest++;

	barrier();	/* claim the slot before a nested probe may run */
	if (nest >= PYL_CTX_NEST)
		return NULL;
	return s->buf[nest];
}

void pyl_ctx_scratch_put(void)
{
	barrier();
	this_cpu_ptr(pyl_scratch)->nest--;
}

/* ------------------------------------------------------------- values */

static u32 pyl_ns_inum(u32 type)
{
	struct nsproxy *nsp = current->nsproxy;
	struct pid_namespace *pidns;

	switch (type) {
	case PYL_CTX_PID_NS:
		pidns = task_active_pid_ns(current);
		return pidns ? pidns->ns.inum : 0;
	case PYL_CTX_USER_NS:
		return current_user_ns()->ns.inum;
	}
	if (!nsp)
		return 0;	/* exiting task */
	switch (type) {
	case PYL_CTX_UTS_NS:
		return nsp->uts_ns->ns.inum;
	case PYL_CTX_MNT_NS:
		return pyl_mnt_ns_inum(nsp->mnt_ns);
#ifdef CONFIG_IPC_NS
	case PYL_CTX_IPC_NS:
		return nsp->ipc_ns->ns.inum;
#endif
#ifdef CONFIG_NET_NS
	case PYL_CTX_NET_NS:
		return nsp->net_ns->ns.inum;
#endif
#ifdef CONFIG_CGROUPS
	case PYL_CTX_CGROUP_NS:
		return nsp->cgroup_ns->ns.inum;
#endif
#ifdef CONFIG_TIME_NS
	case PYL_CTX_TIME_NS:
		return nsp->time_ns->ns.inum;
#endif
	}
	return 0;
}

static u32 pyl_cred_id(u32 type)
{
	const struct cred *cred = current_cred();
	struct user_namespace *ns = &init_user_ns;

	if (type >= PYL_CTX_VUID && type <= PYL_CTX_VSGID) {
		ns = current_user_ns();
		type -= PYL_CTX_VUID - PYL_CTX_UID;
	}
	switch (type) {
	case PYL_CTX_UID:
		return from_kuid_munged(ns, cred->uid);
	case PYL_CTX_EUID:
		return from_kuid_munged(ns, cred->euid);
	case PYL_CTX_SUID:
		return from_kuid_munged(ns, cred->suid);
	case PYL_CTX_GID:
		return from_kgid_munged(ns, cred->gid);
	case PYL_CTX_EGID:
		return from_kgid_munged(ns, cred->egid);
	default:
		return from_kgid_munged(ns, cred->sgid);
	}
}

static s32 pyl_parent_tgid(bool virt)
{
	struct task_struct *parent;
	s32 pid;

	if (virt && !current->nsproxy)
		return 0;
	rcu_read_lock();
	parent = rcu_dereference(current->real_parent);
	pid = virt ? task_tgid_vnr(parent) : task_tgid_nr(parent);
	rcu_read_unlock();
	return pid;
}

s64 pyl_ctx_int(u32 type)
{
	switch (type) {
	case PYL_CTX_PID:
		return task_tgid_nr(current);
	case PYL_CTX_TID:
		return task_pid_nr(current);
	case PYL_CTX_VPID:
		return current->nsproxy ? task_tgid_vnr(current) : 0;
	case PYL_CTX_VTID:
		return current->nsproxy ? task_pid_vnr(current) : 0;
	case PYL_CTX_PPID:
		return pyl_parent_tgid(false);
	case PYL_CTX_VPPID:
		return pyl_parent_tgid(true);
	case PYL_CTX_PRIO:
		return current->prio - MAX_RT_PRIO;
	case PYL_CTX_NICE:
		return task_nice(current);
	case PYL_CTX_CPU_ID:
		return raw_smp_processor_id();
	case PYL_CTX_INTERRUPTIBLE:
		return !irqs_disabled();
	case PYL_CTX_PREEMPTIBLE:
		return preempt_count() == PYL_PROBE_PREEMPT_NESTING;
	case PYL_CTX_NEED_RESCHEDULE:
		return test_tsk_need_resched(current);
	case PYL_CTX_MIGRATABLE:
		return pyl_task_migratable(current);
	case PYL_CTX_UID ... PYL_CTX_SGID:
	case PYL_CTX_VUID ... PYL_CTX_VSGID:
		return pyl_cred_id(type);
	default:
		return pyl_ns_inum(type);
	}
}

static void pyl_ctx_text(u32 type, u8 *dst, unsigned int len)
{
	struct nsproxy *nsp;

	if (type == PYL_CTX_PROCNAME) {
		memcpy(dst, current->comm, len);
		dst[len - 1] = '\0';
		return;
	}
	memset(dst, 0, len);
	nsp = current->nsproxy;
	if (nsp)
		strscpy(dst, nsp->uts_ns->name.nodename, len);
}

/* Serialize every context of the channel at dst; returns the bytes used. */
size_t pyl_ctx_record(const struct pyl_ctx *ctx, u8 *dst)
{
	u8 *p = dst;
	unsigned int i;

	for (i = 0; i < ctx->nr; i++) {
		const struct pyl_ctx_field *f = ctx->fields[i];
		const struct pyl_ctx_desc *d = &pyl_ctx_descs[f->type];
		s64 v;

		switch (d->kind) {
		case PYL_K_TEXT:
			pyl_ctx_text(f->type, p, d->len);
			p += d->len;
			continue;
		case PYL_K_STACK:
			p += pyl_ctx_callstack(p, f->type == PYL_CTX_CALLSTACK_USER);
			continue;
		case PYL_K_U64: {
			u64 c = pyl_ctx_perf_read(f);

			memcpy(p, &c, sizeof(c));
			p += sizeof(c);
			continue;
		}
		}
		v = pyl_ctx_int(f->type);
		if (d->len == 4) {
			u32 v32 = (u32)v;

			memcpy(p, &v32, 4);
		} else {
			*p = (u8)v;
		}
		p += d->len;
	}
	return p - dst;
}

/* ------------------------------------------------------------- control */

static const char *pyl_int_tsdl(u8 kind)
{
	switch (kind) {
	case PYL_K_S32:
		return "integer { size = 32; align = 8; signed = 1; encoding = none; base = 10; }";
	case PYL_K_U32:
		return "integer { size = 32; align = 8; signed = 0; encoding = none; base = 10; }";
	case PYL_K_S8:
		return "integer { size = 8; align = 8; signed = 1; encoding = none; base = 10; }";
	case PYL_K_U8:
		return "integer { size = 8; align = 8; signed = 0; encoding = none; base = 10; }";
	default:
		return "integer { size = 64; align = 8; signed = 0; encoding = none; base = 10; }";
	}
}

/* Append the field's TSDL declaration to the channel's text. */
static int pyl_ctx_tsdl_append(struct pyl_ctx *ctx, const struct pyl_ctx_field *f)
{
	const struct pyl_ctx_desc *d = &pyl_ctx_descs[f->type];
	size_t used = strlen(ctx->tsdl);
	char *p = ctx->tsdl + used;
	size_t room = PYL_TSDL_CTX_MAX - used;
	int n;

	if (d->kind == PYL_K_TEXT)
		n = snprintf(p, room,
			     "\t\tinteger { size = 8; align = 8; signed = %d; encoding = UTF8; base = 10; } _%s[%u];\n",
			     IS_ENABLED(CONFIG_CHAR_UNSIGNED) ? 0 : 1, f->name, d->len);
	else if (d->kind == PYL_K_STACK)
		n = snprintf(p, room,
			     "\t\tinteger { size = 32; align = 8; signed = 0; encoding = none; base = 10; } __%s_length;\n"
			     "\t\tinteger { size = %u; align = 8; signed = 0; encoding = none; base = 16; } _%s[ __%s_length ];\n",
			     f->name, (unsigned int)(sizeof(long) * BITS_PER_BYTE),
			     f->name, f->name);
	else
		n = snprintf(p, room, "\t\t%s _%s;\n", pyl_int_tsdl(d->kind), f->name);
	if (n >= room) {
		*p = '\0';
		return -E2BIG;
	}
	return 0;
}

static bool pyl_ctx_supported(u32 type)
{
	switch (type) {
	case PYL_CTX_CGROUP_NS:
		return IS_ENABLED(CONFIG_CGROUPS);
	case PYL_CTX_IPC_NS:
		return IS_ENABLED(CONFIG_IPC_NS);
	case PYL_CTX_NET_NS:
		return IS_ENABLED(CONFIG_NET_NS);
	case PYL_CTX_TIME_NS:
		return IS_ENABLED(CONFIG_TIME_NS);
	case PYL_CTX_CALLSTACK_USER:
		return pyl_user_callstack_supported();
	default:
		return type < PYL_CTX_NR;
	}
}

static int pyl_ctx_field_init(struct pyl_ctx_field *f,
			      const struct pyl_abi_context *param)
{
	const struct pyl_ctx_desc *d = &pyl_ctx_descs[f->type];

	if (f->type == PYL_CTX_PERF_CPU) {
		if (!strnlen(param->u.perf_counter.name, PYL_SYM_NAME_LEN))
			return -EINVAL;
		strscpy(f->name, param->u.perf_counter.name, sizeof(f->name));
		f->max_len = sizeof(u64);
		return 0;
	}
	strscpy(f->name, d->name, sizeof(f->name));
	if (d->kind == PYL_K_STACK)
		f->max_len = sizeof(u32) + PYL_CALLSTACK_MAX * sizeof(long);
	else
		f->max_len = d->len;
	return 0;
}

static void pyl_ctx_field_free(struct pyl_ctx_field *f)
{
	if (f->type == PYL_CTX_PERF_CPU)
		pyl_ctx_perf_destroy(f);
	kfree(f);
}

static bool pyl_ctx_has(const struct pyl_ctx *ctx, const char *name)
{
	unsigned int i;

	for (i = 0; i < ctx->nr; i++)
		if (!strcmp(ctx->fields[i]->name, name))
			return true;
	return false;
}

/* Validate, create, then publish a field; caller holds pyl_mutex. */
static int pyl_ctx_add_locked(struct pyl_channel *chan,
			      const struct pyl_abi_context *param)
{
	struct pyl_ctx *ctx = &chan->ctx;
	struct pyl_ctx_field *f;
	int ret;

	if (chan->session->been_active)
		return -EPERM;		/* the stream's TSDL is fixed */
	if (param->ctx >= PYL_CTX_NR)
		return -EINVAL;
	if (!pyl_ctx_supported(param->ctx))
		return -ENOSYS;
	if (ctx->nr == PYL_CTX_MAX_FIELDS)
		return -E2BIG;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->type = param->ctx;
	ret = pyl_ctx_field_init(f, param);
	if (!ret && pyl_ctx_has(ctx, f->name))
		ret = -EEXIST;
	if (!ret && ctx->max_len + f->max_len > PYL_CTX_MAX_LEN)
		ret = -E2BIG;
	if (!ret && !ctx->tsdl) {
		ctx->tsdl = kzalloc(PYL_TSDL_CTX_MAX, GFP_KERNEL);
		if (!ctx->tsdl)
			ret = -ENOMEM;
	}
	if (!ret && f->type == PYL_CTX_PERF_CPU)
		ret = pyl_ctx_perf_create(f, param);
	if (!ret)
		ret = pyl_ctx_tsdl_append(ctx, f);
	if (ret) {
		pyl_ctx_field_free(f);
		return ret;
	}
	ctx->fields[ctx->nr++] = f;
	ctx->max_len += f->max_len;
	return 0;
}

int pyl_ctx_add(struct pyl_channel *chan, const struct pyl_abi_context *param)
{
	int ret;

	mutex_lock(&pyl_mutex);
	ret = pyl_ctx_add_locked(chan, param);
	mutex_unlock(&pyl_mutex);
	return ret;
}

/* Channel teardown: no probe runs any more. */
void pyl_ctx_free(struct pyl_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < ctx->nr; i++)
		pyl_ctx_field_free(ctx->fields[i]);
	ctx->nr = 0;
	kfree(ctx->tsdl);
	ctx->tsdl = NULL;
}

int pyl_ctx_init(void)
{
	pyl_scratch = alloc_percpu(struct pyl_ctx_scratch);
	return pyl_scratch ? 0 : -ENOMEM;
}

void pyl_ctx_exit(void)
{
	free_percpu(pyl_scratch);
}
