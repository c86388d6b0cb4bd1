// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-ringbuffer.c - per-CPU, lock-free CTF packet ring buffer.
 *
 * Each CPU of a channel owns one buffer of num_subbuf sub-buffers of
 * subbuf_size bytes (both powers of two), allocated with vmalloc_user() so
 * that the consumer can mmap() the whole of it.  Every sub-buffer holds one
 * CTF packet: a packet header + context, then event records, then padding.
 *
 * Writers only ever run on the CPU that owns the buffer, but they may nest
 * (a tracepoint in an IRQ or NMI interrupting a tracepoint in task context),
 * so nothing may take a lock.  The design is the classic LTTng one, reduced
 * to discard mode:
 *
 *  - "offset" is a free-running byte position (local_t).  A writer reads
 *    it and the clock, computes where its record goes and moves offset with
 *    local_cmpxchg(); on failure (it was interrupted by a nested writer) it
 *    starts again, rereading the clock, so timestamps grow with positions.
 *    A record never straddles sub-buffers: if it does not fit, the writer
 *    skips to the next sub-buffer, closing the current one.
 *
 *  - Each sub-buffer has a cumulative commit counter.  Every writer adds
 *    the size of what it wrote once its bytes are in memory (after
 *    smp_wmb()).  The writer that opens a sub-buffer commits the packet
 *    header, the writer that moves past it commits the padding, so a
 *    sub-buffer of lap L is complete exactly when its counter reaches
 *    (L + 1) * subbuf_size, however the writers interleaved.
 *
 *  - The opener writes the header fields known at the start (magic, uuid,
 *    stream id, timestamp_begin, sequence number, cpu); the closer writes
 *    the ones known at the end (timestamp_end, content and packet sizes,
 *    events_discarded).  The two sets are disjoint, so their order does
 *    not matter.  A record ending exactly at the end of its sub-buffer
 *    closes it itself at commit time.
 *
 *  - Discard mode: a writer that needs a sub-buffer the reader has not
 *    consumed yet drops its event and counts it in "lost"; the count is
 *    cumulative per stream, as CTF's events_discarded expects.  This also
 *    holds with a single sub-buffer: once closed (full or flushed) it is
 *    the reader's until consumed, and writers drop meanwhile.
 *
 *  - A packet reports the drops counted when it closed, so drops after
 *    the last closed packet would be reported nowhere.  A flush that finds
 *    the current packet closed already therefore writes a header-only
 *    packet (no event, events_discarded = "lost") when the last packet's
 *    count is behind "lost".  If every sub-buffer is the reader's (a burst
 *    filled them all), that packet is owed instead ("owed"), and the reader
 *    pays the debt as soon as it frees a sub-buffer (PUT_NEXT_SUBBUF,
 *    CLEAR): it has the switch run on the owning CPU, as a flush, so that
 *    the packet is readable before the ioctl returns.  Every dropped event
 *    thus reaches a packet the consumer reads.
 *
 *  - Overwrite (flight-recorder) mode: a writer that needs a sub-buffer
 *    the reader has not consumed yet takes it anyway and pushes "consumed"
 *    past it with cmpxchg() (the reader moves it too), before it moves
 *    "offset" into it.  It still drops its event when the previous lap of
 *    that sub-buffer is not fully committed (an interrupted writer has yet
 *    to fill it: tiny buffers under nesting).  Both checks run only when a
 *    packet is opened, so the per-record path is the same in both modes.
 *    The lost packets leave gaps in packet_seq_num (the sub-buffer's
 *    global sequence number), from which babeltrace2 and lttng-consumerd
 *    count them; events_discarded keeps counting dropped events only.
 *    This mode needs two sub-buffers: with one, opening the next packet
 *    would push the reader past the packet just completed.
 *
 *    The sub-buffer the reader holds must never be written under it.
 *    LTTng-modules swaps it with a spare one through a table of sub-buffer
 *    ids that every writer consults.  Here the writers keep their plain
 *    addressing and the reader pays instead: it copies the packet into a
 *    spare sub-buffer placed after the ring in the same vmalloc area (so
 *    mmap() and splice() reach it; GET_MMAP_READ_OFFSET points there), then
 *    checks that "consumed" was not pushed past the packet meanwhile.  A
 *    writer pushes before it writes a byte of the new lap (full barrier in
 *    cmpxchg()), and the reader reads "consumed" after its copy (smp_rmb),
 *    so an unchanged "consumed" proves the copy whole; otherwise the packet
 *    is lost and the reader retries with the next one.  One memcpy() per
 *    packet, only in overwrite mode and only on the reader side.
 *
 *  - Event headers are compact (5-bit id, 27-bit timestamp) or large
 *    (16-bit id, 32-bit timestamp); the extended form (32-bit id, 64-bit
 *    timestamp) is used when the id does not fit or when the timestamp
 *    may have wrapped the short field since the previous record.  For
 *    that, "last_ts" is stored after each reservation: under nesting it
 *    can only lag behind, which at worst costs an extended header.
 *
 * The reader (the stream fd) takes the sub-buffer at "consumed" once it is
 * complete, and gives it back by advancing "consumed".  When it consumes a
 * packet it also notes the packet's events_discarded and any gap in the
 * sequence numbers: per-stream statistics equal to what lttng-consumerd
 * computes from the same packets, summed per channel for `lttng list`.
 * Writers never wake readers (a tracepoint may hold the runqueue lock):
 * the channel read timer polls pyl_rb_readable() instead.  A flush closes
 * the current sub-buffer on its owning CPU, through an IPI, where it
 * nests over writers as an interrupting writer would.  Switches from
 * elsewhere (finalize, dead CPU: no writer left) and flushes exclude each
 * other with switch_lock, which writers never take.
 *
 * The metadata channel's buffer has no writer.  Its reader builds each
 * packet when it takes it (pyl_rb_write_metadata_packet(): the TSDL text
 * of pylttng-metadata.c in the sub-buffer at "consumed"), and consumes it
 * as a data packet.
 *
 * struct pyl_rb is private to this file; pylttng-ringbuffer.h has the API:
 *
 *  - writer: pyl_rb_reserve() / pyl_rb_commit() per record (out of line,
 *    called straight from the probes' pyl_event_reserve() and the direct
 *    recorders; struct pyl_rb_ctx is public only to live on their stack),
 *    pyl_rb_flush(), pyl_rb_flush_dead() and pyl_rb_finalize() for the
 *    channel, pyl_rb_create() / pyl_rb_destroy().
 *
 *  - reader, one per buffer (pyl_rb_open_reader() / pyl_rb_close_reader()),
 *    its commands serialized by pyl_rb_read_lock(): pyl_rb_get_next() or
 *    pyl_rb_get() to take a packet, pyl_rb_put() to consume it (after
 *    pyl_rb_count_packet() for data) or pyl_rb_release() to give it back
 *    as is, pyl_rb_clear(); the held packet through pyl_rb_held_addr(),
 *    pyl_rb_held_len() and pyl_rb_held_packet_info(), or through the mmap
 *    (pyl_rb_mmap(), pyl_rb_read_offset()) or splice(2)
 *    (pyl_rb_splice_read(), in pylttng-splice.c, on top of the held
 *    address); positions with pyl_rb_snapshot() (pyl_rb_metadata_snapshot()
 *    for metadata); waiting with pyl_rb_readable(), pyl_rb_poll_wait(),
 *    pyl_rb_wake_reader() and pyl_rb_finalized(); per-stream statistics
 *    with pyl_rb_read_stats().
 */
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/slab.h>
#include <linux/log2.h>
#include <linux/smp.h>
#include <linux/cpu.h>
#include <linux/timekeeping.h>
#include <linux/string.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/poll.h>
#include <asm/local.h>

