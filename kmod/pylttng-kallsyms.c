// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-kallsyms.c - look up unexported kernel symbols.
 *
 * kallsyms_lookup_name() is not exported since v5.7.  A kprobe on it
 * resolves its address, which is all we need; this is the only place in
 * pylttng that does so.
 */
#include <linux/kprobes.h>

#include "pylttng-ftrace.h"

typedef unsigned long (*pyl_lookup_fn)(const char *name);

static pyl_lookup_fn pyl_lookup;

unsigned long pyl_kallsyms_lookup(const char *name)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };

	if (!pyl_lookup) {
		if (register_kprobe(&kp))
			return 0;
		pyl_lookup = (pyl_lookup_fn)kp.addr;
		unregister_kprobe(&kp);
	}
	return pyl_lookup ? pyl_lookup(name) : 0;
}
