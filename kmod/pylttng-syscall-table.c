// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-syscall-table.c - system call descriptions from the kernel's
 * own syscall metadata (CONFIG_FTRACE_SYSCALLS).
 *
 * The kernel keeps one struct syscall_metadata per SYSCALL_DEFINE (name,
 * argument types and names as C text).  Its number-indexed table,
 * syscalls_metadata, is private: this is the only file that finds it, by
 * kallsyms, or else through the __syscalls_metadata section.  At module
 * load each native (and 32-bit compat) number gets an immutable description that the probes
 * read without locking: argument names and types as LTTng-modules names
 * them, user strings for path-like char pointers, and the entry/exit
 * placement LTTng-modules uses (outputs such as read's buf on the exit).
 */
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/unistd.h>
#include <trace/syscall.h>

#include "pylttng-ftrace.h"
#include "pylttng-syscalls.h"

static struct pyl_sc_desc *pyl_sc_descs;	/* by native number */
static unsigned int pyl_sc_count;
static struct pyl_sc_desc *pyl_sc_compat_descs;	/* by 32-bit compat number */
static unsigned int pyl_sc_compat_count;

struct pyl_sc_type {
	const char *name;
	u8 size;
	u8 is_signed;
};

/*
 * A long: the kernel's, for 32-bit compat calls too.  LTTng-modules types
 * compat events with the native prototypes (a compat read's count is 64
 * bits), the register value zero-extended.
 */
#define PYL_LONG	sizeof(long)

/* C argument types of system calls, as they appear in the metadata. */
static const struct pyl_sc_type pyl_sc_types[] = {
	{ "int", 4, 1 }, { "unsigned int", 4, 0 }, { "unsigned", 4, 0 },
	{ "long", PYL_LONG, 1 }, { "unsigned long", PYL_LONG, 0 },
	{ "size_t", PYL_LONG, 0 }, { "ssize_t", PYL_LONG, 1 },
	{ "off_t", PYL_LONG, 1 }, { "loff_t", 8, 1 },
	{ "long long", 8, 1 }, { "unsigned long long", 8, 0 },
	{ "short", 2, 1 }, { "unsigned short", 2, 0 },
	{ "umode_t", 2, 0 }, { "old_uid_t", 2, 0 }, { "old_gid_t", 2, 0 },
	{ "pid_t", 4, 1 }, { "uid_t", 4, 0 }, { "gid_t", 4, 0 },
	{ "qid_t", 4, 0 }, { "key_t", 4, 1 }, { "key_serial_t", 4, 1 },
	{ "clockid_t", 4, 1 }, { "timer_t", 4, 1 }, { "mqd_t", 4, 1 },
	{ "rwf_t", 4, 1 }, { "__kernel_old_time_t", PYL_LONG, 1 },
	{ "aio_context_t", PYL_LONG, 0 },
	{ "u8", 1, 0 }, { "u16", 2, 0 }, { "u32", 4, 0 }, { "u64", 8, 0 },
	{ "s32", 4, 1 }, { "s64", 8, 1 },
	{ "__u32", 4, 0 }, { "__u64", 8, 0 }, { "__s32", 4, 1 },
};

/*
 * Pointers the kernel both reads and writes: recorded at entry and exit.
 * Other pointers are inputs when const, outputs otherwise.
 */
static const struct { const char *sc, *arg; } pyl_sc_inout[] = {
	{ "poll", "ufds" }, { "ppoll", "ufds" },
	{ "select", "inp" }, { "select", "outp" }, { "select", "exp" },
	{ "select", "tvp" }, { "pselect6", "inp" }, { "pselect6", "outp" },
	{ "pselect6", "exp" }, { "pselect6", "tsp" },
	{ "readv", "vec" }, { "writev", "vec" }, { "preadv", "vec" },
	{ "pwritev", "vec" }, { "preadv2", "vec" }, { "pwritev2", "vec" },
	{ "recvmsg", "msg" }, { "sendfile64", "offset" },
	{ "accept", "upeer_addrlen" }, { "accept4", "upeer_addrlen" },
	{ "getsockname", "usockaddr_len" }, { "getpeername", "usockaddr_len" },
	{ "recvfrom", "addr_len" }, { "getsockopt", "optlen" },
	{ "ioctl", "arg" }, { "futex", "uaddr" },
};

/* Path-like char pointers are copied as text (LTTng-modules' rule). */
static bool pyl_sc_is_string(const char *type, const char *arg)
{
	static const char * const words[] = {
		"name", "file", "path", "root", "put_old", "type",
	};
	const char *star = strchr(type, '*');
	size_t i;

	if (!star || strchr(star + 1, '*') || !strstr(type, "char"))
		return false;
	for (i = 0; i < ARRAY_SIZE(words); i++)
		if (strstr(arg, words[i]))
			return true;
	return false;
}

static bool pyl_sc_is_inout(const char *sc, const char *arg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pyl_sc_inout); i++)
		if (!strcmp(pyl_sc_inout[i].sc, sc) && !strcmp(pyl_sc_inout[i].arg, arg))
			return true;
	return false;
}