#include "pylttng-compat.h"
#include "pylttng-ringbuffer.h"

#define PYL_CTF_MAGIC		0xC1FC1FC1U

/* CTF trace packet.header followed by stream packet.context. */
struct pyl_packet_header {
	u32 magic;
	u8  uuid[16];
	u32 stream_id;
	u64 stream_instance_id;
	/* packet.context */
	u64 timestamp_begin;
	u64 timestamp_end;
	u64 content_size;		/* bits */
	u64 packet_size;		/* bits */
	u64 packet_seq_num;
	u64 events_discarded;		/* "unsigned long": 64 bits */
	u32 cpu_id;
} __packed;

#define PYL_PACKET_HEADER_LEN	sizeof(struct pyl_packet_header)

struct pyl_rb {
	/* Writer side: touched only from the owning CPU (any context). */
	local_t offset;			/* free-running write position */
	local_t lost;			/* events discarded, cumulative */
	u64 last_ts;			/* timestamp of a recent record */
	local_t *commit;		/* per sub-buffer cumulative commits */

	/* Switchers: flushes, finalize, dead CPU, paying what is owed. */
	raw_spinlock_t switch_lock;	/* raw: taken in the flush IPI */
	bool owed;			/* a packet must report drops */

	/* Reader side, serialized by read_lock. */
	struct mutex read_lock;
	unsigned long consumed;		/* first byte not yet consumed; pushed
					 * by writers in overwrite mode */
	unsigned long read_pos;		/* held sub-buffer, if held */
	unsigned long read_len;		/* bytes of content in it */
	unsigned long cons_snapshot;
	unsigned long prod_snapshot;
	bool held;
	bool finalized;
	bool counted;			/* a packet was consumed already */
	unsigned long read_next;	/* position after the last one consumed */
	u64 read_discarded;		/* its events_discarded */
	u64 lost_packets;		/* sequence gaps between consumed packets */
	atomic_t opened;		/* one stream fd at a time */
	wait_queue_head_t read_wait;

