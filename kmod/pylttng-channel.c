// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-channel.c - channel and metadata channel fds.
 *
 * A data channel owns one ring buffer per possible CPU and a read timer
 * that wakes readers whose buffer has a complete sub-buffer (probes never
 * wake anyone).  With a switch timer, a delayed work closes every non-empty
 * packet periodically so that readers get data without waiting for a full
 * sub-buffer; it runs in process context because a flush sends IPIs.
 * When a CPU has gone down, a CPU hotplug multi-instance state (one
 * instance per data channel, as lttng-modules' CPU_DEAD handling) closes
 * the packet of its buffer so that its last events reach the consumer
 * before the CPU comes back or the session ends.  The metadata channel
 * owns a single buffer that is filled from the session's TSDL text on the
 * reader's demand.
 */
#include <linux/kernel.h>
#include <linux/poll.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/jiffies.h>
#include <linux/uaccess.h>

#include "pylttng.h"
#include "pylttng-compat.h"

static enum cpuhp_state pyl_channel_hp_state;

/* Runs on a surviving CPU once cpu is dead, under the hotplug lock. */
static int pyl_channel_cpu_dead(unsigned int cpu, struct hlist_node *node)
{
	struct pyl_channel *chan = hlist_entry(node, struct pyl_channel, cpuhp);

	if (cpu < chan->nr_rbs && chan->rbs[cpu])
		pyl_rb_flush_dead(chan->rbs[cpu]);
	return 0;
}

static void pyl_channel_hp_remove(struct pyl_channel *chan)
{
	if (!chan->cpuhp_added)
		return;
	/* No dead-CPU flush runs once this returns. */
	cpuhp_state_remove_instance_nocalls(pyl_channel_hp_state, &chan->cpuhp);
	chan->cpuhp_added = false;
}

int pyl_channel_hp_init(void)
{
	int ret = cpuhp_setup_state_multi(CPUHP_BP_PREPARE_DYN, "pylttng/channel:dead",
					  NULL, pyl_channel_cpu_dead);

	if (ret < 0)
		return ret;
	pyl_channel_hp_state = ret;
	return 0;
}

void pyl_channel_hp_exit(void)
{
	cpuhp_remove_multi_state(pyl_channel_hp_state);
}

static void pyl_read_timer_fn(struct timer_list *t)
{
	struct pyl_channel *chan = from_timer(chan, t, read_timer);
	unsigned int i;

	for (i = 0; i < chan->nr_rbs; i++) {
		struct pyl_rb *rb = chan->rbs[i];

		if (rb && pyl_rb_readable(rb))
			pyl_rb_wake_reader(rb);
	}
	if (!READ_ONCE(chan->finalized))
		mod_timer(&chan->read_timer,
			  jiffies + usecs_to_jiffies(chan->read_timer_us));
}

static void pyl_switch_work_fn(struct work_struct *work)
{
	struct pyl_channel *chan = container_of(to_delayed_work(work),
						struct pyl_channel, switch_work);

	if (READ_ONCE(chan->finalized))
		return;
	pyl_channel_flush(chan);
	queue_delayed_work(system_wq, &chan->switch_work,
			   usecs_to_jiffies(chan->switch_timer_us));
}

static void pyl_channel_release_ref(struct kref *ref)
{
	struct pyl_channel *chan = container_of(ref, struct pyl_channel, ref);
	unsigned int i;

	pyl_channel_hp_remove(chan);
	pyl_channel_free_events(chan);
	pyl_ctx_free(&chan->ctx);
	for (i = 0; i < chan->nr_rbs; i++)
		pyl_rb_destroy(chan->rbs[i]);
	kfree(chan->rbs);
	pyl_session_put(chan->session);
	kfree(chan);
}

void pyl_channel_put(struct pyl_channel *chan)
{
	kref_put(&chan->ref, pyl_channel_release_ref);
}

/* No probe may write any more.  Caller holds pyl_mutex. */
void pyl_channel_finalize(struct pyl_channel *chan)
{
	unsigned int i;

	if (chan->finalized)
		return;
	WRITE_ONCE(chan->finalized, true);
	if (!chan->is_metadata) {
		pyl_timer_delete_sync(&chan->read_timer);
		cancel_delayed_work_sync(&chan->switch_work);
		pyl_channel_hp_remove(chan);	/* before switching from here */
	}
	for (i = 0; i < chan->nr_rbs; i++)
		if (chan->rbs[i])
			pyl_rb_finalize(chan->rbs[i]);
	if (chan->is_metadata)
		wake_up_interruptible(&chan->session->meta->wait);
	wake_up_interruptible(&chan->hp_wait);
}

void pyl_channel_flush(struct pyl_channel *chan)
{
	unsigned int i;

	for (i = 0; i < chan->nr_rbs; i++) {
		if (!chan->rbs[i])
			continue;
		pyl_rb_flush(chan->rbs[i], false);
		pyl_rb_wake_reader(chan->rbs[i]);
	}
}

static int pyl_channel_set_enabled(struct pyl_channel *chan, bool enabled)
{
	int ret = 0;

	mutex_lock(&pyl_mutex);
	if (chan->enabled == enabled) {
		ret = -EEXIST;
	} else {
		chan->enabled = enabled;
		pyl_session_sync(chan->session);
	}
	mutex_unlock(&pyl_mutex);
	return ret;
}

/* Sum of the per-stream reader statistics, for `lttng list`. */
static int pyl_channel_stats(struct pyl_channel *chan, unsigned long arg)
{
	struct pyl_abi_channel_stats stats = {};
	unsigned int i;

	for (i = 0; i < chan->nr_rbs; i++) {
		struct pyl_rb_stats rb_stats;

		if (!chan->rbs[i])
			continue;
		pyl_rb_read_stats(chan->rbs[i], &rb_stats);
		stats.discarded_events += rb_stats.events_discarded;
		stats.lost_packets += rb_stats.lost_packets;
	}
	if (copy_to_user((void __user *)arg, &stats, sizeof(stats)))
		return -EFAULT;
	return 0;
}

static long pyl_channel_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct pyl_channel *chan = file->private_data;
	struct pyl_abi_context ctx_param;
	struct pyl_abi_event param;

	switch (cmd) {
	case PYL_ABI_STREAM:
		return pyl_stream_open(chan);
	case PYL_ABI_EVENT:
		if (copy_from_user(&param, (void __user *)arg, sizeof(param)))
			return -EFAULT;
		return pyl_enabler_create(file, chan, &param);
	case PYL_ABI_CONTEXT:
		if (copy_from_user(&ctx_param, (void __user *)arg, sizeof(ctx_param)))
			return -EFAULT;
		return pyl_ctx_add(chan, &ctx_param);
	case PYL_ABI_ENABLE:
		return pyl_channel_set_enabled(chan, true);
	case PYL_ABI_DISABLE:
		return pyl_channel_set_enabled(chan, false);
	case PYL_ABI_CHANNEL_STATS:
		return pyl_channel_stats(chan, arg);
	default:
		return -ENOIOCTLCMD;
	}
}

