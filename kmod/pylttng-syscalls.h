/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng-syscalls.h - system call events.
 *
 * The table (pylttng-syscall-table.c) describes each native system call
 * number from the kernel's own syscall metadata: name, and for each
 * argument its CTF type, whether it is a user string, and whether it is
 * recorded at entry, at exit or both, as LTTng-modules records it.
 */
#ifndef _PYLTTNG_SYSCALLS_H
#define _PYLTTNG_SYSCALLS_H

#include <linux/types.h>

#define PYL_SC_MAX_ARGS		6
#define PYL_SC_STR_MAX		4096	/* bytes of a user string, NUL included */

enum pyl_sc_arg_kind {
	PYL_SC_INT,
	PYL_SC_STRING,			/* const char __user * copied as text */
};

/* Where an argument is recorded. */
enum pyl_sc_dir {
	PYL_SC_IN	= 1,		/* entry event */
	PYL_SC_OUT	= 2,		/* exit event */
	PYL_SC_INOUT	= 3,
};

struct pyl_sc_arg {
	const char *name;
	u8 kind;			/* enum pyl_sc_arg_kind */
	u8 dir;				/* enum pyl_sc_dir */
	u8 size;			/* bytes of an integer */
	u8 is_signed;
};

struct pyl_sc_desc {
	const char *name;		/* without "sys_" */
	unsigned int canon;		/* first number with this name */
	unsigned int nb_args;
	struct pyl_sc_arg args[PYL_SC_MAX_ARGS];
};

/* pylttng-syscall-table.c */
int pyl_sc_table_init(void);
void pyl_sc_table_exit(void);
unsigned int pyl_sc_nr(void);
const struct pyl_sc_desc *pyl_sc_desc(unsigned int nr);
unsigned int pyl_sc_compat_nr(void);
const struct pyl_sc_desc *pyl_sc_compat_desc(unsigned int nr);

/* pylttng-syscall-compat.c: the 32-bit compat table of the kernel build */
unsigned int pyl_sc_compat_syms_nr(void);
const char *pyl_sc_compat_sym(unsigned int nr);

#endif /* _PYLTTNG_SYSCALLS_H */