	/* Constant after creation. */
	void *mem;
	void *spare;			/* overwrite: the reader's sub-buffer */
	unsigned long size;		/* num_subbuf * subbuf_size */
	unsigned long subbuf_size;
	unsigned int subbuf_order;
	unsigned int buf_order;
	int cpu;
	bool overwrite;			/* flight-recorder mode */
	u32 stream_id;
	u8 uuid[16];
};

#define PYL_COMPACT_ID_MAX	31U	/* ids 0..30 fit; 31 = extended */
#define PYL_LARGE_ID_MAX	65535U
#define PYL_COMPACT_TS_BITS	27
#define PYL_LARGE_TS_BITS	32

u64 pyl_clock_read(void)
{
	return ktime_get_mono_fast_ns();
}

static unsigned long pyl_subbuf_off(const struct pyl_rb *rb, unsigned long pos)
{
	return pos & (rb->subbuf_size - 1);
}

static unsigned long pyl_subbuf_idx(const struct pyl_rb *rb, unsigned long pos)
{
	return (pos & (rb->size - 1)) >> rb->subbuf_order;
}

static void *pyl_rb_addr(const struct pyl_rb *rb, unsigned long pos)
{
	return rb->mem + (pos & (rb->size - 1));
}

static struct pyl_packet_header *pyl_packet(const struct pyl_rb *rb,
					    unsigned long pos)
{
	return pyl_rb_addr(rb, pos & ~(rb->subbuf_size - 1));
}

/* Commit count of the sub-buffer at pos once it is complete. */
static unsigned long pyl_commit_target(const struct pyl_rb *rb, unsigned long pos)
{
	return ((pos >> rb->buf_order) + 1) << rb->subbuf_order;
}

static bool pyl_subbuf_complete(const struct pyl_rb *rb, unsigned long pos)
{
	unsigned long cc = local_read(&rb->commit[pyl_subbuf_idx(rb, pos)]);

	return cc == pyl_commit_target(rb, pos);
}

static void pyl_commit_bytes(struct pyl_rb *rb, unsigned long pos,
			     unsigned long len)
{
	smp_wmb();	/* record bytes before the commit count */
	local_add(len, &rb->commit[pyl_subbuf_idx(rb, pos)]);
}

struct pyl_rb *pyl_rb_create(unsigned long subbuf_size, unsigned long num_subbuf,
			     bool overwrite, int cpu, u32 stream_id, const u8 *uuid)
{
	struct pyl_rb *rb;

	rb = kzalloc(sizeof(*rb), GFP_KERNEL);
	if (!rb)
		return NULL;
	rb->subbuf_size = subbuf_size;
	rb->subbuf_order = ilog2(subbuf_size);
	rb->size = subbuf_size * num_subbuf;
	rb->buf_order = ilog2(rb->size);
	rb->cpu = cpu;
	rb->overwrite = overwrite;
	rb->stream_id = stream_id;
	memcpy(rb->uuid, uuid, sizeof(rb->uuid));
	mutex_init(&rb->read_lock);
	raw_spin_lock_init(&rb->switch_lock);
	init_waitqueue_head(&rb->read_wait);
	local_set(&rb->offset, 0);
	local_set(&rb->lost, 0);

	rb->commit = kvcalloc(num_subbuf, sizeof(*rb->commit), GFP_KERNEL);
	rb->mem = vmalloc_user(pyl_rb_mmap_len(rb));
	if (!rb->commit || !rb->mem) {
		pyl_rb_destroy(rb);
		return NULL;
	}
	if (overwrite)
		rb->spare = rb->mem + rb->size;
	return rb;
}

void pyl_rb_destroy(struct pyl_rb *rb)
{
	if (!rb)
		return;
	vfree(rb->mem);
	kvfree(rb->commit);
	kfree(rb);
}

/* ---------------------------------------------------------------- writer */

static unsigned int pyl_event_header_len(enum pyl_header_type htype, u32 id,
					 u64 ts, u64 last_ts)
{
	unsigned int ts_bits;
	u32 id_max;

	if (htype == PYL_HEADER_LARGE) {
		ts_bits = PYL_LARGE_TS_BITS;
		id_max = PYL_LARGE_ID_MAX;
	} else {
		ts_bits = PYL_COMPACT_TS_BITS;
		id_max = PYL_COMPACT_ID_MAX;
	}
	if (id < id_max && ts >= last_ts && !((ts ^ last_ts) >> ts_bits))
		return htype == PYL_HEADER_LARGE ? 6 : 4;
	/* extended: selector, u32 id, u64 timestamp */
	return htype == PYL_HEADER_LARGE ? 2 + 4 + 8 : 1 + 4 + 8;
}