static long pyl_metadata_channel_ioctl(struct file *file, unsigned int cmd,
				       unsigned long arg)
{
	struct pyl_channel *chan = file->private_data;

	switch (cmd) {
	case PYL_ABI_STREAM:
		return pyl_stream_open(chan);
	default:
		return -ENOIOCTLCMD;
	}
}

/*
 * lttng-sessiond polls channel fds: readable when a stream appeared that
 * nobody reads yet (a CPU came online), hung up once finalized.
 */
static __poll_t pyl_channel_poll(struct file *file, poll_table *wait)
{
	struct pyl_channel *chan = file->private_data;

	poll_wait(file, &chan->hp_wait, wait);
	if (READ_ONCE(chan->finalized))
		return EPOLLHUP;
	return 0;
}

static int pyl_channel_release(struct inode *inode, struct file *file)
{
	struct pyl_channel *chan = file->private_data;
	struct file *session_file = chan->session_file;

	if (chan->is_metadata) {
		/* As LTTng: closing the metadata channel ends its stream. */
		mutex_lock(&pyl_mutex);
		pyl_channel_finalize(chan);
		mutex_unlock(&pyl_mutex);
	}
	pyl_channel_put(chan);
	fput(session_file);
	return 0;
}

static const struct file_operations pyl_channel_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = pyl_channel_ioctl,
	.compat_ioctl = pyl_channel_ioctl,
	.poll = pyl_channel_poll,
	.release = pyl_channel_release,
	.llseek = noop_llseek,
};

static const struct file_operations pyl_metadata_channel_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = pyl_metadata_channel_ioctl,
	.compat_ioctl = pyl_metadata_channel_ioctl,
	.poll = pyl_channel_poll,
	.release = pyl_channel_release,
	.llseek = noop_llseek,
};

/*
 * As LTTng-modules: one sub-buffer is enough in discard mode (writers drop
 * events while the reader has it), overwrite mode needs two.  Metadata is
 * never overwritten.
 */
