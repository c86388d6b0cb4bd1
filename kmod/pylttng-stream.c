// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-stream.c - stream fds: the consumer's side of a ring buffer.
 *
 * A data stream fd reads one CPU buffer of a channel, a metadata stream
 * fd reads the session's metadata through the metadata channel's buffer.
 * Both speak the lttng-modules reader protocol: GET_NEXT_SUBBUF gives the
 * next complete packet (-EAGAIN: none yet; -ENODATA: finalized and
 * drained), the consumer copies it from the mmap at GET_MMAP_READ_OFFSET
 * (GET_PADDED_SUBBUF_SIZE bytes) or splices it, then PUT_NEXT_SUBBUF
 * releases and consumes it.  As in lttng-modules, PUT_SUBBUF releases
 * without consuming: lttng-consumerd's data-pending check takes the next
 * sub-buffer and puts it back, and must find it again afterwards.
 */
#include <linux/anon_inodes.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pylttng.h"

struct pyl_stream {
	struct pyl_channel *chan;
	struct pyl_rb *rb;
	struct pyl_metadata_reader meta;	/* metadata streams only */
};

static int pyl_put_ulong(unsigned long val, unsigned long arg)
{
	return put_user(val, (unsigned long __user *)arg);
}

static int pyl_put_u64(u64 val, unsigned long arg)
{
	return put_user(val, (u64 __user *)arg);
}

/* Packet-context accessors of the held data sub-buffer. */
static long pyl_stream_packet_ioctl(struct pyl_stream *stream, unsigned int cmd,
				    unsigned long arg)
{
	struct pyl_rb_packet_info info;
	int ret;

	switch (cmd) {
	case PYL_RB_GET_STREAM_ID:
		return pyl_put_u64(stream->chan->id, arg);
	case PYL_RB_INSTANCE_ID:
		return pyl_put_u64(pyl_rb_cpu(stream->rb), arg);
	case PYL_RB_GET_CURRENT_TIMESTAMP:
		return pyl_put_u64(pyl_clock_read(), arg);
	}
	ret = pyl_rb_held_packet_info(stream->rb, &info);
	if (ret)
		return ret;
	switch (cmd) {
	case PYL_RB_GET_TIMESTAMP_BEGIN:
		return pyl_put_u64(info.timestamp_begin, arg);
	case PYL_RB_GET_TIMESTAMP_END:
		return pyl_put_u64(info.timestamp_end, arg);
	case PYL_RB_GET_EVENTS_DISCARDED:
		return pyl_put_u64(info.events_discarded, arg);
	case PYL_RB_GET_CONTENT_SIZE:
		return pyl_put_u64(info.content_size, arg);
	case PYL_RB_GET_PACKET_SIZE:
		return pyl_put_u64(info.packet_size, arg);
	case PYL_RB_GET_SEQ_NUM:
		return pyl_put_u64(info.seq_num, arg);
	}
	return -ENOIOCTLCMD;
}

/* Commands shared by data and metadata streams; read lock held. */
static long pyl_stream_common_ioctl(struct pyl_stream *stream, unsigned int cmd,
				    unsigned long arg)
{
	struct pyl_rb *rb = stream->rb;

	switch (cmd) {
	case PYL_RB_PUT_SUBBUF:
		pyl_rb_release(rb);	/* released, not consumed */
		return 0;
	case PYL_RB_PUT_NEXT_SUBBUF:
		return pyl_rb_put(rb);
	case PYL_RB_GET_SUBBUF_SIZE:
		return pyl_put_ulong(pyl_rb_held_len(rb), arg);
	case PYL_RB_GET_PADDED_SUBBUF_SIZE:
		return pyl_put_ulong(PAGE_ALIGN(pyl_rb_held_len(rb)), arg);
	case PYL_RB_GET_MAX_SUBBUF_SIZE:
		return pyl_put_ulong(pyl_rb_subbuf_size(rb), arg);
	case PYL_RB_GET_MMAP_LEN:
		return pyl_put_ulong(pyl_rb_mmap_len(rb), arg);
	case PYL_RB_GET_MMAP_READ_OFFSET:
		return pyl_put_ulong(pyl_rb_read_offset(rb), arg);
	case PYL_RB_SNAPSHOT:
		return pyl_rb_snapshot(rb, false);
	case PYL_RB_SNAPSHOT_SAMPLE_POSITIONS:
		return pyl_rb_snapshot(rb, true);
	case PYL_RB_SNAPSHOT_GET_CONSUMED:
		return pyl_put_ulong(pyl_rb_snapshot_consumed(rb), arg);
	case PYL_RB_SNAPSHOT_GET_PRODUCED:
		return pyl_put_ulong(pyl_rb_snapshot_produced(rb), arg);
	default:
		return -ENOIOCTLCMD;
	}
}