static void pyl_write_event_header(void *p, enum pyl_header_type htype,
				   u32 id, u64 ts, unsigned int len)
{
	u32 v32;
	u16 v16;

	if (htype == PYL_HEADER_LARGE) {
		if (len == 6) {
			v16 = id;
			v32 = (u32)ts;
			memcpy(p, &v16, 2);
			memcpy(p + 2, &v32, 4);
			return;
		}
		v16 = PYL_LARGE_ID_MAX;
		memcpy(p, &v16, 2);
		p += 2;
	} else {
		if (len == 4) {
			v32 = (id & 0x1f) |
			      ((u32)(ts & ((1U << PYL_COMPACT_TS_BITS) - 1)) << 5);
			memcpy(p, &v32, 4);
			return;
		}
		*(u8 *)p = PYL_COMPACT_ID_MAX;
		p += 1;
	}
	memcpy(p, &id, 4);
	memcpy(p + 4, &ts, 8);
}

/* Fields known when a packet starts; commits the packet header. */
static void pyl_open_subbuf(struct pyl_rb *rb, unsigned long start, u64 ts)
{
	struct pyl_packet_header *h = pyl_packet(rb, start);

	h->magic = PYL_CTF_MAGIC;
	memcpy(h->uuid, rb->uuid, sizeof(h->uuid));
	h->stream_id = rb->stream_id;
	h->stream_instance_id = rb->cpu;
	h->timestamp_begin = ts;
	h->packet_seq_num = start >> rb->subbuf_order;
	h->cpu_id = rb->cpu;
	pyl_commit_bytes(rb, start, PYL_PACKET_HEADER_LEN);
}

/* Fields known when a packet ends; content is its used length in bytes. */
static void pyl_end_fields(struct pyl_rb *rb, unsigned long start,
			   unsigned long content, u64 ts)
{
	struct pyl_packet_header *h = pyl_packet(rb, start);

	h->timestamp_end = ts;
	h->content_size = (u64)content * BITS_PER_BYTE;
	h->packet_size = (u64)PAGE_ALIGN(content) * BITS_PER_BYTE;
	h->events_discarded = local_read(&rb->lost);
}

/* Close the open sub-buffer holding pos - 1, committing its padding. */
static void pyl_close_subbuf(struct pyl_rb *rb, unsigned long end, u64 ts)
{
	unsigned long used = pyl_subbuf_off(rb, end);

	pyl_end_fields(rb, end - used, used, ts);
	pyl_commit_bytes(rb, end - 1, rb->subbuf_size - used);
}

/* Overwrite mode: move "consumed" past the sub-buffer start reuses. */
static void pyl_rb_push_reader(struct pyl_rb *rb, unsigned long start)
{
	unsigned long want = start - rb->size + rb->subbuf_size;
	unsigned long cur = READ_ONCE(rb->consumed), prev;

	while ((long)(want - cur) > 0) {
		prev = cmpxchg(&rb->consumed, cur, want);	/* full barrier */
		if (prev == cur)
			return;
		cur = prev;
	}
}

/* May a writer open the sub-buffer at start?  Once per packet. */
static bool pyl_rb_room(struct pyl_rb *rb, unsigned long start)
{
	unsigned long cc;

	if (likely(!rb->overwrite))
		return start - READ_ONCE(rb->consumed) < rb->size;
	/* Its previous lap must be complete: commits of laps before start's. */
	cc = local_read(&rb->commit[pyl_subbuf_idx(rb, start)]);
	if (cc != (start >> rb->buf_order) << rb->subbuf_order)
		return false;
	pyl_rb_push_reader(rb, start);
	return true;
}

void *pyl_rb_reserve(struct pyl_rb *rb, enum pyl_header_type htype, u32 id,
		     size_t payload_len, struct pyl_rb_ctx *ctx)
{
	unsigned long old, begin, end, off, start;
	unsigned int hlen;
	bool open, close;
	u64 ts;

	do {
		old = local_read(&rb->offset);
		ts = pyl_clock_read();
		hlen = pyl_event_header_len(htype, id, ts, READ_ONCE(rb->last_ts));
		if (PYL_PACKET_HEADER_LEN + hlen + payload_len > rb->subbuf_size)
			goto drop;
		off = pyl_subbuf_off(rb, old);
		open = false;
		close = false;
		if (!off) {
			open = true;
			begin = old + PYL_PACKET_HEADER_LEN;
		} else if (off + hlen + payload_len <= rb->subbuf_size) {
			begin = old;
		} else {
			open = true;
			close = true;
			begin = old - off + rb->subbuf_size + PYL_PACKET_HEADER_LEN;
		}
		start = begin - PYL_PACKET_HEADER_LEN;
		if (open && !pyl_rb_room(rb, start))
			goto drop;	/* reader (or a nested writer) is behind */
		end = begin + hlen + payload_len;
	} while (local_cmpxchg(&rb->offset, old, end) != old);

	WRITE_ONCE(rb->last_ts, ts);
	if (close)
		pyl_close_subbuf(rb, old, ts);
	if (open)
		pyl_open_subbuf(rb, start, ts);
	pyl_write_event_header(pyl_rb_addr(rb, begin), htype, id, ts, hlen);

	ctx->rb = rb;
	ctx->begin = begin;
	ctx->len = hlen + payload_len;
	ctx->ts = ts;
	return pyl_rb_addr(rb, begin + hlen);

drop:
	local_inc(&rb->lost);
	return NULL;
}