static void pyl_sc_int_type(const char *type, struct pyl_sc_arg *a)
{
	size_t i;

	if (str_has_prefix(type, "const "))
		type += 6;
	a->size = sizeof(long);		/* registers are longs */
	a->is_signed = 0;
	if (strchr(type, '*'))
		return;			/* pointers: unsigned addresses */
	for (i = 0; i < ARRAY_SIZE(pyl_sc_types); i++) {
		if (!strcmp(pyl_sc_types[i].name, type)) {
			a->size = pyl_sc_types[i].size;
			a->is_signed = pyl_sc_types[i].is_signed;
			return;
		}
	}
}

static void pyl_sc_describe(struct pyl_sc_desc *d, const struct syscall_metadata *m)
{
	int i;

	d->name = str_has_prefix(m->name, "sys_") ? m->name + 4 : m->name;
	d->nb_args = clamp(m->nb_args, 0, PYL_SC_MAX_ARGS);
	for (i = 0; i < d->nb_args; i++) {
		struct pyl_sc_arg *a = &d->args[i];
		const char *type = m->types[i];

		a->name = m->args[i];
		pyl_sc_int_type(type, a);
		if (pyl_sc_is_string(type, a->name)) {
			a->kind = PYL_SC_STRING;
			a->dir = PYL_SC_IN;
		} else if (pyl_sc_is_inout(d->name, a->name)) {
			a->dir = PYL_SC_INOUT;
		} else if (strchr(type, '*') && !str_has_prefix(type, "const ")) {
			a->dir = PYL_SC_OUT;
		} else {
			a->dir = PYL_SC_IN;
		}
	}
}

/* The kernel's table, or NULL: then each metadata's own syscall_nr. */
static struct syscall_metadata **pyl_sc_kernel_table(void)
{
	unsigned long addr = pyl_kallsyms_lookup("syscalls_metadata");

	return addr ? *(struct syscall_metadata ***)addr : NULL;
}

static const struct syscall_metadata *pyl_sc_section_meta(unsigned int nr)
{
	static struct syscall_metadata **start, **stop;
	struct syscall_metadata **p;

	if (!start) {
		start = (void *)pyl_kallsyms_lookup("__start_syscalls_metadata");
		stop = (void *)pyl_kallsyms_lookup("__stop_syscalls_metadata");
		if (!start || !stop)
			return NULL;
	}
	for (p = start; p < stop; p++)
		if (*p && (*p)->syscall_nr == nr)
			return *p;
	return NULL;
}

/*
 * A native system call's metadata by its name ("sys_open").  Not from the
 * __syscalls_metadata section: it is init data, freed after boot.
 */
static const struct syscall_metadata *pyl_sc_meta_by_name(const char *name,
							  struct syscall_metadata **table)
{
	unsigned int nr;

	if (!table)
		return NULL;
	for (nr = 0; nr < NR_syscalls; nr++)
		if (table[nr] && table[nr]->name && !strcmp(table[nr]->name, name))
			return table[nr];
	return NULL;
}

static void pyl_sc_set_canon(struct pyl_sc_desc *descs, unsigned int nr)
{
	unsigned int i;

	descs[nr].canon = nr;
	for (i = 0; i < nr; i++) {
		if (descs[i].name && !strcmp(descs[i].name, descs[nr].name)) {
			descs[nr].canon = i;
			return;
		}
	}
}

