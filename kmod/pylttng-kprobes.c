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
 * kprobe is registered only while one of its events is armed.  The
 * enabler's state (en->priv, also each event's ev->priv) is the probe:
 * its location and its kprobe or kretprobe.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pylttng.h"
#include "pylttng-compat.h"
#include "pylttng-layout.h"
#include "pylttng-source.h"

#define PYL_KP_TSDL_IP	"\t\tinteger { size = %u; align = 8; signed = 0; encoding = none; base = 16; } _ip;\n"
#define PYL_KP_TSDL_PIP	"\t\tinteger { size = %u; align = 8; signed = 0; encoding = none; base = 16; } _parent_ip;\n"

/* The state of one enabler, shared by its events. */
struct pyl_kprobe {
	struct pyl_abi_kprobe where;	/* from the EVENT ioctl */
	struct kprobe kp;
	struct kretprobe krp;
	bool ret;			/* kretprobe */
	bool registered;
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

static void pyl_kp_setup(struct pyl_kprobe *p)
{
	struct kprobe *kp = p->ret ? &p->krp.kp : &p->kp;

	/* Registration state is reset: a probe may be registered again. */
	if (p->ret)
		memset(&p->krp, 0, sizeof(p->krp));
	else
		memset(&p->kp, 0, sizeof(p->kp));
	if (p->where.symbol_name[0]) {
		kp->symbol_name = p->where.symbol_name;
		kp->offset = p->where.offset;
	} else {
		kp->addr = (kprobe_opcode_t *)(unsigned long)p->where.addr;
	}
	if (p->ret) {
		p->krp.entry_handler = pyl_krp_entry;
		p->krp.handler = pyl_krp_exit;
		p->krp.maxactive = 0;	/* kernel default */
	} else {
		kp->pre_handler = pyl_kp_pre;
	}
}

static int pyl_kp_register(struct pyl_kprobe *p)
{
	int ret;

	pyl_kp_setup(p);
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
static int pyl_kp_enabler_init(struct pyl_enabler *en,
			       const struct pyl_abi_event *param)
{
	struct pyl_kprobe *p;
	int ret;

	if (en->glob)
		return -EINVAL;
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	/* kprobe and kretprobe share the layout of their prefix */
	memcpy(&p->where, &param->u.kprobe, sizeof(p->where));
	p->where.symbol_name[PYL_SYM_NAME_LEN - 1] = '\0';
	if (!p->where.symbol_name[0] && !p->where.addr) {
		kfree(p);
		return -EINVAL;
	}
	p->ret = en->instrumentation == PYL_ABI_KRETPROBE;
	ret = pyl_kp_register(p);
	if (ret) {
		kfree(p);
		return -EINVAL;
	}
	pyl_kp_unregister(p);
	en->priv = p;
	return 0;
}

/* Channel teardown: the events are freed, the probe unregistered. */
static void pyl_kp_enabler_free(struct pyl_enabler *en)
{
	struct pyl_kprobe *p = en->priv;

	WARN_ON_ONCE(p->registered);
	kfree(p);
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
					  const char *suffix)
{
	struct pyl_kprobe *p = en->priv;

	return pyl_event_add(en->chan, &pyl_kprobe_source,
			     kasprintf(GFP_KERNEL, "%s%s", en->name, suffix),
			     pyl_kp_layout(p->ret), p);
}

/* The events of a new KPROBE/KRETPROBE enabler.  Caller holds pyl_mutex. */
static void pyl_kp_enabler_add(struct pyl_enabler *en)
{
	struct pyl_kprobe *p = en->priv;

	if (p->ret) {
		p->ev[0] = pyl_kp_add_event(en, "_entry");
		p->ev[1] = pyl_kp_add_event(en, "_exit");
	} else {
		p->ev[0] = pyl_kp_add_event(en, "");
	}
}

/* Only its own enabler selects a probe's event. */
static bool pyl_kp_matches(const struct pyl_enabler *en, const struct pyl_event *ev)
{
	return en->priv == ev->priv;
}

static void pyl_kp_arm(struct pyl_event *ev)
{
	struct pyl_kprobe *p = ev->priv;

	if (!p->registered && pyl_kp_register(p)) {
		pr_warn_ratelimited("pylttng: cannot register probe %s\n", ev->name);
		return;
	}
	WRITE_ONCE(ev->armed, true);
	p->armed++;
}

/* Unregistering waits for running handlers. */
static void pyl_kp_disarm(struct pyl_event *ev)
{
	struct pyl_kprobe *p = ev->priv;

	WRITE_ONCE(ev->armed, false);
	if (!--p->armed)
		pyl_kp_unregister(p);
}

/* Channel teardown: the event is disarmed; the probe is its enabler's. */
static void pyl_kp_free(struct pyl_event *ev)
{
	struct pyl_kprobe *p = ev->priv;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(p->ev); i++)
		if (p->ev[i] == ev)
			p->ev[i] = NULL;
}

const struct pyl_event_source_ops pyl_kprobe_source = {
	.enablers = BIT(PYL_ABI_KPROBE) | BIT(PYL_ABI_KRETPROBE),
	.enabler_init = pyl_kp_enabler_init,
	.enabler_free = pyl_kp_enabler_free,
	.enabler_add = pyl_kp_enabler_add,
	.matches = pyl_kp_matches,
	.arm = pyl_kp_arm,
	.disarm = pyl_kp_disarm,
	.free = pyl_kp_free,
};