void pyl_rb_commit(const struct pyl_rb_ctx *ctx)
{
	struct pyl_rb *rb = ctx->rb;

	/* A record ending its sub-buffer closes it. */
	if (!pyl_subbuf_off(rb, ctx->begin + ctx->len))
		pyl_end_fields(rb, ctx->begin & ~(rb->subbuf_size - 1),
			       rb->subbuf_size, ctx->ts);
	pyl_commit_bytes(rb, ctx->begin, ctx->len);
}

/* ----------------------------------------------------------------- flush */

/*
 * What a switch does when the current packet is closed already: PYL_SWITCH
 * writes a packet only to report drops, PYL_SWITCH_EMPTY also for a fresh
 * timestamp; PYL_SWITCH_OWED pays a debt and leaves an open packet to
 * report them when it closes.
 */
enum pyl_switch_mode {
	PYL_SWITCH,
	PYL_SWITCH_EMPTY,
	PYL_SWITCH_OWED,
};

struct pyl_switch_req {
	struct pyl_rb *rb;
	enum pyl_switch_mode mode;
};

/*
 * Were events dropped since the packet ending at pos closed?  That packet
 * stays in place while "offset" is at pos.  Its closer may still be
 * interrupted before writing events_discarded: it then reads "lost" later,
 * and the answer here is at worst a needless header-only packet.
 */
static bool pyl_rb_unreported(struct pyl_rb *rb, unsigned long pos)
{
	u64 reported = 0;

	if (pos)
		reported = READ_ONCE(pyl_packet(rb, pos - 1)->events_discarded);
	return (u64)local_read(&rb->lost) != reported;
}

/*
 * The drops up to now must reach a packet, but every sub-buffer is the
 * reader's: owe it, and let the reader pay once it frees one.  True when
 * the reader freed one meanwhile: write the packet now.
 */
static bool pyl_rb_owe(struct pyl_rb *rb, unsigned long pos)
{
	WRITE_ONCE(rb->owed, true);
	smp_mb();	/* "owed" before "consumed"; pairs with pyl_rb_pay() */
	return pyl_rb_room(rb, pos);
}

/*
 * Close the current sub-buffer if it holds anything.  When it is closed
 * already, write a packet holding no event if drops are unreported (or,
 * with PYL_SWITCH_EMPTY, in any case, so that the reader gets a fresh
 * timestamp); with no sub-buffer free for it, owe it.  Runs on the owning
 * CPU, or on any CPU once no writer can run, under switch_lock.
 */
static void pyl_rb_switch(struct pyl_rb *rb, enum pyl_switch_mode mode)
{
	unsigned long old, end, off;
	bool unreported;
	u64 ts;

	WRITE_ONCE(rb->owed, false);
retry:
	old = local_read(&rb->offset);
	off = pyl_subbuf_off(rb, old);
	ts = pyl_clock_read();
	if (off) {
		if (mode == PYL_SWITCH_OWED)
			return;
		end = old - off + rb->subbuf_size;
	} else {
		unreported = pyl_rb_unreported(rb, old);
		if (mode != PYL_SWITCH_EMPTY && !unreported)
			return;
		if (!pyl_rb_room(rb, old) && (!unreported || !pyl_rb_owe(rb, old)))
			return;
		end = old + rb->subbuf_size;
	}
	if (local_cmpxchg(&rb->offset, old, end) != old)
		goto retry;	/* a nested writer moved it */

	WRITE_ONCE(rb->owed, false);
	WRITE_ONCE(rb->last_ts, ts);
	if (off) {
		pyl_close_subbuf(rb, old, ts);
		return;
	}
	pyl_open_subbuf(rb, old, ts);
	pyl_end_fields(rb, old, PYL_PACKET_HEADER_LEN, ts);
	pyl_commit_bytes(rb, old, rb->subbuf_size - PYL_PACKET_HEADER_LEN);
}