static long pyl_data_stream_cmd(struct pyl_stream *stream, unsigned int cmd,
				unsigned long arg)
{
	struct pyl_rb *rb = stream->rb;
	unsigned long pos;

	switch (cmd) {
	case PYL_RB_GET_NEXT_SUBBUF:
		return pyl_rb_get_next(rb);
	case PYL_RB_GET_SUBBUF:
		if (get_user(pos, (unsigned long __user *)arg))
			return -EFAULT;
		return pyl_rb_get(rb, pos);
	case PYL_RB_FLUSH:
	case PYL_RB_FLUSH_EMPTY:
		pyl_rb_flush(rb, cmd == PYL_RB_FLUSH_EMPTY);
		/*
		 * The reader asked for this packet (a live timer, a stop): its
		 * poll sees it now rather than at the next read timer.
		 */
		if (pyl_rb_readable(rb))
			pyl_rb_wake_reader(rb);
		return 0;
	case PYL_RB_CLEAR:
		return pyl_rb_clear(rb);
	case PYL_RB_PUT_NEXT_SUBBUF:
		pyl_rb_count_packet(rb);
		return pyl_rb_put(rb);
	case PYL_RB_GET_TIMESTAMP_BEGIN ... PYL_RB_INSTANCE_ID:
		return pyl_stream_packet_ioctl(stream, cmd, arg);
	default:
		return pyl_stream_common_ioctl(stream, cmd, arg);
	}
}

static long pyl_meta_stream_cmd(struct pyl_stream *stream, unsigned int cmd,
				unsigned long arg)
{
	struct pyl_metadata_cache *cache = stream->chan->session->meta;
	bool coherent = false;
	long ret;

	switch (cmd) {
	case PYL_RB_GET_NEXT_SUBBUF:
		return pyl_metadata_get_next(cache, stream->rb, &stream->meta,
					     &coherent);
	case PYL_RB_GET_NEXT_SUBBUF_METADATA_CHECK:
		ret = pyl_metadata_get_next(cache, stream->rb, &stream->meta,
					    &coherent);
		if (ret)
			return ret;
		return put_user((u32)coherent, (u32 __user *)arg);
	case PYL_RB_PUT_NEXT_SUBBUF:
		ret = pyl_rb_put(stream->rb);
		if (!ret)
			stream->meta.out += stream->meta.held;
		stream->meta.held = 0;
		return ret;
	case PYL_RB_PUT_SUBBUF:
		pyl_rb_release(stream->rb);	/* handed out again next time */
		stream->meta.held = 0;
		return 0;
	case PYL_RB_GET_SUBBUF:
		return -ENOSYS;		/* no random access to metadata */
	case PYL_RB_SNAPSHOT:
	case PYL_RB_SNAPSHOT_SAMPLE_POSITIONS:
		return pyl_rb_metadata_snapshot(stream->rb, cmd != PYL_RB_SNAPSHOT);
	case PYL_RB_FLUSH:
	case PYL_RB_FLUSH_EMPTY:
	case PYL_RB_CLEAR:
		return 0;
	case PYL_RB_GET_METADATA_VERSION:
		return pyl_put_u64(READ_ONCE(cache->version), arg);
	case PYL_RB_METADATA_CACHE_DUMP:
		/* As lttng-modules: only once everything handed out is consumed. */
		if (pyl_rb_holds_packet(stream->rb))
			return -EBUSY;
		stream->meta.out = 0;
		wake_up_interruptible(&cache->wait);
		return 0;
	default:
		return pyl_stream_common_ioctl(stream, cmd, arg);
	}
}

