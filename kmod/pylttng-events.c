// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-events.c - enablers, the events of a channel, and when to arm them.
 *
 * The EVENT ioctl creates an enabler: an exact name or a star glob, of one
 * instrumentation, owned by the event source serving it (pylttng-source.h).
 * Sources make the events: a kprobe or uprobe enabler its own at once;
 * tracepoints, system calls and statedump events are instantiated while
 * the session is active, once per channel, for every enabler matching
 * them, including tracepoints of modules loaded later (module notifier).
 * An event joins its channel with the next id; its layout gives its TSDL
 * declaration (pylttng-metadata.c).
 *
 * An event is armed (its source hooks it) while its session is active, its
 * channel enabled and an enabled enabler selects it, and disarmed
 * otherwise.  This file knows the sources only through their ops; it also
 * gives their probes the common recording steps: reserve an event with the
 * channel's contexts, or serialize a raw ftrace record with a layout.  The
 * reservation is where every source's event meets the session's trackers
 * (pylttng-tracker.c): a task they do not take records nothing.
 */
#include <linux/anon_inodes.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringhash.h>
#include <linux/uaccess.h>

#include "pylttng.h"
#include "pylttng-layout.h"
#include "pylttng-source.h"

/*
 * Every source, in instantiation order: that order fixes the ids of events
 * a session start makes (tracepoints, system calls, then statedump events).
 */
static const struct pyl_event_source_ops *const pyl_sources[] = {
	&pyl_tracepoint_source,
	&pyl_syscall_source,
	&pyl_statedump_source,
	&pyl_kprobe_source,
	&pyl_uprobe_source,
};

/* ------------------------------------------------------------ matching */

/*
 * LTTng star-glob: '*' matches any run of characters, anywhere in the
 * pattern; a backslash makes the next character literal (\*).  Greedy
 * with backtracking to the last star: linear in practice.
 */
static bool pyl_glob_match(const char *pat, const char *name)
{
	const char *star = NULL, *resume = NULL;

	while (*name) {
		if (*pat == '*') {
			star = ++pat;
			resume = name;
			continue;
		}
		if (*pat == '\\' && pat[1])
			pat++;
		if (*pat && *pat == *name) {
			pat++;
			name++;
			continue;
		}
		if (!star)
			return false;
		pat = star;
		name = ++resume;
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

bool pyl_enabler_matches(const struct pyl_enabler *en, const char *name)
{
	if (en->glob)
		return pyl_glob_match(en->name, name);
	return !strcmp(en->name, name);
}

bool pyl_channel_wants(const struct pyl_channel *chan, u32 instrumentation,
		       const char *name)
{
	const struct pyl_enabler *en;

	list_for_each_entry(en, &chan->enablers, node)
		if (en->instrumentation == instrumentation &&
		    pyl_enabler_matches(en, name))
			return true;
	return false;
}

/* -------------------------------------------------------------- events */

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

struct pyl_event *pyl_event_add(struct pyl_channel *chan,
				const struct pyl_event_source_ops *src,
				char *name, struct pyl_layout *layout, void *priv)
{
	struct pyl_event *ev = NULL;

	if (name && layout)
		ev = kzalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev) {
		pyl_layout_free(layout);
		kfree(name);
		return NULL;
	}
	ev->chan = chan;
	ev->name = name;
	ev->layout = layout;
	ev->src = src;
	ev->priv = priv;
	ev->id = chan->next_event_id++;
	list_add_tail(&ev->node, &chan->events);
	hash_add(chan->event_names, &ev->name_node, pyl_name_hash(ev->name));
	return ev;
}

static void pyl_event_free(struct pyl_event *ev)
{
	if (ev->src->free)
		ev->src->free(ev);
	pyl_layout_free(ev->layout);
	kfree(ev->name);
	kfree(ev);
}

void pyl_session_instantiate(struct pyl_session *session)
{
	struct pyl_channel *chan;
	unsigned int i;

	list_for_each_entry(chan, &session->chans, node) {
		if (chan->is_metadata || list_empty(&chan->enablers))
			continue;
		for (i = 0; i < ARRAY_SIZE(pyl_sources); i++)
			if (pyl_sources[i]->instantiate)
				pyl_sources[i]->instantiate(chan);
	}
}

static bool pyl_event_wanted(const struct pyl_event *ev)
{
	const struct pyl_channel *chan = ev->chan;
	const struct pyl_enabler *en;

	if (!chan->session->active || !chan->enabled || chan->finalized)
		return false;
	list_for_each_entry(en, &chan->enablers, node)
		if (en->enabled && ev->src->matches(en, ev))
			return true;
	return false;
}

/* ----------------------------------------------------------- recording */

/* The session's trackers take the current task; preemption is off. */
static bool pyl_session_traces_current(const struct pyl_session *session)
{
	const struct pyl_trackers *t = rcu_dereference_sched(session->trackers);

	return likely(!t) || pyl_trackers_match(t);
}

/*
 * Reserve an event of ev with payload_len bytes on this CPU's buffer, the
 * channel's context fields already written before the payload; returns
 * where the payload goes, or NULL (dropped, or not for this session).
 * Every source records through here; preemption is off.
 */
u8 *pyl_event_reserve(struct pyl_event *ev, size_t payload_len,
		      struct pyl_rb_ctx *rctx)
{
	struct pyl_channel *chan = ev->chan;
	int cpu = smp_processor_id();
	size_t ctx_len = 0;
	u8 *scratch = NULL, *dst;

	/* A direct probe also fires on a CPU whose buffer is not there yet. */
	if (cpu >= chan->nr_rbs || !chan->rbs[cpu])
		return NULL;
	if (!pyl_session_traces_current(chan->session))
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
	struct pyl_layout_env env;
	struct pyl_rb_ctx ctx;
	size_t len;
	u8 *dst;

	if (!READ_ONCE(ev->armed))
		return;
	len = pyl_layout_size(ev->layout, rec, rec_size, &env);
	dst = pyl_event_reserve(ev, len, &ctx);
	if (!dst)
		return;
	pyl_layout_write(ev->layout, rec, rec_size, &env, dst);
	pyl_rb_commit(&ctx);
}

/* -------------------------------------------------------- arm, disarm */

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
				ev->src->arm(ev);
			} else if (!want && ev->armed) {
				ev->src->disarm(ev);
				disarmed = true;
			}
		}
	}
	if (disarmed)
		synchronize_rcu();	/* probes run with preemption off */
}