static void pyl_rb_switch_locked(struct pyl_rb *rb, enum pyl_switch_mode mode)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&rb->switch_lock, flags);
	pyl_rb_switch(rb, mode);
	raw_spin_unlock_irqrestore(&rb->switch_lock, flags);
}

static void pyl_rb_switch_ipi(void *info)
{
	struct pyl_switch_req *req = info;

	pyl_rb_switch_locked(req->rb, req->mode);
}

/* Switch on the owning CPU, where writers run. */
static void pyl_rb_switch_on_cpu(struct pyl_rb *rb, enum pyl_switch_mode mode)
{
	struct pyl_switch_req req = { .rb = rb, .mode = mode };

	cpus_read_lock();
	if (smp_call_function_single(rb->cpu, pyl_rb_switch_ipi, &req, 1))
		pyl_rb_switch_locked(rb, mode);	/* CPU offline: no writer */
	cpus_read_unlock();
}

void pyl_rb_flush(struct pyl_rb *rb, bool empty)
{
	pyl_rb_switch_on_cpu(rb, empty ? PYL_SWITCH_EMPTY : PYL_SWITCH);
}

/*
 * The reader freed sub-buffers: write the packet owed, if any, so that it
 * reads it next.
 */
static void pyl_rb_pay(struct pyl_rb *rb)
{
	smp_mb();	/* "consumed" before "owed"; pairs with pyl_rb_owe() */
	if (READ_ONCE(rb->owed))
		pyl_rb_switch_on_cpu(rb, PYL_SWITCH_OWED);
}

/*
 * The buffer's CPU is dead: close its packet so that the reader gets its
 * last events now.  The caller holds the CPU hotplug lock, which keeps
 * pyl_rb_flush() out.
 */
void pyl_rb_flush_dead(struct pyl_rb *rb)
{
	pyl_rb_switch_locked(rb, PYL_SWITCH);
	wake_up_interruptible(&rb->read_wait);
}

/* Called once no writer can touch the buffer any more. */
void pyl_rb_finalize(struct pyl_rb *rb)
{
	pyl_rb_switch_locked(rb, PYL_SWITCH);
	smp_wmb();	/* flushed data before "finalized" */
	WRITE_ONCE(rb->finalized, true);
	wake_up_interruptible(&rb->read_wait);
}

/* ---------------------------------------------------------------- reader */

/* One reader (stream fd) per buffer: false when it has one already. */
bool pyl_rb_open_reader(struct pyl_rb *rb)
{
	return !atomic_cmpxchg(&rb->opened, 0, 1);
}

/* A reader gone while holding a packet: the next one rereads it. */
void pyl_rb_close_reader(struct pyl_rb *rb)
{
	mutex_lock(&rb->read_lock);
	rb->held = false;
	mutex_unlock(&rb->read_lock);
	atomic_set(&rb->opened, 0);
}

/* Serializes the reader's commands, pyl_rb_readable() excepted. */
void pyl_rb_read_lock(struct pyl_rb *rb)
{
	mutex_lock(&rb->read_lock);
}

void pyl_rb_read_unlock(struct pyl_rb *rb)
{
	mutex_unlock(&rb->read_lock);
}

bool pyl_rb_readable(struct pyl_rb *rb)
{
	return pyl_subbuf_complete(rb, READ_ONCE(rb->consumed));
}

/* Finalized, and the buffer's state read after it is the final one. */
bool pyl_rb_finalized(struct pyl_rb *rb)
{
	bool finalized = READ_ONCE(rb->finalized);

	smp_rmb();	/* finalized before data state; pairs with finalize */
	return finalized;
}

void pyl_rb_wake_reader(struct pyl_rb *rb)
{
	wake_up_interruptible(&rb->read_wait);
}

void pyl_rb_poll_wait(struct pyl_rb *rb, struct file *file,
		      struct poll_table_struct *wait)
{
	poll_wait(file, &rb->read_wait, wait);
}

static void pyl_rb_hold(struct pyl_rb *rb, unsigned long pos, unsigned long len)
{
	rb->read_pos = pos;
	rb->read_len = len;
	rb->held = true;
}

unsigned long pyl_rb_mmap_len(const struct pyl_rb *rb)
{
	return rb->size + (rb->overwrite ? rb->subbuf_size : 0);
}

bool pyl_rb_holds_packet(struct pyl_rb *rb)
{
	return rb->held;
}

/* Where the held packet's bytes are: in the ring, or in the spare. */
void *pyl_rb_held_addr(struct pyl_rb *rb)
{
	if (!rb->held)
		return NULL;
	return rb->spare ?: pyl_rb_addr(rb, rb->read_pos);
}

/* Bytes of content in the held packet; 0 when none is held. */
unsigned long pyl_rb_held_len(struct pyl_rb *rb)
{
	return rb->held ? rb->read_len : 0;
}

