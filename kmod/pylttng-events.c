// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-events.c - event enablers, event instances and their probes.
 *
 * The EVENT ioctl creates an enabler: an exact tracepoint name or a glob
 * with a trailing '*'.  While the session is active, every tracepoint of
 * the running kernel matching an enabler of a channel is instantiated once
 * in that channel (an id, a CTF layout, a TSDL declaration), including
 * tracepoints of modules loaded later (module notifier).
 *
 * An instance is armed, i.e. hooked with one in-kernel perf tracepoint
 * event per online CPU (following CPU hotplug), or with a direct probe for
 * the hottest scheduler events (pylttng-sched-probes.c), while its session
 * is active, its channel enabled and an enabled enabler matches it.  Either
 * way the probe gets the raw ftrace record and serializes it into the
 * CPU's ring buffer.
 */
#include <linux/anon_inodes.h>
#include <linux/cpumask.h>
#include <linux/module.h>
#include <linux/perf_event.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringhash.h>
#include <linux/uaccess.h>

#include "pylttng.h"
#include "pylttng-cpu-perf.h"
#include "pylttng-ftrace.h"
#include "pylttng-layout.h"

bool pyl_enabler_matches(const struct pyl_enabler *en, const char *name)
{
	if (en->glob)
		return pyl_glob_match(en->name, name);
	return !strcmp(en->name, name);
}

static u32 pyl_name_hash(const char *name)
{
	return full_name_hash(NULL, name, strlen(name));
}

struct pyl_event *pyl_event_find(struct pyl_channel *chan, const char *name)
{
	struct pyl_event *ev;

	hash_for_each_possible(chan->event_names, ev, name_node, pyl_name_hash(name))
		if (!strcmp(ev->name, name))
			return ev;
	return NULL;
}

/* ev (named, laid out) joins chan: it gets the next id. */
void pyl_channel_add_event(struct pyl_channel *chan, struct pyl_event *ev)
{
	ev->id = chan->next_event_id++;
	list_add_tail(&ev->node, &chan->events);
	hash_add(chan->event_names, &ev->name_node, pyl_name_hash(ev->name));
}

static void pyl_event_free(struct pyl_event *ev)
{
	if (ev->kind == PYL_EV_UPROBE)
		pyl_uprobe_event_free(ev);
	else
		pyl_kprobe_event_free(ev);
	pyl_layout_free(ev->layout);
	kfree(ev->name);
	kfree(ev);
}

/* pyl_ftrace_for_each() callback: instantiate call in the channel if wanted. */
static int pyl_instantiate_one(struct trace_event_call *call, const char *name,
			       void *arg)
{
	struct pyl_channel *chan = arg;
	struct pyl_enabler *en;
	struct pyl_event *ev;
	bool match = false;

	list_for_each_entry(en, &chan->enablers, node) {
		if (en->instrumentation == PYL_ABI_TRACEPOINT &&
		    pyl_enabler_matches(en, name)) {
			match = true;
			break;
		}
	}
	if (!match || pyl_event_find(chan, name))
		return 0;

	ev = kzalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev)
		return 0;
	ev->chan = chan;
	ev->name = kstrdup(name, GFP_KERNEL);
	/* No trace_event_call: one of LTTng's own statedump events. */
	ev->layout = call ? pyl_layout_build(call, name) : pyl_statedump_layout(name);
	if (!ev->name || !ev->layout) {
		pr_warn("pylttng: cannot instantiate event %s\n", name);
		pyl_event_free(ev);
		return 0;
	}
	/*
	 * A core-kernel event's id never changes: no lookup by name when
	 * armed.  (pyl_ftrace_for_each() skips dynamic events.)
	 */
	if (call && !call->module)
		ev->ftrace_id = call->event.type;
	pyl_channel_add_event(chan, ev);
	return 0;
}

void pyl_session_instantiate(struct pyl_session *session)
{
	struct pyl_channel *chan;

	list_for_each_entry(chan, &session->chans, node) {
		if (chan->is_metadata || list_empty(&chan->enablers))
			continue;
		pyl_ftrace_for_each(pyl_instantiate_one, chan);
		pyl_syscalls_instantiate(chan);
		pyl_statedump_for_each(pyl_instantiate_one, chan);
	}
}

