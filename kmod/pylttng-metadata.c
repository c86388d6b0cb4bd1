// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-metadata.c - the session's CTF 1.8 TSDL and its metadata stream.
 *
 * The text is produced by the module: the trace, env and clock blocks and
 * the packet/event header types at the first start, then one stream block
 * per channel and one event block per instantiated event, appended as they
 * appear.  It accumulates in a per-session cache; each GET_NEXT_SUBBUF on a
 * metadata stream wraps the next slice of it in a CTF metadata packet.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uuid.h>
#include <linux/utsname.h>

#include "pylttng.h"
#include "pylttng-layout.h"

#define PYL_METADATA_MAGIC	0x75D11D57U

struct pyl_metadata_packet_header {
	u32 magic;
	u8  uuid[16];
	u32 checksum;
	u32 content_size;		/* bits */
	u32 packet_size;		/* bits */
	u8  compression_scheme;
	u8  encryption_scheme;
	u8  checksum_scheme;
	u8  major;
	u8  minor;
} __packed;

static u8 pyl_clock_uuid[16];

void pyl_metadata_init(void)
{
	generate_random_uuid(pyl_clock_uuid);
}

struct pyl_metadata_cache *pyl_metadata_cache_create(const u8 *uuid)
{
	struct pyl_metadata_cache *cache;

	cache = kzalloc(sizeof(*cache), GFP_KERNEL);
	if (!cache)
		return NULL;
	kref_init(&cache->ref);
	mutex_init(&cache->lock);
	init_waitqueue_head(&cache->wait);
	memcpy(cache->uuid, uuid, sizeof(cache->uuid));
	return cache;
}

static void pyl_metadata_cache_release(struct kref *ref)
{
	struct pyl_metadata_cache *cache =
		container_of(ref, struct pyl_metadata_cache, ref);

	kvfree(cache->data);
	kfree(cache);
}

void pyl_metadata_cache_put(struct pyl_metadata_cache *cache)
{
	kref_put(&cache->ref, pyl_metadata_cache_release);
}

/* ------------------------------------------------------------- text */

static int pyl_cache_reserve(struct pyl_metadata_cache *cache, size_t more)
{
	size_t want = cache->len + more + 1;
	size_t alloc = cache->alloc ?: 16384;
	char *data;

	if (want <= cache->alloc)
		return 0;
	while (alloc < want)
		alloc *= 2;
	data = kvmalloc(alloc, GFP_KERNEL);
	if (!data)
		return -ENOMEM;
	if (cache->data)
		memcpy(data, cache->data, cache->len);
	kvfree(cache->data);
	cache->data = data;
	cache->alloc = alloc;
	return 0;
}

static __printf(2, 3) int pyl_meta(struct pyl_metadata_cache *cache,
				   const char *fmt, ...)
{
	va_list args;
	int len;

	va_start(args, fmt);
	len = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	if (pyl_cache_reserve(cache, len))
		return -ENOMEM;
	va_start(args, fmt);
	vsnprintf(cache->data + cache->len, len + 1, fmt, args);
	va_end(args);
	cache->len += len;
	return 0;
}

/* key = "value"; with " and \ escaped. */
static int pyl_meta_string(struct pyl_metadata_cache *cache, const char *key,
			   const char *value)
{
	int ret = pyl_meta(cache, "\t%s = \"", key);

	for (; !ret && *value; value++) {
		if (*value == '"' || *value == '\\')
			ret = pyl_meta(cache, "\\%c", *value);
		else
			ret = pyl_meta(cache, "%c", *value);
	}
	return ret ?: pyl_meta(cache, "\";\n");
}

static int pyl_meta_trace(struct pyl_session *s, struct pyl_metadata_cache *c)
{
	return pyl_meta(c,
		"typealias integer { size = 8; align = 8; signed = false; } := uint8_t;\n"
		"typealias integer { size = 16; align = 8; signed = false; } := uint16_t;\n"
		"typealias integer { size = 32; align = 8; signed = false; } := uint32_t;\n"
		"typealias integer { size = 64; align = 8; signed = false; } := uint64_t;\n"
		"typealias integer { size = %u; align = 8; signed = false; } := unsigned long;\n"
		"typealias integer { size = 5; align = 1; signed = false; } := uint5_t;\n"
		"typealias integer { size = 27; align = 1; signed = false; } := uint27_t;\n"
		"\n"
		"trace {\n"
		"\tmajor = 1;\n"
		"\tminor = 8;\n"
		"\tuuid = \"%pUb\";\n"
		"\tbyte_order = %s;\n"
		"\tpacket.header := struct {\n"
		"\t\tuint32_t magic;\n"
		"\t\tuint8_t  uuid[16];\n"
		"\t\tuint32_t stream_id;\n"
		"\t\tuint64_t stream_instance_id;\n"
		"\t};\n"
		"};\n\n",
		(unsigned int)(sizeof(long) * BITS_PER_BYTE), s->uuid,
		IS_ENABLED(CONFIG_CPU_BIG_ENDIAN) ? "be" : "le");
}

