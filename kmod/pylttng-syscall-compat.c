// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-syscall-compat.c - the 32-bit compat (x86 ia32) system call
 * numbers, from the table the kernel build generated.
 *
 * Each number maps to its native entry point's name ("sys_open"): the
 * name of its 32-bit event, and the SYSCALL_DEFINE whose metadata types
 * its arguments (pylttng-syscall-table.c).
 */
#include <linux/kernel.h>

#include "pylttng-compat.h"
#include "pylttng-syscalls.h"

#ifdef PYL_HAVE_IA32_SYSCALLS
#define __SYSCALL(nr, sym)				[nr] = #sym,
#define __SYSCALL_WITH_COMPAT(nr, native, compat)	[nr] = #native,
#define __SYSCALL_NORETURN(nr, sym)			[nr] = #sym,
static const char * const pyl_ia32_syms[] = {
#include <asm/syscalls_32.h>
};
#undef __SYSCALL
#undef __SYSCALL_WITH_COMPAT
#undef __SYSCALL_NORETURN

unsigned int pyl_sc_compat_syms_nr(void)
{
	return ARRAY_SIZE(pyl_ia32_syms);
}

const char *pyl_sc_compat_sym(unsigned int nr)
{
	return nr < ARRAY_SIZE(pyl_ia32_syms) ? pyl_ia32_syms[nr] : NULL;
}
#else
unsigned int pyl_sc_compat_syms_nr(void)
{
	return 0;
}

const char *pyl_sc_compat_sym(unsigned int nr)
{
	return NULL;
}
#endif