static void pyl_enabler_free(struct pyl_enabler *en)
{
	if (en->src->enabler_free)
		en->src->enabler_free(en);
	kfree(en);
}

/* Channel teardown: every event is disarmed already. */
void pyl_channel_free_events(struct pyl_channel *chan)
{
	struct pyl_enabler *en, *en_next;
	struct pyl_event *ev, *ev_next;
	unsigned int i;

	list_for_each_entry_safe(ev, ev_next, &chan->events, node) {
		WARN_ON_ONCE(ev->armed);
		list_del(&ev->node);
		hash_del(&ev->name_node);
		pyl_event_free(ev);
	}
	for (i = 0; i < ARRAY_SIZE(pyl_sources); i++)
		if (pyl_sources[i]->chan_free)
			pyl_sources[i]->chan_free(chan);
	list_for_each_entry_safe(en, en_next, &chan->enablers, node) {
		list_del(&en->node);
		pyl_enabler_free(en);
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
		if (!en->src->add_callsite)
			return -EINVAL;
		return en->src->add_callsite(en, (void __user *)arg);
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

/* The source owning enablers of this instrumentation, or NULL. */
static const struct pyl_event_source_ops *pyl_source_of(u32 instrumentation)
{
	unsigned int i;

	if (instrumentation >= 32)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(pyl_sources); i++)
		if (pyl_sources[i]->enablers & BIT(instrumentation))
			return pyl_sources[i];
	return NULL;
}

/* Validate the EVENT ioctl's parameters into en: the name, then the source's. */
static int pyl_enabler_init(struct pyl_enabler *en,
			    const struct pyl_abi_event *param)
{
	const struct pyl_event_source_ops *src;
	size_t len;

	memcpy(en->name, param->name, sizeof(en->name));
	en->instrumentation = param->instrumentation;
	src = pyl_source_of(en->instrumentation);
	if (!src)
		return -EINVAL;
	en->src = src;
	len = strnlen(en->name, PYL_SYM_NAME_LEN);
	if (!len && src->empty_name)
		len = strscpy(en->name, src->empty_name, PYL_SYM_NAME_LEN);
	if (!len || len >= PYL_SYM_NAME_LEN)
		return -EINVAL;
	en->glob = strchr(en->name, '*');	/* '*' anywhere: pyl_glob_match() */
	return src->enabler_init ? src->enabler_init(en, param) : 0;
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
		pyl_enabler_free(en);
		return fd;
	}
	get_file(chan_file);
	mutex_lock(&pyl_mutex);
	list_add_tail(&en->node, &chan->enablers);
	if (en->src->enabler_add)
		en->src->enabler_add(en);
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

static void pyl_sources_exit(unsigned int nr)
{
	while (nr--)
		if (pyl_sources[nr]->exit)
			pyl_sources[nr]->exit();
}

int pyl_events_init(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(pyl_sources); i++) {
		ret = pyl_sources[i]->init ? pyl_sources[i]->init() : 0;
		if (ret) {
			pyl_sources_exit(i);
			return ret;
		}
	}
	ret = register_module_notifier(&pyl_module_nb);
	if (ret)
		pyl_sources_exit(ARRAY_SIZE(pyl_sources));
	return ret;
}

void pyl_events_exit(void)
{
	unregister_module_notifier(&pyl_module_nb);
	pyl_sources_exit(ARRAY_SIZE(pyl_sources));
}