static int pyl_channel_check(const struct pyl_abi_channel *p, bool metadata)
{
	unsigned long min_subbuf = !metadata && p->overwrite ? 2 : 1;

	if (p->output != PYL_ABI_SPLICE && p->output != PYL_ABI_MMAP)
		return -EINVAL;
	if (p->overwrite != 0 && p->overwrite != 1)
		return -EINVAL;
	if (!p->subbuf_size || !is_power_of_2(p->subbuf_size) ||
	    p->subbuf_size > PYL_MAX_SUBBUF_SIZE)
		return -EINVAL;
	if (p->num_subbuf < min_subbuf || !is_power_of_2(p->num_subbuf) ||
	    p->num_subbuf > PYL_MAX_NUM_SUBBUF)
		return -EINVAL;
	if (max_t(u64, p->subbuf_size, PAGE_SIZE) * p->num_subbuf > PYL_MAX_BUF_SIZE)
		return -EINVAL;
	return 0;
}

static int pyl_channel_alloc_buffers(struct pyl_channel *chan)
{
	unsigned int i;

	chan->nr_rbs = chan->is_metadata ? 1 : nr_cpu_ids;
	chan->rbs = kcalloc(chan->nr_rbs, sizeof(*chan->rbs), GFP_KERNEL);
	if (!chan->rbs)
		return -ENOMEM;
	for (i = 0; i < chan->nr_rbs; i++) {
		if (!chan->is_metadata && !cpu_possible(i))
			continue;
		chan->rbs[i] = pyl_rb_create(chan->subbuf_size, chan->num_subbuf,
					     chan->overwrite, i, chan->id,
					     chan->session->uuid);
		if (!chan->rbs[i])
			return -ENOMEM;
	}
	return 0;
}

int pyl_channel_create(struct file *session_file, struct pyl_session *session,
		       const struct pyl_abi_channel *param, bool metadata)
{
	struct pyl_channel *chan;
	struct file *file;
	int ret, fd;

	ret = pyl_channel_check(param, metadata);
	if (ret)
		return ret;
	chan = kzalloc(sizeof(*chan), GFP_KERNEL);
	if (!chan)
		return -ENOMEM;
	kref_init(&chan->ref);		/* the session's list */
	INIT_LIST_HEAD(&chan->enablers);
	INIT_LIST_HEAD(&chan->events);
	hash_init(chan->event_names);
	chan->is_metadata = metadata;
	chan->enabled = true;
	chan->subbuf_size = max_t(unsigned long, param->subbuf_size, PAGE_SIZE);
	chan->num_subbuf = param->num_subbuf;
	chan->switch_timer_us = param->switch_timer_interval;
	chan->read_timer_us = param->read_timer_interval ?: PYL_DEFAULT_READ_TIMER_US;
	chan->output = param->output;
	/* Metadata is produced on the reader's demand: nothing to overwrite. */
	chan->overwrite = !metadata && param->overwrite;
	timer_setup(&chan->read_timer, pyl_read_timer_fn, 0);
	INIT_DELAYED_WORK(&chan->switch_work, pyl_switch_work_fn);
	init_waitqueue_head(&chan->hp_wait);

	mutex_lock(&pyl_mutex);
	if (session->destroyed || (!metadata && session->been_active)) {
		ret = -EINVAL;		/* as LTTng: no channel once started */
		goto err_unlock;
	}
	chan->id = session->next_chan_id++;
	chan->session = session;
	kref_get(&session->ref);
	ret = pyl_channel_alloc_buffers(chan);
	if (ret)
		goto err_unlock;
	if (!metadata) {
		ret = cpuhp_state_add_instance_nocalls(pyl_channel_hp_state,
						       &chan->cpuhp);
		if (ret)
			goto err_unlock;
		chan->cpuhp_added = true;
	}
	fd = pyl_anon_fd("[lttng_channel]", metadata ?
			 &pyl_metadata_channel_fops : &pyl_channel_fops, chan, &file);
	if (fd < 0) {
		ret = fd;
		goto err_unlock;
	}
	kref_get(&chan->ref);		/* the channel file */
	chan->file = file;
	chan->session_file = get_file(session_file);
	list_add_tail(&chan->node, &session->chans);
	if (!metadata)
		mod_timer(&chan->read_timer,
			  jiffies + usecs_to_jiffies(chan->read_timer_us));
	if (!metadata && chan->switch_timer_us)
		queue_delayed_work(system_wq, &chan->switch_work,
				   usecs_to_jiffies(chan->switch_timer_us));
	mutex_unlock(&pyl_mutex);
	fd_install(fd, file);
	return fd;

err_unlock:
	mutex_unlock(&pyl_mutex);
	if (chan->session) {
		pyl_channel_put(chan);
	} else {
		kfree(chan);
	}
	return ret;
}