static int pyl_meta_env(struct pyl_session *s, struct pyl_metadata_cache *c)
{
	struct new_utsname *uts = utsname();
	int ret;

	ret = pyl_meta(c, "env {\n");
	ret = ret ?: pyl_meta_string(c, "hostname", uts->nodename);
	ret = ret ?: pyl_meta(c,
		"\tdomain = \"kernel\";\n"
		"\tsysname = \"%s\";\n"
		"\tkernel_release = \"%s\";\n"
		"\tkernel_version = \"%s\";\n"
		"\ttracer_name = \"lttng-modules\";\n"
		"\ttracer_major = %d;\n"
		"\ttracer_minor = %d;\n"
		"\ttracer_patchlevel = %d;\n"
		"\ttrace_buffering_scheme = \"global\";\n",
		uts->sysname, uts->release, uts->version,
		PYL_TRACER_MAJOR, PYL_TRACER_MINOR, PYL_TRACER_PATCHLEVEL);
	ret = ret ?: pyl_meta_string(c, "trace_name", s->name);
	ret = ret ?: pyl_meta_string(c, "trace_creation_datetime", s->creation_time);
	return ret ?: pyl_meta(c, "};\n\n");
}

static int pyl_meta_clock(struct pyl_session *s, struct pyl_metadata_cache *c)
{
	return pyl_meta(c,
		"clock {\n"
		"\tname = \"monotonic\";\n"
		"\tuuid = \"%pUb\";\n"
		"\tdescription = \"Monotonic Clock\";\n"
		"\tfreq = 1000000000; /* Frequency, in Hz */\n"
		"\t/* clock value offset from Epoch is: offset * (1/freq) */\n"
		"\toffset = %lld;\n"
		"};\n\n"
		"typealias integer {\n"
		"\tsize = 27; align = 1; signed = false;\n"
		"\tmap = clock.monotonic.value;\n"
		"} := uint27_clock_monotonic_t;\n\n"
		"typealias integer {\n"
		"\tsize = 32; align = 8; signed = false;\n"
		"\tmap = clock.monotonic.value;\n"
		"} := uint32_clock_monotonic_t;\n\n"
		"typealias integer {\n"
		"\tsize = 64; align = 8; signed = false;\n"
		"\tmap = clock.monotonic.value;\n"
		"} := uint64_clock_monotonic_t;\n\n",
		pyl_clock_uuid, (long long)s->clock_offset);
}

static int pyl_meta_headers(struct pyl_metadata_cache *c)
{
	return pyl_meta(c,
		"struct packet_context {\n"
		"\tuint64_clock_monotonic_t timestamp_begin;\n"
		"\tuint64_clock_monotonic_t timestamp_end;\n"
		"\tuint64_t content_size;\n"
		"\tuint64_t packet_size;\n"
		"\tuint64_t packet_seq_num;\n"
		"\tunsigned long events_discarded;\n"
		"\tuint32_t cpu_id;\n"
		"};\n\n"
		"struct event_header_compact {\n"
		"\tenum : uint5_t { compact = 0 ... 30, extended = 31 } id;\n"
		"\tvariant <id> {\n"
		"\t\tstruct {\n"
		"\t\t\tuint27_clock_monotonic_t timestamp;\n"
		"\t\t} compact;\n"
		"\t\tstruct {\n"
		"\t\t\tuint32_t id;\n"
		"\t\t\tuint64_clock_monotonic_t timestamp;\n"
		"\t\t} extended;\n"
		"\t} v;\n"
		"} align(8);\n\n"
		"struct event_header_large {\n"
		"\tenum : uint16_t { compact = 0 ... 65534, extended = 65535 } id;\n"
		"\tvariant <id> {\n"
		"\t\tstruct {\n"
		"\t\t\tuint32_clock_monotonic_t timestamp;\n"
		"\t\t} compact;\n"
		"\t\tstruct {\n"
		"\t\t\tuint32_t id;\n"
		"\t\t\tuint64_clock_monotonic_t timestamp;\n"
		"\t\t} extended;\n"
		"\t} v;\n"
		"} align(8);\n\n");
}

static int pyl_meta_stream(struct pyl_channel *chan, struct pyl_metadata_cache *c)
{
	int ret = pyl_meta(c,
		"stream {\n"
		"\tid = %u;\n"
		"\tevent.header := struct %s;\n"
		"\tpacket.context := struct packet_context;\n",
		chan->id, chan->header_type == PYL_HEADER_LARGE ?
		"event_header_large" : "event_header_compact");

	if (!ret && chan->ctx.nr)
		ret = pyl_meta(c, "\tevent.context := struct {\n%s\t};\n",
			       chan->ctx.tsdl);
	return ret ?: pyl_meta(c, "};\n\n");
}

static int pyl_meta_event(struct pyl_event *ev, struct pyl_metadata_cache *c)
{
	return pyl_meta(c,
		"event {\n"
		"\tname = \"%s\";\n"
		"\tid = %u;\n"
		"\tstream_id = %u;\n"
		"\tfields := struct {\n"
		"%s"
		"\t};\n"
		"};\n\n",
		ev->name, ev->id, ev->chan->id, ev->layout->tsdl);
}

