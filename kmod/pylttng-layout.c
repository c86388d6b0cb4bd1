// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-layout.c - turn an ftrace event's fields into CTF.
 *
 * At instantiation, each field of the kernel's trace_event_call becomes a
 * TSDL declaration and a copy operation.  In the probe, the operations
 * serialize the raw ftrace record (struct trace_entry + fields) into the
 * ring buffer.  Every CTF field is byte-aligned, as in LTTng-modules, so
 * serialization is a sequence of bounded copies.  Fields LTTng-modules
 * adds to an event (pylttng-rename.c) are read from the task whose tid
 * the record holds, looked up once per record.
 */
#include <linux/kernel.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pylttng-ftrace.h"
#include "pylttng-layout.h"

#define PYL_LAYOUT_MAX_OPS	128
#define PYL_TSDL_MAX		(16 * 1024)

struct pyl_builder {
	const char *event;
	char *tsdl;
	size_t tsdl_len;
	unsigned int nr_task_srcs;
	unsigned int nr_ops;
	struct pyl_op ops[PYL_LAYOUT_MAX_OPS];
};

static __printf(2, 3) void pyl_tsdl(struct pyl_builder *b, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	b->tsdl_len += vscnprintf(b->tsdl + b->tsdl_len,
				  PYL_TSDL_MAX - b->tsdl_len, fmt, args);
	va_end(args);
}

static void pyl_tsdl_int(struct pyl_builder *b, unsigned int bits, bool is_signed,
			 bool text, unsigned int base, const char *name)
{
	pyl_tsdl(b, "\t\tinteger { size = %u; align = 8; signed = %d; encoding = %s; base = %u; } %s",
		 bits, is_signed, text ? "UTF8" : "none", base, name);
}

static int pyl_add_op(struct pyl_builder *b, u8 kind, u8 rel, u16 elem,
		      int src, int len)
{
	struct pyl_op *last = b->nr_ops ? &b->ops[b->nr_ops - 1] : NULL;

	if (src < 0 || src > U16_MAX || len < 0 || len > U16_MAX)
		return -EINVAL;
	if (kind == PYL_OP_COPY && last && last->kind == PYL_OP_COPY &&
	    last->src + last->len == src && last->len + len <= U16_MAX) {
		last->len += len;
		return 0;
	}
	if (b->nr_ops == PYL_LAYOUT_MAX_OPS)
		return -E2BIG;
	b->ops[b->nr_ops++] = (struct pyl_op) {
		.kind = kind, .rel = rel, .elem = elem, .src = src, .len = len,
	};
	return 0;
}

