// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-kprobes.c - dynamic kernel probes: KPROBE and KRETPROBE events.
 *
 * A KPROBE enabler is one event named as the user named it, recording the
 * probed address ("ip").  A KRETPROBE enabler (lttng --function) is two
 * events, <name>_entry and <name>_exit, recording the function address
 * and the caller's return address ("ip", "parent_ip"), as LTTng-modules
 * names them.  The probe location is checked when the enabler is created
 * (so a bad symbol fails the EVENT ioctl, as with LTTng-modules), and the
 * kprobe is registered only while one of its events is armed.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pylttng.h"
#include "pylttng-compat.h"
#include "pylttng-layout.h"

#define PYL_KP_TSDL_IP	"\t\tinteger { size = %u; align = 8; signed = 0; encoding = none; base = 16; } _ip;\n"
#define PYL_KP_TSDL_PIP	"\t\tinteger { size = %u; align = 8; signed = 0; encoding = none; base = 16; } _parent_ip;\n"

/* Shared by the events of one enabler. */
struct pyl_kprobe {
	struct kprobe kp;
	struct kretprobe krp;
	bool ret;			/* kretprobe */
	bool registered;
	unsigned int users;		/* events pointing here */
	unsigned int armed;		/* of which armed */
	struct pyl_event *ev[2];	/* kprobe: [0]; kretprobe: entry, exit */
};

static void pyl_kp_write(struct pyl_event *ev, unsigned long ip,
			 unsigned long parent, bool with_parent)
{
	unsigned long payload[2] = { ip, parent };
	size_t len = with_parent ? sizeof(payload) : sizeof(payload[0]);
	struct pyl_rb_ctx ctx;
	u8 *dst;

	if (!READ_ONCE(ev->armed))
		return;
	dst = pyl_event_reserve(ev, len, &ctx);
	if (!dst)
		return;
	memcpy(dst, payload, len);
	pyl_rb_commit(&ctx);
}

static int pyl_kp_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct pyl_kprobe *p = container_of(kp, struct pyl_kprobe, kp);
	struct pyl_event *ev = READ_ONCE(p->ev[0]);

	if (ev)			/* none while checking the location */
		pyl_kp_write(ev, (unsigned long)kp->addr, 0, false);
	return 0;
}

static void pyl_krp_write(struct kretprobe_instance *ri, int which,
			  unsigned long parent)
{
	struct kretprobe *krp = get_kretprobe(ri);
	struct pyl_event *ev;
	struct pyl_kprobe *p;

	if (!krp)
		return;
	p = container_of(krp, struct pyl_kprobe, krp);
	ev = READ_ONCE(p->ev[which]);
	if (ev)			/* none while checking the location */
		pyl_kp_write(ev, (unsigned long)krp->kp.addr, parent, true);
}

static int pyl_krp_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	pyl_krp_write(ri, 0, pyl_entry_return_address(regs));
	return 0;
}

static int pyl_krp_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	pyl_krp_write(ri, 1, get_kretprobe_retaddr(ri));
	return 0;
}

static void pyl_kp_setup(struct pyl_kprobe *p, const struct pyl_enabler *en)
{
	struct kprobe *kp = p->ret ? &p->krp.kp : &p->kp;

	/* Registration state is reset: a probe may be registered again. */
	if (p->ret)
		memset(&p->krp, 0, sizeof(p->krp));
	else
		memset(&p->kp, 0, sizeof(p->kp));
	if (en->kprobe.symbol_name[0]) {
		kp->symbol_name = en->kprobe.symbol_name;
		kp->offset = en->kprobe.offset;
	} else {
		kp->addr = (kprobe_opcode_t *)(unsigned long)en->kprobe.addr;
	}
	if (p->ret) {
		p->krp.entry_handler = pyl_krp_entry;
		p->krp.handler = pyl_krp_exit;
		p->krp.maxactive = 0;	/* kernel default */
	} else {
		kp->pre_handler = pyl_kp_pre;
	}
}

static int pyl_kp_register(struct pyl_kprobe *p, const struct pyl_enabler *en)
{
	int ret;

	pyl_kp_setup(p, en);
	ret = p->ret ? register_kretprobe(&p->krp) : register_kprobe(&p->kp);
	p->registered = !ret;
	return ret;
}

