/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng-stub.h - body of the modules named as LTTng-modules' own.
 *
 * The stock lttng-sessiond loads its control modules with libkmod by
 * module name (kmod_module_new_from_name), which does not resolve
 * aliases.  Each name it requires is therefore a real, empty module whose
 * only purpose is its dependency on pylttng.ko: loading it loads the
 * tracer, unloading the last of them lets the tracer go.
 */
#ifndef _PYLTTNG_STUB_H
#define _PYLTTNG_STUB_H

#include <linux/module.h>

int pylttng_stub_attach(void);

static int __init pyl_stub_init(void)
{
	return pylttng_stub_attach();
}

static void __exit pyl_stub_exit(void)
{
}

module_init(pyl_stub_init);
module_exit(pyl_stub_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LTTng-modules name that loads the pylttng tracer");
MODULE_SOFTDEP("pre: pylttng");

#endif /* _PYLTTNG_STUB_H */