static bool pyl_is_int_size(int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* Element size of a dynamic array, guessed from its C type name. */
static unsigned int pyl_elem_size(const char *type)
{
	static const struct { const char *prefix; unsigned int size; } t[] = {
		{ "u8", 1 }, { "s8", 1 }, { "unsigned char", 1 }, { "char", 1 },
		{ "u16", 2 }, { "s16", 2 }, { "short", 2 }, { "unsigned short", 2 },
		{ "u32", 4 }, { "s32", 4 }, { "int", 4 }, { "unsigned int", 4 },
		{ "u64", 8 }, { "s64", 8 }, { "long", 8 }, { "unsigned long", 8 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++)
		if (str_has_prefix(type, t[i].prefix) &&
		    type[strlen(t[i].prefix)] == '[')
			return t[i].size;
	return 1;
}

static int pyl_add_dynamic(struct pyl_builder *b,
			   const struct pyl_ftrace_event_field *f,
			   const char *name, const char *elem_type, bool rel)
{
	unsigned int elem;

	if (f->size != 4)
		return 0;	/* not a location word: leave it out */
	if (!strcmp(elem_type, "char[]")) {
		pyl_tsdl(b, "\t\tstring _%s;\n", name);
		return pyl_add_op(b, PYL_OP_STRING, rel, 1, f->offset, 4);
	}
	elem = pyl_elem_size(elem_type);
	pyl_tsdl(b, "\t\tinteger { size = 32; align = 8; signed = 0; encoding = none; base = 10; } __%s_length;\n",
		 name);
	pyl_tsdl_int(b, elem * 8, pyl_field_is_signed(f), false, 10, "");
	pyl_tsdl(b, "_%s[ __%s_length ];\n", name, name);
	return pyl_add_op(b, PYL_OP_SEQUENCE, rel, elem, f->offset, 4);
}

static int pyl_add_array(struct pyl_builder *b,
			 const struct pyl_ftrace_event_field *f,
			 const char *name, const char *bracket)
{
	unsigned int elem = 0;
	unsigned long n;
	bool text;

	/* "T[16]", or "T[ENUM_NAME]" when the size is an enum constant */
	if (sscanf(bracket + 1, "%lu]", &n) == 1 && n && !(f->size % n))
		elem = f->size / n;
	else
		elem = pyl_elem_size(f->type);
	if (!pyl_is_int_size(elem) || f->size % elem)
		elem = 1;
	n = f->size / elem;
	text = elem == 1 && str_has_prefix(f->type, "char[");
	pyl_tsdl_int(b, elem * 8, pyl_field_is_signed(f), text, 10, "");
	pyl_tsdl(b, "_%s[%lu];\n", name, n);
	return pyl_add_op(b, PYL_OP_COPY, 0, 0, f->offset, f->size);
}

/* The fields LTTng-modules derives from the task whose tid f holds. */
static int pyl_add_task_fields(struct pyl_builder *b,
			       const struct pyl_ftrace_event_field *f,
			       const char *name)
{
	const struct pyl_task_field *extra;
	unsigned int i, nr = 0;
	int ret;

	extra = pyl_task_fields(b->event, name, &nr);
	if (!extra || f->size != 4)
		return 0;
	if (b->nr_task_srcs == PYL_LAYOUT_MAX_TASKS)
		return -E2BIG;
	b->nr_task_srcs++;
	for (i = 0; i < nr; i++) {
		if (extra[i].value == PYL_TASK_VTIDS) {
			pyl_tsdl_int(b, 8, false, false, 10, "");
			pyl_tsdl(b, "__%s_length;\n", extra[i].name);
			pyl_tsdl_int(b, 32, true, false, 10, "");
			pyl_tsdl(b, "_%s[ __%s_length ];\n", extra[i].name, extra[i].name);
		} else {	/* a tgid is signed, an inode number is not */
			pyl_tsdl_int(b, 32, extra[i].value == PYL_TASK_TGID, false, 10, "");
			pyl_tsdl(b, "_%s;\n", extra[i].name);
		}
		ret = pyl_add_op(b, PYL_OP_TASK, 0, extra[i].value, f->offset, 0);
		if (ret)
			return ret;
	}
	return 0;
}

static int pyl_add_plain_field(struct pyl_builder *b,
			       const struct pyl_ftrace_event_field *f,
			       const char *name, int bias)
{
	const char *bracket = strchr(f->type, '[');

	if (f->offset < 0 || f->size <= 0)
		return 0;
	if (str_has_prefix(f->type, "__data_loc "))
		return pyl_add_dynamic(b, f, name, f->type + 11, false);
	if (str_has_prefix(f->type, "__rel_loc "))
		return pyl_add_dynamic(b, f, name, f->type + 10, true);
	if (bracket)
		return pyl_add_array(b, f, name, bracket);
	if (pyl_is_int_size(f->size)) {
		pyl_tsdl_int(b, f->size * 8, pyl_field_is_signed(f), false,
			     strchr(f->type, '*') ? 16 : 10, "");
		pyl_tsdl(b, "_%s;\n", name);
		if (bias && f->size == 4)
			return pyl_add_op(b, PYL_OP_BIAS32, 0, bias, f->offset, 4);
	} else {
		pyl_tsdl_int(b, 8, false, false, 16, "");
		pyl_tsdl(b, "_%s[%d];\n", name, f->size);
	}
	return pyl_add_op(b, PYL_OP_COPY, 0, 0, f->offset, f->size);
}

static int pyl_add_field(const struct pyl_ftrace_event_field *f, void *arg)
{
	struct pyl_builder *b = arg;
	int bias = 0;
	const char *name = pyl_rename_field(b->event, f->name, &bias);
	int ret = pyl_add_plain_field(b, f, name, bias);

	return ret ?: pyl_add_task_fields(b, f, name);
}

/* Caller holds event_mutex (through pyl_ftrace_for_each). */
struct pyl_layout *pyl_layout_build(struct trace_event_call *call,
				    const char *event_name)
{
	struct pyl_layout *layout = NULL;
	struct pyl_builder *b;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return NULL;
	b->event = event_name;
	b->tsdl = kmalloc(PYL_TSDL_MAX, GFP_KERNEL);
	if (!b->tsdl)
		goto out;
	b->tsdl[0] = '\0';
	if (pyl_ftrace_for_each_field(call, pyl_add_field, b))
		goto out;
	layout = kzalloc(struct_size(layout, ops, b->nr_ops), GFP_KERNEL);
	if (!layout)
		goto out;
	layout->tsdl = kstrdup(b->tsdl, GFP_KERNEL);
	if (!layout->tsdl) {
		kfree(layout);
		layout = NULL;
		goto out;
	}
	layout->nr_ops = b->nr_ops;
	memcpy(layout->ops, b->ops, b->nr_ops * sizeof(b->ops[0]));
out:
	kfree(b->tsdl);
	kfree(b);
	return layout;
}

void pyl_layout_free(struct pyl_layout *layout)
{
	if (!layout)
		return;
	kfree(layout->tsdl);
	kfree(layout);
}

/* Locate the bytes of a __data_loc/__rel_loc field; false if malformed. */
static bool pyl_dyn_data(const struct pyl_op *op, const u8 *rec, u32 rec_size,
			 const u8 **data, u32 *len)
{
	u32 loc, off;

	if (op->src + 4 > rec_size)
		return false;
	memcpy(&loc, rec + op->src, 4);
	off = loc & 0xffff;
	*len = loc >> 16;
	if (op->rel)
		off += op->src + 4;
	if (off > rec_size || *len > rec_size - off)
		return false;
	*data = rec + off;
	return true;
}

/* What the record's tid at src names, from the kernel's pid hash. */
static void pyl_task_lookup(struct pyl_task_info *t, const u8 *rec, u32 rec_size)
{
	struct task_struct *task;
	struct pid *pid = NULL;
	unsigned int i;
	s32 tid = 0;

	t->tgid = 0;
	t->ns_inum = 0;
	t->nr_vtids = 0;
	if (t->src + 4 <= rec_size)
		memcpy(&tid, rec + t->src, 4);
	rcu_read_lock();
	if (tid > 0)
		pid = find_pid_ns(tid, &init_pid_ns);
	task = pid ? pid_task(pid, PIDTYPE_PID) : NULL;
	if (task) {
		t->tgid = task->tgid;
		t->ns_inum = ns_of_pid(pid)->ns.inum;
		t->nr_vtids = min_t(unsigned int, pid->level + 1, PYL_MAX_PID_NS_LEVEL);
		for (i = 0; i < t->nr_vtids; i++)
			t->vtids[i] = pid->numbers[i].nr;
	}
	rcu_read_unlock();
}

static const struct pyl_task_info *pyl_env_task(const struct pyl_layout_env *env,
						u16 src)
{
	unsigned int i;

	for (i = 0; i < env->nr_tasks; i++)
		if (env->tasks[i].src == src)
			return &env->tasks[i];
	return NULL;
}

/* Looks the task up the first time the record names it. */
static const struct pyl_task_info *pyl_env_add_task(struct pyl_layout_env *env,
						    u16 src, const u8 *rec, u32 rec_size)
{
	const struct pyl_task_info *found = pyl_env_task(env, src);
	struct pyl_task_info *t;

	if (found)
		return found;
	if (env->nr_tasks == PYL_LAYOUT_MAX_TASKS)
		return NULL;	/* the builder allows no more */
	t = &env->tasks[env->nr_tasks++];
	t->src = src;
	pyl_task_lookup(t, rec, rec_size);
	return t;
}

static size_t pyl_task_value_size(u16 value, const struct pyl_task_info *t)
{
	if (value == PYL_TASK_VTIDS)
		return 1 + (t ? t->nr_vtids * sizeof(s32) : 0);
	return 4;
}

static u8 *pyl_task_value_write(u16 value, const struct pyl_task_info *t, u8 *dst)
{
	u32 v = 0;
	u8 n;

	switch (value) {
	case PYL_TASK_VTIDS:
		n = t ? t->nr_vtids : 0;
		*dst = n;
		if (n)
			memcpy(dst + 1, t->vtids, n * sizeof(s32));
		return dst + 1 + n * sizeof(s32);
	case PYL_TASK_TGID:
		v = t ? t->tgid : 0;
		break;
	case PYL_TASK_PIDNS_INUM:
		v = t ? t->ns_inum : 0;
		break;
	}
	memcpy(dst, &v, 4);
	return dst + 4;
}

/* Bytes the payload takes; env is filled for pyl_layout_write(). */
size_t pyl_layout_size(const struct pyl_layout *layout, const u8 *rec,
		       u32 rec_size, struct pyl_layout_env *env)
{
	const struct pyl_op *op;
	const u8 *data;
	size_t total = 0;
	u32 len;

	env->nr_tasks = 0;
	for (op = layout->ops; op < layout->ops + layout->nr_ops; op++) {
		switch (op->kind) {
		case PYL_OP_TASK:
			total += pyl_task_value_size(op->elem,
				pyl_env_add_task(env, op->src, rec, rec_size));
			break;
		case PYL_OP_COPY:
		case PYL_OP_BIAS32:
			total += op->len;
			break;
		case PYL_OP_STRING:
			if (pyl_dyn_data(op, rec, rec_size, &data, &len))
				total += strnlen(data, len);
			total += 1;
			break;
		case PYL_OP_SEQUENCE:
			if (pyl_dyn_data(op, rec, rec_size, &data, &len))
				total += len - len % op->elem;
			total += 4;
			break;
		}
	}
	return total;
}

void pyl_layout_write(const struct pyl_layout *layout, const u8 *rec,
		      u32 rec_size, const struct pyl_layout_env *env, u8 *dst)
{
	const struct pyl_op *op;
	const u8 *data = rec;
	u32 len, count;
	s32 val;

	for (op = layout->ops; op < layout->ops + layout->nr_ops; op++) {
		switch (op->kind) {
		case PYL_OP_TASK:
			dst = pyl_task_value_write(op->elem,
						   pyl_env_task(env, op->src), dst);
			break;
		case PYL_OP_COPY:
			if (op->src + op->len <= rec_size)
				memcpy(dst, rec + op->src, op->len);
			else
				memset(dst, 0, op->len);
			dst += op->len;
			break;
		case PYL_OP_BIAS32:
			val = 0;
			if (op->src + 4 <= rec_size)
				memcpy(&val, rec + op->src, 4);
			val += (s16)op->elem;
			memcpy(dst, &val, 4);
			dst += 4;
			break;
		case PYL_OP_STRING:
			if (!pyl_dyn_data(op, rec, rec_size, &data, &len))
				len = 0;
			len = len ? strnlen(data, len) : 0;
			memcpy(dst, data, len);
			dst[len] = '\0';
			dst += len + 1;
			break;
		case PYL_OP_SEQUENCE:
			if (!pyl_dyn_data(op, rec, rec_size, &data, &len))
				len = 0;
			count = len / op->elem;
			memcpy(dst, &count, 4);
			memcpy(dst + 4, data, count * op->elem);
			dst += 4 + count * op->elem;
			break;
		}
	}
}
