/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng.h - objects shared by the pylttng kernel tracer.
 *
 * Object graph and lifetimes:
 *
 *   session fd ──▶ pyl_session (kref) ◀── each channel holds a kref
 *   channel fd ──▶ pyl_channel (kref)  (and pins the session file)
 *   event fd   ──▶ pyl_enabler          (pins the channel file)
 *   stream fd  ──▶ pyl_rb of a channel  (holds a channel kref)
 *
 * The session is torn down ("destroyed") when its file is released, which
 * only happens after every channel and event fd is closed.  Tearing down
 * stops tracing, unhooks every probe and finalizes every buffer; stream
 * fds keep their channel alive and read what is left, then get -ENODATA.
 * All control state is serialized by pyl_mutex.
 */
#ifndef _PYLTTNG_H
#define _PYLTTNG_H

#include <linux/hashtable.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <linux/fs.h>
#include <linux/file.h>

#include "pylttng-abi.h"
#include "pylttng-ringbuffer.h"
#include "pylttng-context.h"

#define PYL_DEFAULT_READ_TIMER_US	200000U
#define PYL_MAX_SUBBUF_SIZE		(256UL << 20)
#define PYL_MAX_NUM_SUBBUF		(1UL << 16)
#define PYL_MAX_BUF_SIZE		(1UL << 30)

extern struct mutex pyl_mutex;
extern struct list_head pyl_sessions;

struct pyl_layout;
struct pyl_sc_chan;
struct pyl_event_source_ops;
struct pyl_trackers;

/* Text of the session's TSDL, shared with its metadata streams. */
struct pyl_metadata_cache {
	struct kref ref;
	struct mutex lock;
	char *data;
	size_t len;
	size_t alloc;
	u64 version;
	u8 uuid[16];
	wait_queue_head_t wait;		/* metadata readers */
};

/* Where one metadata stream is in the text: reset when the text is regenerated. */
struct pyl_metadata_reader {
	size_t out;			/* text consumed */
	size_t held;			/* text in the held metadata packet */
	u64 version;			/* of the text that out counts in */
};

struct pyl_session {
	struct kref ref;
	struct list_head node;		/* in pyl_sessions */
	struct list_head chans;
	struct pyl_metadata_cache *meta;
	/* Process attribute trackers; NULL: every task is traced. */
	struct pyl_trackers __rcu *trackers;
	bool active;
	bool been_active;
	bool destroyed;
	bool metadata_dumped;
	unsigned int next_chan_id;
	s64 clock_offset;
	u8 uuid[16];
	char name[PYL_SESSION_NAME_LEN];
	char creation_time[PYL_CREATION_TIME_LEN];
};

struct pyl_channel {
	struct kref ref;
	struct pyl_session *session;
	struct file *session_file;	/* pinned while the channel fd lives */
	struct file *file;		/* the channel fd's file */
	struct list_head node;		/* in session->chans */
	struct list_head enablers;
	struct list_head events;
	/* The same events by name: `enable-event -a` makes ~2,000 of them. */
	DECLARE_HASHTABLE(event_names, 9);
	struct pyl_sc_chan *sc;		/* armed syscall events, if any */
	unsigned int id;
	bool is_metadata;
	bool enabled;
	bool finalized;
	bool metadata_dumped;
	enum pyl_header_type header_type;
	unsigned int next_event_id;
	unsigned long subbuf_size;
	unsigned long num_subbuf;
	unsigned int read_timer_us;
	unsigned int switch_timer_us;
	u32 output;
	bool overwrite;			/* flight-recorder mode */
	unsigned int nr_rbs;
	struct pyl_rb **rbs;		/* by CPU; one for metadata */
	struct timer_list read_timer;
	struct delayed_work switch_work;	/* switch timer */
	struct pyl_ctx ctx;		/* fixed once the session started */
	wait_queue_head_t hp_wait;	/* channel fd pollers (new streams) */
	struct hlist_node cpuhp;	/* data: flushed when a CPU dies */
	bool cpuhp_added;
};

/* What the user asked for: an exact name or a star glob. */
struct pyl_enabler {
	struct list_head node;		/* in chan->enablers */
	struct pyl_channel *chan;
	char name[PYL_SYM_NAME_LEN];
	bool glob;
	bool enabled;
	u32 instrumentation;		/* enum pyl_abi_instrumentation */
	const struct pyl_event_source_ops *src;	/* owning source */
	void *priv;			/* the source's: what, where */
};

/* One instantiated event of a channel. */
struct pyl_event {
	struct list_head node;		/* in chan->events */
	struct hlist_node name_node;	/* in chan->event_names */
	struct pyl_channel *chan;
	char *name;
	u32 id;
	bool metadata_dumped;
	bool armed;			/* read by the probe */
	struct pyl_layout *layout;
	const struct pyl_event_source_ops *src;	/* pylttng-source.h */
	void *priv;			/* the source's per-event state */
};

/* pylttng-main.c */
int pyl_anon_fd(const char *name, const struct file_operations *fops,
		void *priv, struct file **filep);
int pylttng_stub_attach(void);		/* stubs/pylttng-stub.h */

/* pylttng-session.c */
int pyl_session_create(void);
void pyl_session_put(struct pyl_session *session);

/* pylttng-tracker.c */
long pyl_tracker_ioctl(struct pyl_session *session, unsigned int cmd,
		       unsigned long arg);
bool pyl_trackers_match(const struct pyl_trackers *trackers);
void pyl_trackers_free(struct pyl_session *session);

/* pylttng-channel.c */
int pyl_channel_create(struct file *session_file, struct pyl_session *session,
		       const struct pyl_abi_channel *param, bool metadata);
void pyl_channel_put(struct pyl_channel *chan);
void pyl_channel_finalize(struct pyl_channel *chan);
void pyl_channel_flush(struct pyl_channel *chan);
int pyl_channel_hp_init(void);
void pyl_channel_hp_exit(void);

/* pylttng-cpu-perf.c */
int pyl_cpu_perf_init(void);
void pyl_cpu_perf_exit(void);

/* pylttng-stream.c */
int pyl_stream_open(struct pyl_channel *chan);

/* pylttng-events.c (what it offers the sources: pylttng-source.h) */
int pyl_enabler_create(struct file *chan_file, struct pyl_channel *chan,
		       const struct pyl_abi_event *param);
void pyl_session_instantiate(struct pyl_session *session);
void pyl_session_sync(struct pyl_session *session);
void pyl_channel_free_events(struct pyl_channel *chan);
int pyl_events_init(void);
void pyl_events_exit(void);

/* pylttng-metadata.c */
void pyl_metadata_init(void);
struct pyl_metadata_cache *pyl_metadata_cache_create(const u8 *uuid);
void pyl_metadata_cache_put(struct pyl_metadata_cache *cache);
int pyl_metadata_dump(struct pyl_session *session);
int pyl_metadata_regenerate(struct pyl_session *session);
int pyl_metadata_get_next(struct pyl_metadata_cache *cache, struct pyl_rb *rb,
			  struct pyl_metadata_reader *reader, bool *coherent);
bool pyl_metadata_pending(struct pyl_metadata_cache *cache,
			  const struct pyl_metadata_reader *reader);

/* pylttng-statedump.c */
struct trace_event_call;
int pyl_statedump_for_each(int (*fn)(struct trace_event_call *call,
				     const char *name, void *arg), void *arg);
int pyl_statedump_run(struct pyl_session *session);

/* pylttng-tracepoints.c */
int pyl_tracepoint_list_open(void);

/* pylttng-syscall-list.c */
int pyl_syscall_list_open(void);

#endif /* _PYLTTNG_H */
