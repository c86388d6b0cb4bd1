// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-session.c - the session fd: channels, start/stop, naming,
 * trackers (pylttng-tracker.c).
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/uuid.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "pylttng.h"
#include "pylttng-cpu-perf.h"

static void pyl_session_release_ref(struct kref *ref)
{
	struct pyl_session *session = container_of(ref, struct pyl_session, ref);

	pyl_metadata_cache_put(session->meta);
	pyl_trackers_free(session);
	kfree(session);
}

void pyl_session_put(struct pyl_session *session)
{
	kref_put(&session->ref, pyl_session_release_ref);
}

static int pyl_session_start(struct pyl_session *session)
{
	struct pyl_channel *chan;
	int ret = 0;

	mutex_lock(&pyl_mutex);
	if (session->active) {
		ret = -EBUSY;
		goto out;
	}
	pyl_session_instantiate(session);
	/* The event header flavour is fixed by the events known at first start. */
	list_for_each_entry(chan, &session->chans, node) {
		if (chan->header_type)
			continue;
		chan->header_type = chan->next_event_id < 31 ?
			PYL_HEADER_COMPACT : PYL_HEADER_LARGE;
	}
	if (!session->been_active)
		session->clock_offset = ktime_get_real_ns() - ktime_get_mono_fast_ns();
	WRITE_ONCE(session->active, true);
	session->been_active = true;
	pyl_session_sync(session);
	pyl_statedump_run(session);	/* as LTTng-modules, at each start */
out:
	mutex_unlock(&pyl_mutex);
	return ret;
}

static int pyl_session_stop(struct pyl_session *session)
{
	struct pyl_channel *chan;
	int ret = 0;

	mutex_lock(&pyl_mutex);
	if (!session->active) {
		ret = -EBUSY;
		goto out;
	}
	WRITE_ONCE(session->active, false);
	pyl_session_sync(session);
	/* Quiescent: close every open packet so the consumer can read it. */
	list_for_each_entry(chan, &session->chans, node)
		if (!chan->is_metadata)
			pyl_channel_flush(chan);
out:
	mutex_unlock(&pyl_mutex);
	return ret;
}

/* lttng regenerate statedump: only an active session records it. */
static int pyl_session_statedump(struct pyl_session *session)
{
	int ret = 0;

	mutex_lock(&pyl_mutex);
	if (session->active)
		ret = pyl_statedump_run(session);
	mutex_unlock(&pyl_mutex);
	return ret;
}

static int pyl_session_set_name(struct pyl_session *session, void __user *uarg)
{
	struct pyl_abi_session_name p;

	if (copy_from_user(&p, uarg, sizeof(p)))
		return -EFAULT;
	if (strnlen(p.name, sizeof(p.name)) == sizeof(p.name))
		return -EINVAL;
	mutex_lock(&pyl_mutex);
	strscpy(session->name, p.name, sizeof(session->name));
	mutex_unlock(&pyl_mutex);
	return 0;
}

static int pyl_session_set_creation_time(struct pyl_session *session,
					 void __user *uarg)
{
	struct pyl_abi_session_creation_time p;

	if (copy_from_user(&p, uarg, sizeof(p)))
		return -EFAULT;
	if (strnlen(p.iso8601, sizeof(p.iso8601)) == sizeof(p.iso8601))
		return -EINVAL;
	mutex_lock(&pyl_mutex);
	strscpy(session->creation_time, p.iso8601, sizeof(session->creation_time));
	mutex_unlock(&pyl_mutex);
	return 0;
}

static int pyl_session_regenerate_metadata(struct pyl_session *session)
{
	int ret;

	mutex_lock(&pyl_mutex);
	ret = pyl_metadata_regenerate(session);
	mutex_unlock(&pyl_mutex);
	return ret;
}

static long pyl_session_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct pyl_session *session = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct pyl_abi_channel param;

	switch (cmd) {
	case PYL_ABI_CHANNEL:
	case PYL_ABI_METADATA:
		if (copy_from_user(&param, uarg, sizeof(param)))
			return -EFAULT;
		return pyl_channel_create(file, session, &param,
					  cmd == PYL_ABI_METADATA);
	case PYL_ABI_SESSION_START:
	case PYL_ABI_ENABLE:
		return pyl_session_start(session);
	case PYL_ABI_SESSION_STOP:
	case PYL_ABI_DISABLE:
		return pyl_session_stop(session);
	case PYL_ABI_SESSION_SET_NAME:
		return pyl_session_set_name(session, uarg);
	case PYL_ABI_SESSION_SET_CREATION_TIME:
		return pyl_session_set_creation_time(session, uarg);
	case PYL_ABI_SESSION_STATEDUMP:
		return pyl_session_statedump(session);
	case PYL_ABI_SESSION_METADATA_REGEN:
		return pyl_session_regenerate_metadata(session);
	case PYL_ABI_SESSION_TRACK_PID:
	case PYL_ABI_SESSION_UNTRACK_PID:
	case PYL_ABI_SESSION_LIST_TRACKER_PIDS:
	case PYL_ABI_SESSION_TRACK_ID:
	case PYL_ABI_SESSION_UNTRACK_ID:
	case PYL_ABI_SESSION_LIST_TRACKER_IDS:
		return pyl_tracker_ioctl(session, cmd, arg);
	default:
		return -ENOIOCTLCMD;
	}
}

/*
 * Last reference to the session file: every channel and event fd is
 * closed.  Stop, unhook every probe, finalize the buffers so that readers
 * drain them and then see -ENODATA.  Returns once no tracepoint is hooked
 * any more, including those whose release a `stop` left to the background.
 */
static int pyl_session_release(struct inode *inode, struct file *file)
{
	struct pyl_session *session = file->private_data;
	struct pyl_channel *chan, *next;

	mutex_lock(&pyl_mutex);
	WRITE_ONCE(session->active, false);
	session->destroyed = true;
	pyl_session_sync(session);
	list_for_each_entry(chan, &session->chans, node)
		pyl_channel_finalize(chan);
	list_del(&session->node);
	mutex_unlock(&pyl_mutex);

	list_for_each_entry_safe(chan, next, &session->chans, node) {
		list_del(&chan->node);
		pyl_channel_put(chan);
	}
	pyl_session_put(session);
	pyl_cpu_perf_wait_releases();
	return 0;
}

static const struct file_operations pyl_session_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = pyl_session_ioctl,
	.compat_ioctl = pyl_session_ioctl,
	.release = pyl_session_release,
	.llseek = noop_llseek,
};

int pyl_session_create(void)
{
	struct pyl_session *session;
	struct file *file;
	int fd;

	session = kzalloc(sizeof(*session), GFP_KERNEL);
	if (!session)
		return -ENOMEM;
	kref_init(&session->ref);
	INIT_LIST_HEAD(&session->chans);
	generate_random_uuid(session->uuid);
	session->meta = pyl_metadata_cache_create(session->uuid);
	if (!session->meta) {
		kfree(session);
		return -ENOMEM;
	}
	fd = pyl_anon_fd("[lttng_session]", &pyl_session_fops, session, &file);
	if (fd < 0) {
		pyl_session_put(session);
		return fd;
	}
	mutex_lock(&pyl_mutex);
	list_add_tail(&session->node, &pyl_sessions);
	mutex_unlock(&pyl_mutex);
	fd_install(fd, file);
	return fd;
}
