/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng-ringbuffer.h - per-CPU CTF packet ring buffer.
 *
 * struct pyl_rb is private to pylttng-ringbuffer.c: the rest of the module
 * goes through the writer and reader functions below.
 */
#ifndef _PYLTTNG_RINGBUFFER_H
#define _PYLTTNG_RINGBUFFER_H

#include <linux/types.h>

/* Event header flavours, as named in the TSDL. */
enum pyl_header_type {
	PYL_HEADER_UNSET	= 0,
	PYL_HEADER_COMPACT	= 1,	/* 5-bit id, 27-bit timestamp */
	PYL_HEADER_LARGE	= 2,	/* 16-bit id, 32-bit timestamp */
};

struct pyl_rb;
struct file;
struct pipe_inode_info;
struct poll_table_struct;
struct vm_area_struct;

/*
 * A reservation in progress, from pyl_rb_reserve() to pyl_rb_commit().
 * Public only so that probes can keep it on their stack: its fields belong
 * to pylttng-ringbuffer.c.
 */
struct pyl_rb_ctx {
	struct pyl_rb *rb;
	unsigned long begin;		/* position of the event header */
	unsigned long len;		/* header + payload */
	u64 ts;
};

/* Reader statistics of one stream, as lttng-consumerd computes them. */
struct pyl_rb_stats {
	u64 events_discarded;		/* of the last packet consumed */
	u64 lost_packets;		/* sequence gaps between consumed ones */
};

/* Packet context of the held data packet. */
struct pyl_rb_packet_info {
	u64 timestamp_begin;
	u64 timestamp_end;
	u64 events_discarded;
	u64 content_size;		/* bits */
	u64 packet_size;		/* bits */
	u64 seq_num;
};

u64 pyl_clock_read(void);

/* Life cycle. */
struct pyl_rb *pyl_rb_create(unsigned long subbuf_size, unsigned long num_subbuf,
			     bool overwrite, int cpu, u32 stream_id, const u8 *uuid);
void pyl_rb_destroy(struct pyl_rb *rb);

/* Writer side: any context, on the buffer's CPU. */
void *pyl_rb_reserve(struct pyl_rb *rb, enum pyl_header_type htype, u32 id,
		     size_t payload_len, struct pyl_rb_ctx *ctx);
void pyl_rb_commit(const struct pyl_rb_ctx *ctx);

/* Producer control: flush the open packet, close the buffer for good. */
void pyl_rb_flush(struct pyl_rb *rb, bool empty);
void pyl_rb_flush_dead(struct pyl_rb *rb);
void pyl_rb_finalize(struct pyl_rb *rb);

/* Reader side: one stream fd per buffer. */
bool pyl_rb_open_reader(struct pyl_rb *rb);
void pyl_rb_close_reader(struct pyl_rb *rb);
void pyl_rb_read_lock(struct pyl_rb *rb);
void pyl_rb_read_unlock(struct pyl_rb *rb);

/* Waiting for data; pyl_rb_finalized() orders later reads of the buffer. */
bool pyl_rb_readable(struct pyl_rb *rb);
bool pyl_rb_finalized(struct pyl_rb *rb);
void pyl_rb_wake_reader(struct pyl_rb *rb);
void pyl_rb_poll_wait(struct pyl_rb *rb, struct file *file,
		      struct poll_table_struct *wait);

/* Taking and giving back packets; the rest with the read lock held. */
int pyl_rb_get_next(struct pyl_rb *rb);
int pyl_rb_get(struct pyl_rb *rb, unsigned long pos);
void pyl_rb_count_packet(struct pyl_rb *rb);
int pyl_rb_put(struct pyl_rb *rb);
void pyl_rb_release(struct pyl_rb *rb);
int pyl_rb_clear(struct pyl_rb *rb);
int pyl_rb_write_metadata_packet(struct pyl_rb *rb, const void *header,
				 size_t header_len, const void *text,
				 size_t text_len);

/* The held packet. */
bool pyl_rb_holds_packet(struct pyl_rb *rb);
void *pyl_rb_held_addr(struct pyl_rb *rb);
unsigned long pyl_rb_held_len(struct pyl_rb *rb);
int pyl_rb_held_packet_info(struct pyl_rb *rb, struct pyl_rb_packet_info *info);

/* Positions, geometry and statistics. */
int pyl_rb_snapshot(struct pyl_rb *rb, bool sample_only);
int pyl_rb_metadata_snapshot(struct pyl_rb *rb, bool sample_only);
unsigned long pyl_rb_snapshot_consumed(struct pyl_rb *rb);
unsigned long pyl_rb_snapshot_produced(struct pyl_rb *rb);
unsigned long pyl_rb_subbuf_size(const struct pyl_rb *rb);
int pyl_rb_cpu(const struct pyl_rb *rb);
void pyl_rb_read_stats(struct pyl_rb *rb, struct pyl_rb_stats *stats);

/* Mapping and splicing the buffer. */
unsigned long pyl_rb_mmap_len(const struct pyl_rb *rb);
unsigned long pyl_rb_read_offset(struct pyl_rb *rb);
int pyl_rb_mmap(struct pyl_rb *rb, struct vm_area_struct *vma);
ssize_t pyl_rb_splice_read(struct pyl_rb *rb, loff_t *ppos,
			   struct pipe_inode_info *pipe, size_t len);

#endif /* _PYLTTNG_RINGBUFFER_H */