/* Does en select ev?  Each source has its own notion of a match. */
static bool pyl_enabler_selects(const struct pyl_enabler *en,
				const struct pyl_event *ev)
{
	switch (ev->kind) {
	case PYL_EV_TRACEPOINT:
		return en->instrumentation == PYL_ABI_TRACEPOINT &&
		       pyl_enabler_matches(en, ev->name);
	case PYL_EV_SYSCALL_ENTRY:
	case PYL_EV_SYSCALL_EXIT:
		return pyl_syscall_matches(en, ev);
	default:
		return ev->owner == en;
	}
}

static bool pyl_event_wanted(const struct pyl_event *ev)
{
	const struct pyl_channel *chan = ev->chan;
	const struct pyl_enabler *en;

	if (!chan->session->active || !chan->enabled || chan->finalized)
		return false;
	list_for_each_entry(en, &chan->enablers, node)
		if (en->enabled && pyl_enabler_selects(en, ev))
			return true;
	return false;
}

/* The channel's contexts go between the event header and the payload. */
static void pyl_record_with_ctx(struct pyl_event *ev, struct pyl_rb *rb,
				const u8 *rec, u32 rec_size, size_t len,
				const struct pyl_layout_env *env)
{
	struct pyl_channel *chan = ev->chan;
	struct pyl_rb_ctx ctx;
	size_t ctx_len;
	u8 *scratch, *dst;

	scratch = pyl_ctx_scratch_get();
	if (scratch) {
		ctx_len = pyl_ctx_record(&chan->ctx, scratch);
		dst = pyl_rb_reserve(rb, chan->header_type, ev->id,
				     ctx_len + len, &ctx);
		if (dst) {
			memcpy(dst, scratch, ctx_len);
			pyl_layout_write(ev->layout, rec, rec_size, env, dst + ctx_len);
			pyl_rb_commit(&ctx);
		}
	}
	pyl_ctx_scratch_put();
}

/*
 * Reserve an event of ev with payload_len bytes on this CPU's buffer, the
 * channel's context fields already written before the payload; returns
 * where the payload goes, or NULL (dropped).  For probes that serialize
 * their payload themselves; preemption is off.
 */
u8 *pyl_event_reserve(struct pyl_event *ev, size_t payload_len,
		      struct pyl_rb_ctx *rctx)
{
	struct pyl_channel *chan = ev->chan;
	int cpu = smp_processor_id();
	size_t ctx_len = 0;
	u8 *scratch = NULL, *dst;

	if (cpu >= chan->nr_rbs || !chan->rbs[cpu])
		return NULL;
	if (chan->ctx.nr) {
		scratch = pyl_ctx_scratch_get();
		if (!scratch) {
			pyl_ctx_scratch_put();
			return NULL;
		}
		ctx_len = pyl_ctx_record(&chan->ctx, scratch);
	}
	dst = pyl_rb_reserve(chan->rbs[cpu], chan->header_type, ev->id,
			     ctx_len + payload_len, rctx);
	if (scratch) {
		if (dst)
			memcpy(dst, scratch, ctx_len);
		pyl_ctx_scratch_put();
	}
	return dst ? dst + ctx_len : NULL;
}

/*
 * Record one event from its ftrace record (perf's copy, or the one a
 * direct probe filled): runs in the traced context, preemption off.
 */
void pyl_event_record_raw(struct pyl_event *ev, const u8 *rec, u32 rec_size)
{
	struct pyl_channel *chan = ev->chan;
	struct pyl_layout_env env;
	struct pyl_rb_ctx ctx;
	size_t len;
	u8 *dst;
	int cpu;

	if (!READ_ONCE(ev->armed))
		return;
	cpu = smp_processor_id();
	/* A direct probe also fires on a CPU whose buffer is not there yet. */
	if (cpu >= chan->nr_rbs || !chan->rbs[cpu])
		return;
	len = pyl_layout_size(ev->layout, rec, rec_size, &env);
	if (!chan->ctx.nr) {
		dst = pyl_rb_reserve(chan->rbs[cpu], chan->header_type, ev->id, len, &ctx);
		if (!dst)
			return;
		pyl_layout_write(ev->layout, rec, rec_size, &env, dst);
		pyl_rb_commit(&ctx);
		return;
	}
	pyl_record_with_ctx(ev, chan->rbs[cpu], rec, rec_size, len, &env);
}