/* The packet context of the held data packet. */
int pyl_rb_held_packet_info(struct pyl_rb *rb, struct pyl_rb_packet_info *info)
{
	const struct pyl_packet_header *h = pyl_rb_held_addr(rb);

	if (!h)
		return -EINVAL;
	info->timestamp_begin = h->timestamp_begin;
	info->timestamp_end = h->timestamp_end;
	info->events_discarded = h->events_discarded;
	info->content_size = h->content_size;
	info->packet_size = h->packet_size;
	info->seq_num = h->packet_seq_num;
	return 0;
}

/* GET_MMAP_READ_OFFSET: the held packet in the mmap area. */
unsigned long pyl_rb_read_offset(struct pyl_rb *rb)
{
	if (rb->held && rb->spare)
		return rb->spare - rb->mem;
	return (rb->held ? rb->read_pos : rb->consumed) & (rb->size - 1);
}

/*
 * Overwrite mode: copy the packet at pos into the spare sub-buffer.  False
 * when a writer pushed the reader past it meanwhile (see the top comment).
 */
static bool pyl_rb_copy(struct pyl_rb *rb, unsigned long pos, unsigned long len)
{
	memcpy(rb->spare, pyl_packet(rb, pos), len);
	smp_rmb();	/* the copy before "consumed"; pairs with the push */
	return pos - READ_ONCE(rb->consumed) < rb->size;
}

/*
 * Take the complete sub-buffer at pos; caller holds read_lock.  -ESTALE:
 * overwritten while being taken (overwrite mode only).
 */
static int pyl_rb_take(struct pyl_rb *rb, unsigned long pos)
{
	struct pyl_packet_header *h;
	unsigned long len;
	bool finalized;
	u64 bytes;

	if (rb->held)
		return -EBUSY;
	finalized = READ_ONCE(rb->finalized);
	smp_rmb();	/* finalized before commit counts */
	if (!pyl_subbuf_complete(rb, pos))
		return finalized ? -ENODATA : -EAGAIN;
	smp_rmb();	/* commit count before packet contents */
	h = pyl_packet(rb, pos);
	bytes = READ_ONCE(h->content_size) / BITS_PER_BYTE;
	len = clamp_t(u64, bytes, PYL_PACKET_HEADER_LEN, rb->subbuf_size);
	if (rb->overwrite && !pyl_rb_copy(rb, pos, len))
		return -ESTALE;
	pyl_rb_hold(rb, pos, len);
	return 0;
}

/* Writers may overwrite the packet we try to take: a few tries, as LTTng. */
#define PYL_READ_TRIES	16

int pyl_rb_get_next(struct pyl_rb *rb)
{
	unsigned long pos;
	int tries, ret;

	for (tries = 0; tries < PYL_READ_TRIES; tries++) {
		pos = READ_ONCE(rb->consumed);
		ret = pyl_rb_take(rb, pos);
		/* Not complete because the writer lapped it: read further. */
		if (ret == -EAGAIN && READ_ONCE(rb->consumed) != pos)
			ret = -ESTALE;
		if (ret != -ESTALE)
			return ret;
	}
	return -EAGAIN;
}

int pyl_rb_get(struct pyl_rb *rb, unsigned long pos)
{
	long ahead = pos - READ_ONCE(rb->consumed);
	int ret;

	if (pyl_subbuf_off(rb, pos) || ahead >= (long)rb->size)
		return -EINVAL;
	if (ahead < 0)
		return -EAGAIN;	/* consumed or overwritten: LTTng's "nodata" */
	ret = pyl_rb_take(rb, pos);
	return ret == -ESTALE ? -EAGAIN : ret;
}

/* Move "consumed" forward to pos, unless a writer pushed it further. */
static void pyl_rb_advance(struct pyl_rb *rb, unsigned long pos)
{
	unsigned long cur = READ_ONCE(rb->consumed), prev;

	while ((long)(pos - cur) > 0) {
		prev = cmpxchg(&rb->consumed, cur, pos);
		if (prev == cur)
			return;
		cur = prev;
	}
}

/* PUT_NEXT_SUBBUF: release the held packet and consume it. */
int pyl_rb_put(struct pyl_rb *rb)
{
	if (!rb->held)
		return -EINVAL;
	rb->held = false;
	smp_mb();	/* done reading before the writer may reuse it */
	pyl_rb_advance(rb, rb->read_pos + rb->subbuf_size);
	pyl_rb_pay(rb);
	return 0;
}

/* PUT_SUBBUF: release the held packet without consuming it. */
void pyl_rb_release(struct pyl_rb *rb)
{
	rb->held = false;
}

/*
 * CLEAR (lttng clear, rotations): close the current packet and drop
 * everything not consumed yet, as lib_ring_buffer_clear() does.
 */