/*
 * A SYSCALL_DEFINE without a native number (waitpid, socketcall, ...) is
 * in no table once the __syscalls_metadata section is freed, but its
 * metadata, the static __syscall_meta__<name>, stays: found by kallsyms.
 */
static const struct syscall_metadata *pyl_sc_meta_by_symbol(const char *name)
{
	const struct syscall_metadata *m;
	char sym[KSYM_NAME_LEN];

	if (!str_has_prefix(name, "sys_"))
		return NULL;
	if (snprintf(sym, sizeof(sym), "__syscall_meta__%s", name + 4) >= sizeof(sym))
		return NULL;
	m = (const void *)pyl_kallsyms_lookup(sym);
	return m && m->name && !strcmp(m->name, name) ? m : NULL;
}

/*
 * The compat table: the ia32 entry points the kernel build listed, each
 * described by the metadata of its native SYSCALL_DEFINE (same name and
 * arguments; compat wrappers have no metadata of their own).  Those whose
 * SYSCALL_DEFINE this kernel does not build (ipc, old_mmap, ...) are
 * recorded as compat_syscall_*_unknown, as LTTng-modules records calls
 * it has no description of.
 */
static int pyl_sc_compat_init(struct syscall_metadata **table)
{
	const struct syscall_metadata *m;
	const char *sym;
	unsigned int nr;

	pyl_sc_compat_count = pyl_sc_compat_syms_nr();
	if (!pyl_sc_compat_count)
		return 0;
	pyl_sc_compat_descs = kcalloc(pyl_sc_compat_count, sizeof(*pyl_sc_compat_descs),
				      GFP_KERNEL);
	if (!pyl_sc_compat_descs)
		return -ENOMEM;
	for (nr = 0; nr < pyl_sc_compat_count; nr++) {
		sym = pyl_sc_compat_sym(nr);
		if (!sym || !strcmp(sym, "sys_ni_syscall"))
			continue;
		m = pyl_sc_meta_by_name(sym, table);
		if (!m)
			m = pyl_sc_meta_by_symbol(sym);
		if (!m)
			continue;
		pyl_sc_describe(&pyl_sc_compat_descs[nr], m);
		pyl_sc_set_canon(pyl_sc_compat_descs, nr);
	}
	return 0;
}

int pyl_sc_table_init(void)
{
	struct syscall_metadata **table = pyl_sc_kernel_table();
	const struct syscall_metadata *m;
	unsigned int nr;
	int ret;

	pyl_sc_count = NR_syscalls;
	pyl_sc_descs = kcalloc(pyl_sc_count, sizeof(*pyl_sc_descs), GFP_KERNEL);
	if (!pyl_sc_descs)
		return -ENOMEM;
	for (nr = 0; nr < pyl_sc_count; nr++) {
		m = table ? table[nr] : pyl_sc_section_meta(nr);
		if (!m || !m->name)
			continue;
		pyl_sc_describe(&pyl_sc_descs[nr], m);
		pyl_sc_set_canon(pyl_sc_descs, nr);
	}
	ret = pyl_sc_compat_init(table);
	if (ret)
		pyl_sc_table_exit();
	return ret;
}

void pyl_sc_table_exit(void)
{
	kfree(pyl_sc_descs);
	pyl_sc_descs = NULL;
	kfree(pyl_sc_compat_descs);
	pyl_sc_compat_descs = NULL;
}

unsigned int pyl_sc_compat_nr(void)
{
	return pyl_sc_compat_count;
}

/* NULL for numbers without metadata: recorded as "unknown". */
const struct pyl_sc_desc *pyl_sc_compat_desc(unsigned int nr)
{
	if (nr >= pyl_sc_compat_count || !pyl_sc_compat_descs[nr].name)
		return NULL;
	return &pyl_sc_compat_descs[nr];
}

unsigned int pyl_sc_nr(void)
{
	return pyl_sc_count;
}

/* NULL for numbers without metadata: recorded as "unknown". */
const struct pyl_sc_desc *pyl_sc_desc(unsigned int nr)
{
	if (nr >= pyl_sc_count || !pyl_sc_descs[nr].name)
		return NULL;
	return &pyl_sc_descs[nr];
}