/* perf's overflow handler: runs on the CPU that hit the tracepoint. */
static void pyl_perf_overflow(struct perf_event *pe, struct perf_sample_data *data,
			      struct pt_regs *regs)
{
	struct pyl_event *ev = pe->overflow_handler_context;
	const u8 *rec;
	u32 rec_size;

	rec = pyl_perf_raw(data, &rec_size);
	if (rec)
		pyl_event_record_raw(ev, rec, rec_size);
}

/*
 * perf refused to hook the event on a CPU: said once per event.  -EPERM is
 * the kernel forbidding sampling of that tracepoint (TRACE_EVENT_PERF_PERM,
 * e.g. x86 irq_work_exit: sampling it would raise irq_work, then loop).
 * The event stays armed on the other CPUs.
 */
static void pyl_event_refused(struct pyl_cpu_perf *cp, unsigned int cpu, long err)
{
	struct pyl_event *ev = cp->priv;

	if (ev->refused)
		return;
	ev->refused = true;
	if (err == -EPERM)
		pr_notice("pylttng: %s is not recorded: the kernel forbids sampling this tracepoint\n",
			  ev->name);
	else
		pr_notice("pylttng: %s is not recorded on cpu %u: perf error %ld\n",
			  ev->name, cpu, err);
}

/*
 * Hook a tracepoint: with its direct probe if it has one
 * (pylttng-sched-probes.c), else with one perf event per online CPU; a
 * CPU coming online while it is armed gets its own (pylttng-cpu-perf.c).
 */
static void pyl_tracepoint_arm(struct pyl_event *ev)
{
	struct pyl_cpu_perf *cp;
	int id;

	if (pyl_sched_probe_arm(ev) != -ENOENT)
		return;
	id = ev->ftrace_id ?: pyl_ftrace_event_id(ev->name);
	if (id < 0)
		return;		/* its module is gone: rebound when it returns */
	cp = kzalloc(sizeof(*cp), GFP_KERNEL);
	if (!cp)
		return;
	cp->attr.type = PERF_TYPE_TRACEPOINT;
	cp->attr.size = sizeof(cp->attr);
	cp->attr.config = id;
	cp->attr.sample_period = 1;
	cp->attr.sample_type = PERF_SAMPLE_RAW | PERF_SAMPLE_PERIOD;
	cp->overflow = pyl_perf_overflow;
	cp->priv = ev;
	cp->refused = pyl_event_refused;
	WRITE_ONCE(ev->armed, true);
	if (pyl_cpu_perf_start(cp)) {
		WRITE_ONCE(ev->armed, false);
		kfree(cp);
		return;
	}
	ev->tp = cp;
}

static void pyl_event_arm(struct pyl_event *ev)
{
	if (pyl_statedump_is_event(ev->name)) {
		/* Written by pyl_statedump_run(), no probe: armed is all. */
		WRITE_ONCE(ev->armed, true);
		return;
	}
	switch (ev->kind) {
	case PYL_EV_TRACEPOINT:
		return pyl_tracepoint_arm(ev);
	case PYL_EV_SYSCALL_ENTRY:
	case PYL_EV_SYSCALL_EXIT:
		return pyl_syscall_arm(ev);
	case PYL_EV_UPROBE:
		return pyl_uprobe_arm(ev);
	default:
		return pyl_kprobe_arm(ev);
	}
}