int pyl_rb_clear(struct pyl_rb *rb)
{
	unsigned long produced;

	pyl_rb_flush(rb, false);
	produced = local_read(&rb->offset) & ~(rb->subbuf_size - 1);
	if (rb->held)
		return -EBUSY;
	pyl_rb_advance(rb, produced);
	pyl_rb_pay(rb);
	return 0;
}

/*
 * Statistics of the held data packet, about to be consumed: the same
 * numbers lttng-consumerd derives (consumer_stream_update_stats()), the
 * first packet being the reference for sequence gaps.
 */
void pyl_rb_count_packet(struct pyl_rb *rb)
{
	struct pyl_packet_header *h = pyl_rb_held_addr(rb);

	if (!h)
		return;
	if (rb->counted && (long)(rb->read_pos - rb->read_next) > 0)
		WRITE_ONCE(rb->lost_packets, rb->lost_packets +
			   ((rb->read_pos - rb->read_next) >> rb->subbuf_order));
	rb->read_next = rb->read_pos + rb->subbuf_size;
	rb->counted = true;
	WRITE_ONCE(rb->read_discarded, h->events_discarded);
}

/* Any context: the statistics of the packets consumed so far. */
void pyl_rb_read_stats(struct pyl_rb *rb, struct pyl_rb_stats *stats)
{
	stats->events_discarded = READ_ONCE(rb->read_discarded);
	stats->lost_packets = READ_ONCE(rb->lost_packets);
}

int pyl_rb_snapshot(struct pyl_rb *rb, bool sample_only)
{
	unsigned long consumed, produced;
	bool finalized;

	finalized = READ_ONCE(rb->finalized);
	smp_rmb();
	consumed = rb->consumed;
	produced = local_read(&rb->offset);
	if (!sample_only) {
		produced &= ~(rb->subbuf_size - 1);
		if (produced == (consumed & ~(rb->subbuf_size - 1)))
			return finalized ? -ENODATA : -EAGAIN;
	}
	rb->cons_snapshot = consumed;
	rb->prod_snapshot = produced;
	return 0;
}

unsigned long pyl_rb_snapshot_consumed(struct pyl_rb *rb)
{
	return rb->cons_snapshot;
}

unsigned long pyl_rb_snapshot_produced(struct pyl_rb *rb)
{
	return rb->prod_snapshot;
}

unsigned long pyl_rb_subbuf_size(const struct pyl_rb *rb)
{
	return rb->subbuf_size;
}

int pyl_rb_cpu(const struct pyl_rb *rb)
{
	return rb->cpu;
}

int pyl_rb_mmap(struct pyl_rb *rb, struct vm_area_struct *vma)
{
	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	pyl_vma_forbid_write(vma);
	return remap_vmalloc_range(vma, rb->mem, vma->vm_pgoff);
}

/* ------------------------------------------------------------- metadata */

/*
 * A metadata buffer has no writer: its reader builds each packet when it
 * takes it, from the session's TSDL text, in the sub-buffer at "consumed".
 * Write header then text there, zero the padding up to the page, and hold
 * the packet for the reader.  The caller fits both in a sub-buffer
 * (pyl_rb_subbuf_size()).  Read lock held.
 */
int pyl_rb_write_metadata_packet(struct pyl_rb *rb, const void *header,
				 size_t header_len, const void *text,
				 size_t text_len)
{
	size_t len = header_len + text_len;
	u8 *p;

	if (rb->held)
		return -EBUSY;
	if (len > rb->subbuf_size)
		return -EINVAL;	/* sub-buffers smaller than the header */
	p = pyl_rb_addr(rb, rb->consumed);
	memcpy(p, header, header_len);
	memcpy(p + header_len, text, text_len);
	/* Within the sub-buffer: PAGE_ALIGN(len) is, unless it is below a page. */
	memset(p + len, 0, min_t(size_t, PAGE_ALIGN(len), rb->subbuf_size) - len);
	pyl_rb_hold(rb, rb->consumed, len);
	return 0;
}

/*
 * Positions of a metadata buffer, as lttng-modules shows them: text enters
 * it only when the reader takes a packet, so "produced" is one packet past
 * "consumed" while one is held, and equal otherwise (-EAGAIN: nothing to
 * read; lttng-consumerd then sees the stream as caught up, e.g. ready for
 * a rotation).
 */
int pyl_rb_metadata_snapshot(struct pyl_rb *rb, bool sample_only)
{
	unsigned long produced = rb->consumed + (rb->held ? rb->subbuf_size : 0);
	bool finalized = READ_ONCE(rb->finalized);

	if (!sample_only && produced == rb->consumed)
		return finalized ? -ENODATA : -EAGAIN;
	rb->cons_snapshot = rb->consumed;
	rb->prod_snapshot = produced;
	return 0;
}
