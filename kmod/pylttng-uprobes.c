// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-uprobes.c - user-space probes: UPROBE events.
 *
 * As with LTTng-modules, the EVENT ioctl names the binary by a file
 * descriptor (the inode is kept, the fd is not), and each probe point is
 * then added with ADD_CALLSITE on the event fd: a file offset in that
 * binary (the session daemon resolves symbols).  The enabler is one event
 * named as the user named it, recording the probed address ("ip").  The
 * uprobes are registered only while the event is armed.  The enabler's
 * state (en->priv, also its event's ev->priv) is the binary with its
 * callsites.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pylttng.h"
#include "pylttng-compat.h"
#include "pylttng-layout.h"
#include "pylttng-source.h"

#define PYL_UP_TSDL_IP	"\t\tinteger { size = %u; align = 8; signed = 0; encoding = none; base = 16; } _ip;\n"

/* A probe point: one uprobe consumer at one offset of the binary. */
struct pyl_uprobe_site {
	struct list_head node;		/* in pyl_uprobe.sites */
	struct pyl_uprobe *up;
	struct uprobe_consumer uc;
	struct pyl_uprobe_handle h;
	loff_t offset;
	bool registered;
};

/* The binary of an UPROBE enabler, its callsites and its event. */
struct pyl_uprobe {
	struct inode *inode;		/* igrab()bed */
	struct list_head sites;
	struct pyl_event *ev;		/* read by the handlers */
	bool armed;
};

/* Runs in the probed task, preemptible: the buffer wants its CPU fixed. */
static PYL_UPROBE_HANDLER(pyl_up_handler, uc, regs)
{
	struct pyl_uprobe_site *site = container_of(uc, struct pyl_uprobe_site, uc);
	struct pyl_event *ev = READ_ONCE(site->up->ev);
	unsigned long ip = instruction_pointer(regs);
	struct pyl_rb_ctx ctx;
	u8 *dst;

	if (!ev || !READ_ONCE(ev->armed))
		return 0;
	preempt_disable();
	dst = pyl_event_reserve(ev, sizeof(ip), &ctx);
	if (dst) {
		memcpy(dst, &ip, sizeof(ip));
		pyl_rb_commit(&ctx);
	}
	preempt_enable();
	return 0;
}

static int pyl_up_site_register(struct pyl_uprobe_site *site)
{
	int ret;

	memset(&site->uc, 0, sizeof(site->uc));
	site->uc.handler = pyl_up_handler;
	ret = pyl_uprobe_register(site->up->inode, site->offset, &site->uc, &site->h);
	site->registered = !ret;
	return ret;
}

static void pyl_up_site_unregister(struct pyl_uprobe_site *site)
{
	if (!site->registered)
		return;
	pyl_uprobe_unregister(site->up->inode, site->offset, &site->uc, &site->h);
	site->registered = false;
}

/* The binary must be a regular file: uprobes live in its page cache. */
static int pyl_up_enabler_init(struct pyl_enabler *en,
			       const struct pyl_abi_event *param)
{
	struct pyl_uprobe *up;
	struct inode *inode;
	struct file *file;

	if (en->glob)
		return -EINVAL;
	file = fget(param->u.uprobe.fd);
	if (!file)
		return -EBADF;
	inode = S_ISREG(file_inode(file)->i_mode) ? igrab(file_inode(file)) : NULL;
	fput(file);
	if (!inode)
		return -EBADF;
	up = kzalloc(sizeof(*up), GFP_KERNEL);
	if (!up) {
		iput(inode);
		return -ENOMEM;
	}
	up->inode = inode;
	INIT_LIST_HEAD(&up->sites);
	en->priv = up;
	return 0;
}

/* Channel teardown: the event is freed and disarmed already. */
static void pyl_up_enabler_free(struct pyl_enabler *en)
{
	struct pyl_uprobe *up = en->priv;
	struct pyl_uprobe_site *site, *next;

	list_for_each_entry_safe(site, next, &up->sites, node) {
		pyl_up_site_unregister(site);
		list_del(&site->node);
		kfree(site);
	}
	iput(up->inode);
	kfree(up);
}

static struct pyl_layout *pyl_up_layout(void)
{
	struct pyl_layout *layout = kzalloc(sizeof(*layout), GFP_KERNEL);

	if (!layout)
		return NULL;
	layout->tsdl = kasprintf(GFP_KERNEL, PYL_UP_TSDL_IP, BITS_PER_LONG);
	if (!layout->tsdl) {
		kfree(layout);
		return NULL;
	}
	return layout;
}

/* The event of a new UPROBE enabler.  Caller holds pyl_mutex. */
static void pyl_up_enabler_add(struct pyl_enabler *en)
{
	struct pyl_uprobe *up = en->priv;

	up->ev = pyl_event_add(en->chan, &pyl_uprobe_source,
			       kstrdup(en->name, GFP_KERNEL), pyl_up_layout(), up);
}

/* ADD_CALLSITE on the event fd: registered now if the event is armed. */
static long pyl_up_add_callsite(struct pyl_enabler *en, void __user *arg)
{
	struct pyl_uprobe *up = en->priv;
	struct pyl_abi_event_callsite cs;
	struct pyl_uprobe_site *site;
	long ret = 0;

	if (copy_from_user(&cs, arg, sizeof(cs)))
		return -EFAULT;
	if (cs.u.uprobe.offset >= (u64)i_size_read(up->inode))
		return -EINVAL;
	site = kzalloc(sizeof(*site), GFP_KERNEL);
	if (!site)
		return -ENOMEM;
	site->up = up;
	site->offset = cs.u.uprobe.offset;
	mutex_lock(&pyl_mutex);
	if (up->armed)
		ret = pyl_up_site_register(site);
	if (ret)
		kfree(site);
	else
		list_add_tail(&site->node, &up->sites);
	mutex_unlock(&pyl_mutex);
	return ret;
}

/* Only its own enabler selects the event. */
static bool pyl_up_matches(const struct pyl_enabler *en, const struct pyl_event *ev)
{
	return en->priv == ev->priv;
}

static void pyl_up_arm(struct pyl_event *ev)
{
	struct pyl_uprobe *up = ev->priv;
	struct pyl_uprobe_site *site;

	list_for_each_entry(site, &up->sites, node)
		if (!site->registered && pyl_up_site_register(site))
			pr_warn_ratelimited("pylttng: cannot register uprobe %s at 0x%llx\n",
					    ev->name, (unsigned long long)site->offset);
	up->armed = true;
	WRITE_ONCE(ev->armed, true);
}

/* Unregistering waits for running handlers. */
static void pyl_up_disarm(struct pyl_event *ev)
{
	struct pyl_uprobe *up = ev->priv;
	struct pyl_uprobe_site *site;

	WRITE_ONCE(ev->armed, false);
	up->armed = false;
	list_for_each_entry(site, &up->sites, node)
		pyl_up_site_unregister(site);
}

/* Channel teardown: the event is disarmed; the binary is its enabler's. */
static void pyl_up_free(struct pyl_event *ev)
{
	struct pyl_uprobe *up = ev->priv;

	up->ev = NULL;
}

const struct pyl_event_source_ops pyl_uprobe_source = {
	.enablers = BIT(PYL_ABI_UPROBE),
	.enabler_init = pyl_up_enabler_init,
	.enabler_free = pyl_up_enabler_free,
	.add_callsite = pyl_up_add_callsite,
	.enabler_add = pyl_up_enabler_add,
	.matches = pyl_up_matches,
	.arm = pyl_up_arm,
	.disarm = pyl_up_disarm,
	.free = pyl_up_free,
};