/* The caller must wait for an RCU grace period before freeing anything. */
static void pyl_event_disarm(struct pyl_event *ev)
{
	switch (ev->kind) {
	case PYL_EV_TRACEPOINT:
		if (ev->direct)
			return pyl_sched_probe_disarm(ev);
		break;
	case PYL_EV_SYSCALL_ENTRY:
	case PYL_EV_SYSCALL_EXIT:
		return pyl_syscall_disarm(ev);
	case PYL_EV_UPROBE:
		return pyl_uprobe_disarm(ev);
	default:
		return pyl_kprobe_disarm(ev);
	}
	WRITE_ONCE(ev->armed, false);
	if (ev->tp) {
		/*
		 * Released in the background (pylttng-cpu-perf.c); until then
		 * a module's tracepoint pins its module, and destroying the
		 * session waits for the release.
		 */
		pyl_cpu_perf_stop_later(ev->tp);
		kfree(ev->tp);
		ev->tp = NULL;
	}
}

/*
 * Bring the session in line with its state: instantiate matching events,
 * describe new ones in the metadata, arm and disarm probes.  On return no
 * probe of a disarmed event runs any more.  Caller holds pyl_mutex.
 */
void pyl_session_sync(struct pyl_session *session)
{
	struct pyl_channel *chan;
	struct pyl_event *ev;
	bool disarmed = false;

	if (session->active) {
		pyl_session_instantiate(session);
		pyl_metadata_dump(session);
	}
	list_for_each_entry(chan, &session->chans, node) {
		list_for_each_entry(ev, &chan->events, node) {
			bool want = pyl_event_wanted(ev);

			if (want && !ev->armed) {
				pyl_event_arm(ev);
			} else if (!want && ev->armed) {
				pyl_event_disarm(ev);
				disarmed = true;
			}
		}
	}
	if (disarmed)
		synchronize_rcu();	/* probes run with preemption off */
}

/* Channel teardown: every event is disarmed already. */
void pyl_channel_free_events(struct pyl_channel *chan)
{
	struct pyl_enabler *en, *en_next;
	struct pyl_event *ev, *ev_next;

	list_for_each_entry_safe(ev, ev_next, &chan->events, node) {
		WARN_ON_ONCE(ev->armed);
		list_del(&ev->node);
		hash_del(&ev->name_node);
		pyl_event_free(ev);
	}
	pyl_syscalls_chan_free(chan);
	list_for_each_entry_safe(en, en_next, &chan->enablers, node) {
		list_del(&en->node);
		pyl_uprobe_enabler_free(en);
		kfree(en);
	}
}

/* ------------------------------------------------------------ event fd */

static int pyl_enabler_set(struct pyl_enabler *en, bool enabled)
{
	mutex_lock(&pyl_mutex);
	en->enabled = enabled;
	pyl_session_sync(en->chan->session);
	mutex_unlock(&pyl_mutex);
	return 0;
}

static long pyl_enabler_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct pyl_enabler *en = file->private_data;

	switch (cmd) {
	case PYL_ABI_ENABLE:
		return pyl_enabler_set(en, true);
	case PYL_ABI_DISABLE:
		return pyl_enabler_set(en, false);
	case PYL_ABI_ADD_CALLSITE:
		return pyl_uprobe_add_callsite(en, (void __user *)arg);
	case PYL_ABI_CONTEXT:
	case PYL_ABI_FILTER:
		return -ENOSYS;
	default:
		return -ENOIOCTLCMD;
	}
}

static int pyl_enabler_release(struct inode *inode, struct file *file)
{
	struct pyl_enabler *en = file->private_data;

	/* The enabler stays in its channel; drop the channel file. */
	fput(en->chan->file);
	return 0;
}

static const struct file_operations pyl_enabler_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = pyl_enabler_ioctl,
	.compat_ioctl = pyl_enabler_ioctl,
	.release = pyl_enabler_release,
	.llseek = noop_llseek,
};

static int pyl_check_name(char *name, u32 instrumentation, bool *glob)
{
	size_t len = strnlen(name, PYL_SYM_NAME_LEN);

	if (!len && instrumentation == PYL_ABI_SYSCALL) {
		strscpy(name, "*", PYL_SYM_NAME_LEN);	/* "": every syscall */
		len = 1;
	}
	if (!len || len == PYL_SYM_NAME_LEN)
		return -EINVAL;
	*glob = strchr(name, '*');	/* '*' anywhere: pyl_glob_match() */
	return 0;
}