/*
 * Append everything not yet described.  One call is one transaction: the
 * cache lock is held throughout, so readers only see whole declarations.
 * Caller holds pyl_mutex and the session is active.
 */
int pyl_metadata_dump(struct pyl_session *session)
{
	struct pyl_metadata_cache *c = session->meta;
	struct pyl_channel *chan;
	struct pyl_event *ev;
	size_t start;
	int ret = 0;

	mutex_lock(&c->lock);
	start = c->len;
	if (!session->metadata_dumped) {
		ret = pyl_meta_trace(session, c);
		ret = ret ?: pyl_meta_env(session, c);
		ret = ret ?: pyl_meta_clock(session, c);
		ret = ret ?: pyl_meta_headers(c);
		if (!ret)
			session->metadata_dumped = true;
	}
	list_for_each_entry(chan, &session->chans, node) {
		if (ret || chan->is_metadata)
			continue;
		if (!chan->metadata_dumped) {
			ret = pyl_meta_stream(chan, c);
			if (ret)
				break;
			chan->metadata_dumped = true;
		}
		list_for_each_entry(ev, &chan->events, node) {
			if (ev->metadata_dumped)
				continue;
			ret = pyl_meta_event(ev, c);
			if (ret)
				break;
			ev->metadata_dumped = true;
		}
	}
	mutex_unlock(&c->lock);
	if (c->len != start)
		wake_up_interruptible(&c->wait);
	if (ret)
		pr_warn_ratelimited("pylttng: metadata incomplete (%d)\n", ret);
	return ret;
}

/*
 * SESSION_METADATA_REGEN (`lttng regenerate metadata`): write the whole text
 * again, with the clock offset measured now, as lttng-modules does once the
 * wall clock has been set.  The version tells readers, and through
 * GET_METADATA_VERSION the consumer, to start over.  pyl_mutex held.
 */
int pyl_metadata_regenerate(struct pyl_session *session)
{
	struct pyl_metadata_cache *c = session->meta;
	struct pyl_channel *chan;
	struct pyl_event *ev;

	mutex_lock(&c->lock);
	WRITE_ONCE(c->len, 0);
	WRITE_ONCE(c->version, c->version + 1);
	session->clock_offset = ktime_get_real_ns() - ktime_get_mono_fast_ns();
	session->metadata_dumped = false;
	list_for_each_entry(chan, &session->chans, node) {
		chan->metadata_dumped = false;
		list_for_each_entry(ev, &chan->events, node)
			ev->metadata_dumped = false;
	}
	mutex_unlock(&c->lock);
	return pyl_metadata_dump(session);
}

bool pyl_metadata_pending(struct pyl_metadata_cache *cache,
			  const struct pyl_metadata_reader *reader)
{
	return READ_ONCE(cache->version) != READ_ONCE(reader->version) ||
	       READ_ONCE(cache->len) > READ_ONCE(reader->out);
}

/*
 * Wrap the reader's next slice of the text in a metadata packet and hand it
 * to the reader of the metadata buffer rb; reader->held is the length of
 * text it carries, consumed only when the reader puts it with
 * PUT_NEXT_SUBBUF.  A reader of an older version of the text starts the new
 * one from its beginning.  The buffer's read lock held.
 */
int pyl_metadata_get_next(struct pyl_metadata_cache *cache, struct pyl_rb *rb,
			  struct pyl_metadata_reader *reader, bool *coherent)
{
	struct pyl_metadata_packet_header h;
	size_t avail, len, out;
	bool finalized;
	int ret;

	if (pyl_rb_holds_packet(rb))
		return -EBUSY;
	finalized = pyl_rb_finalized(rb);
	mutex_lock(&cache->lock);
	if (reader->version != cache->version) {
		WRITE_ONCE(reader->version, cache->version);
		WRITE_ONCE(reader->out, 0);
	}
	out = reader->out;
	if (out >= cache->len) {
		mutex_unlock(&cache->lock);
		return finalized ? -ENODATA : -EAGAIN;
	}
	avail = min_t(size_t, cache->len - out, pyl_rb_subbuf_size(rb) - sizeof(h));
	len = sizeof(h) + avail;
	h = (struct pyl_metadata_packet_header) {
		.magic = PYL_METADATA_MAGIC,
		.content_size = len * BITS_PER_BYTE,
		.packet_size = PAGE_ALIGN(len) * BITS_PER_BYTE,
		.major = 1,
		.minor = 8,
	};
	memcpy(h.uuid, cache->uuid, sizeof(h.uuid));
	ret = pyl_rb_write_metadata_packet(rb, &h, sizeof(h), cache->data + out,
					   avail);
	if (!ret) {
		reader->held = avail;
		*coherent = out + avail == cache->len;
	}
	mutex_unlock(&cache->lock);
	return ret;
}