static void pyl_kp_unregister(struct pyl_kprobe *p)
{
	if (p->ret)
		unregister_kretprobe(&p->krp);
	else
		unregister_kprobe(&p->kp);
	p->registered = false;
}

/*
 * Check the location now: a bad symbol fails the EVENT ioctl.  The trial
 * probe has no events: its handlers may run meanwhile and record nothing.
 */
int pyl_kprobe_enabler_init(struct pyl_enabler *en)
{
	struct pyl_kprobe *p;
	int ret;

	en->kprobe.symbol_name[PYL_SYM_NAME_LEN - 1] = '\0';
	if (!en->kprobe.symbol_name[0] && !en->kprobe.addr)
		return -EINVAL;
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->ret = en->instrumentation == PYL_ABI_KRETPROBE;
	ret = pyl_kp_register(p, en);
	if (!ret)
		pyl_kp_unregister(p);
	kfree(p);
	return ret ? -EINVAL : 0;
}

static struct pyl_layout *pyl_kp_layout(bool with_parent)
{
	struct pyl_layout *layout = kzalloc(sizeof(*layout), GFP_KERNEL);

	if (!layout)
		return NULL;
	if (with_parent)
		layout->tsdl = kasprintf(GFP_KERNEL, PYL_KP_TSDL_IP PYL_KP_TSDL_PIP,
					 BITS_PER_LONG, BITS_PER_LONG);
	else
		layout->tsdl = kasprintf(GFP_KERNEL, PYL_KP_TSDL_IP, BITS_PER_LONG);
	if (!layout->tsdl) {
		kfree(layout);
		return NULL;
	}
	return layout;
}

static struct pyl_event *pyl_kp_add_event(struct pyl_enabler *en,
					  struct pyl_kprobe *p, const char *suffix,
					  u8 kind)
{
	struct pyl_channel *chan = en->chan;
	struct pyl_event *ev = kzalloc(sizeof(*ev), GFP_KERNEL);

	if (!ev)
		return NULL;
	ev->chan = chan;
	ev->kind = kind;
	ev->owner = en;
	ev->probe = p;
	ev->sc_nr = -1;
	ev->name = kasprintf(GFP_KERNEL, "%s%s", en->name, suffix);
	ev->layout = pyl_kp_layout(p->ret);
	if (!ev->name || !ev->layout) {
		pyl_layout_free(ev->layout);
		kfree(ev->name);
		kfree(ev);
		return NULL;
	}
	p->users++;
	pyl_channel_add_event(chan, ev);
	return ev;
}

/* The events of a new KPROBE/KRETPROBE enabler.  Caller holds pyl_mutex. */
void pyl_kprobes_instantiate(struct pyl_enabler *en)
{
	struct pyl_kprobe *p = kzalloc(sizeof(*p), GFP_KERNEL);

	if (!p)
		return;
	p->ret = en->instrumentation == PYL_ABI_KRETPROBE;
	if (p->ret) {
		p->ev[0] = pyl_kp_add_event(en, p, "_entry", PYL_EV_KRETPROBE_ENTRY);
		p->ev[1] = pyl_kp_add_event(en, p, "_exit", PYL_EV_KRETPROBE_EXIT);
	} else {
		p->ev[0] = pyl_kp_add_event(en, p, "", PYL_EV_KPROBE);
	}
	if (!p->users)
		kfree(p);
}

void pyl_kprobe_arm(struct pyl_event *ev)
{
	struct pyl_kprobe *p = ev->probe;

	if (!p->registered && pyl_kp_register(p, ev->owner)) {
		pr_warn_ratelimited("pylttng: cannot register probe %s\n", ev->name);
		return;
	}
	WRITE_ONCE(ev->armed, true);
	p->armed++;
}

/* Unregistering waits for running handlers. */
void pyl_kprobe_disarm(struct pyl_event *ev)
{
	struct pyl_kprobe *p = ev->probe;

	WRITE_ONCE(ev->armed, false);
	if (!--p->armed)
		pyl_kp_unregister(p);
}

/* Channel teardown: the event is disarmed. */
void pyl_kprobe_event_free(struct pyl_event *ev)
{
	struct pyl_kprobe *p = ev->probe;
	unsigned int i;

	if (!p)
		return;
	for (i = 0; i < ARRAY_SIZE(p->ev); i++)
		if (p->ev[i] == ev)
			p->ev[i] = NULL;
	if (!--p->users)
		kfree(p);
	ev->probe = NULL;
}