/* Validate the EVENT ioctl's parameters into en. */
static int pyl_enabler_init(struct pyl_enabler *en,
			    const struct pyl_abi_event *param)
{
	int ret;

	memcpy(en->name, param->name, sizeof(en->name));
	en->instrumentation = param->instrumentation;
	switch (en->instrumentation) {
	case PYL_ABI_TRACEPOINT:
		break;
	case PYL_ABI_SYSCALL:
		if (param->u.syscall.entryexit > PYL_ABI_SYSCALL_EXIT ||
		    param->u.syscall.abi > PYL_ABI_SYSCALL_ABI_COMPAT ||
		    param->u.syscall.match != 0)
			return -EINVAL;
		en->sc_entryexit = param->u.syscall.entryexit;
		en->sc_abi = param->u.syscall.abi;
		break;
	case PYL_ABI_KPROBE:
	case PYL_ABI_KRETPROBE:
		/* kprobe and kretprobe share the layout of their prefix */
		memcpy(&en->kprobe, &param->u.kprobe, sizeof(en->kprobe));
		break;
	case PYL_ABI_UPROBE:
		break;
	default:
		return -EINVAL;
	}
	ret = pyl_check_name(en->name, en->instrumentation, &en->glob);
	if (ret)
		return ret;
	if (en->instrumentation == PYL_ABI_KPROBE ||
	    en->instrumentation == PYL_ABI_KRETPROBE) {
		if (en->glob)
			return -EINVAL;
		return pyl_kprobe_enabler_init(en);
	}
	if (en->instrumentation == PYL_ABI_UPROBE)
		return pyl_uprobe_enabler_init(en, param->u.uprobe.fd);
	return 0;
}

int pyl_enabler_create(struct file *chan_file, struct pyl_channel *chan,
		       const struct pyl_abi_event *param)
{
	struct pyl_enabler *en;
	struct file *file;
	int fd, ret;

	en = kzalloc(sizeof(*en), GFP_KERNEL);
	if (!en)
		return -ENOMEM;
	ret = pyl_enabler_init(en, param);
	if (ret) {
		kfree(en);
		return ret;
	}
	en->chan = chan;

	fd = pyl_anon_fd("[lttng_event]", &pyl_enabler_fops, en, &file);
	if (fd < 0) {
		pyl_uprobe_enabler_free(en);
		kfree(en);
		return fd;
	}
	get_file(chan_file);
	mutex_lock(&pyl_mutex);
	list_add_tail(&en->node, &chan->enablers);
	if (en->instrumentation == PYL_ABI_KPROBE ||
	    en->instrumentation == PYL_ABI_KRETPROBE)
		pyl_kprobes_instantiate(en);
	else if (en->instrumentation == PYL_ABI_UPROBE)
		pyl_uprobes_instantiate(en);
	pyl_session_sync(chan->session);
	mutex_unlock(&pyl_mutex);
	fd_install(fd, file);
	return fd;
}

/* ------------------------------------------------------ module notifier */

static int pyl_module_notify(struct notifier_block *nb, unsigned long state,
			     void *data)
{
	struct pyl_session *session;

	if (state != MODULE_STATE_LIVE)
		return NOTIFY_DONE;
	mutex_lock(&pyl_mutex);
	list_for_each_entry(session, &pyl_sessions, node)
		pyl_session_sync(session);
	mutex_unlock(&pyl_mutex);
	return NOTIFY_OK;
}

static struct notifier_block pyl_module_nb = {
	.notifier_call = pyl_module_notify,
};

int pyl_events_init(void)
{
	int ret = pyl_ftrace_init();

	if (ret)
		return ret;
	ret = pyl_syscalls_init();
	if (ret)
		return ret;
	ret = register_module_notifier(&pyl_module_nb);
	if (ret)
		pyl_syscalls_exit();
	return ret;
}

void pyl_events_exit(void)
{
	unregister_module_notifier(&pyl_module_nb);
	pyl_syscalls_exit();
}