static long pyl_stream_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct pyl_stream *stream = file->private_data;
	long ret;

	pyl_rb_read_lock(stream->rb);
	if (stream->chan->is_metadata)
		ret = pyl_meta_stream_cmd(stream, cmd, arg);
	else
		ret = pyl_data_stream_cmd(stream, cmd, arg);
	pyl_rb_read_unlock(stream->rb);
	return ret;
}

static __poll_t pyl_stream_poll(struct file *file, poll_table *wait)
{
	struct pyl_stream *stream = file->private_data;
	struct pyl_rb *rb = stream->rb;
	struct pyl_metadata_cache *cache = stream->chan->session->meta;
	bool finalized;

	pyl_rb_poll_wait(rb, file, wait);
	if (stream->chan->is_metadata)
		poll_wait(file, &cache->wait, wait);
	finalized = pyl_rb_finalized(rb);	/* before data state */
	if (stream->chan->is_metadata) {
		if (pyl_metadata_pending(cache, &stream->meta))
			return EPOLLIN | EPOLLRDNORM;
	} else if (pyl_rb_readable(rb)) {
		return EPOLLIN | EPOLLRDNORM;
	}
	return finalized ? EPOLLHUP : 0;
}

static int pyl_stream_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct pyl_stream *stream = file->private_data;

	return pyl_rb_mmap(stream->rb, vma);
}

static ssize_t pyl_stream_splice_read(struct file *file, loff_t *ppos,
				      struct pipe_inode_info *pipe, size_t len,
				      unsigned int flags)
{
	struct pyl_stream *stream = file->private_data;
	ssize_t ret;

	pyl_rb_read_lock(stream->rb);
	ret = pyl_rb_splice_read(stream->rb, ppos, pipe, len);
	pyl_rb_read_unlock(stream->rb);
	return ret;
}

static int pyl_stream_release(struct inode *inode, struct file *file)
{
	struct pyl_stream *stream = file->private_data;

	/* A reader killed while holding a sub-buffer: the next one rereads it. */
	pyl_rb_close_reader(stream->rb);
	pyl_channel_put(stream->chan);
	kfree(stream);
	return 0;
}

static const struct file_operations pyl_stream_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = pyl_stream_ioctl,
	.compat_ioctl = pyl_stream_ioctl,
	.poll = pyl_stream_poll,
	.mmap = pyl_stream_mmap,
	.splice_read = pyl_stream_splice_read,
	.release = pyl_stream_release,
	.llseek = noop_llseek,
};

/* One stream per buffer: the next buffer nobody reads, or -ENOENT. */
int pyl_stream_open(struct pyl_channel *chan)
{
	struct pyl_stream *stream;
	struct pyl_rb *rb = NULL;
	struct file *file;
	unsigned int i;
	int fd;

	for (i = 0; i < chan->nr_rbs; i++) {
		if (chan->rbs[i] && pyl_rb_open_reader(chan->rbs[i])) {
			rb = chan->rbs[i];
			break;
		}
	}
	if (!rb)
		return -ENOENT;
	stream = kzalloc(sizeof(*stream), GFP_KERNEL);
	if (!stream) {
		pyl_rb_close_reader(rb);
		return -ENOMEM;
	}
	stream->chan = chan;
	stream->rb = rb;
	fd = pyl_anon_fd(chan->is_metadata ? "[lttng_metadata_stream]" :
			 "[lttng_stream]", &pyl_stream_fops, stream, &file);
	if (fd < 0) {
		pyl_rb_close_reader(rb);
		kfree(stream);
		return fd;
	}
	kref_get(&chan->ref);
	file->f_mode |= FMODE_PREAD;
	fd_install(fd, file);
	return fd;
}
