/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng-context.h - per-channel contexts recorded with every event.
 */
#ifndef _PYLTTNG_CONTEXT_H
#define _PYLTTNG_CONTEXT_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/hashtable.h>

#include "pylttng-abi.h"
#include "pylttng-cpu-perf.h"

struct pyl_channel;

#define PYL_CTX_MAX_FIELDS	128
#define PYL_CTX_MAX_LEN		4096	/* bytes of one event's context */
#define PYL_CALLSTACK_MAX	127	/* entries of one callstack */

/* One context field of a channel. */
struct pyl_ctx_field {
	u32 type;			/* enum pyl_abi_context_type */
	unsigned int max_len;		/* bytes it may take in a record */
	char name[PYL_SYM_NAME_LEN];	/* CTF field name, without '_' */
	/* perf counters */
	struct pyl_cpu_perf perf;	/* one counter per online CPU */
	u64 *base;			/* by CPU: count when created */
};

/* The contexts of a channel: fixed once its session has started. */
struct pyl_ctx {
	unsigned int nr;
	unsigned int max_len;
	char *tsdl;			/* members of "event.context := struct" */
	struct pyl_ctx_field *fields[PYL_CTX_MAX_FIELDS];
};

int pyl_ctx_add(struct pyl_channel *chan, const struct pyl_abi_context *param);
void pyl_ctx_free(struct pyl_ctx *ctx);

/* Probe side: serialize the contexts in a per-CPU scratch area. */
u8 *pyl_ctx_scratch_get(void);
void pyl_ctx_scratch_put(void);
size_t pyl_ctx_record(const struct pyl_ctx *ctx, u8 *dst);
/* The current task's value of an integer context (no perf counter, text or stack). */
s64 pyl_ctx_int(u32 type);

/* pylttng-context-perf.c */
int pyl_ctx_perf_create(struct pyl_ctx_field *f, const struct pyl_abi_context *param);
void pyl_ctx_perf_destroy(struct pyl_ctx_field *f);
u64 pyl_ctx_perf_read(const struct pyl_ctx_field *f);

/* pylttng-context-stack.c */
size_t pyl_ctx_callstack(u8 *dst, bool user);

int pyl_ctx_init(void);
void pyl_ctx_exit(void);

#endif /* _PYLTTNG_CONTEXT_H */
