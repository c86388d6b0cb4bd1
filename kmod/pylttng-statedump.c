// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-statedump.c - the lttng_statedump_* events.
 *
 * At session start and on the STATEDUMP ioctl (lttng regenerate statedump),
 * LTTng-modules records the state of the system so that analyses know it
 * at time zero: the processes and their fd tables, interrupts, block
 * devices, network interfaces, CPUs, framed by statedump_start/end.
 *
 * These are LTTng's own events, not kernel tracepoints, so their names and
 * fields are declared here (as LTTng-modules 2.13 names them), and this
 * file is their event source (pylttng-source.h).  They are listed, enabled
 * (by TRACEPOINT enablers) and described in the metadata like tracepoints;
 * an enabled one is "armed" without any probe, and the dump writes it into
 * every channel where it is armed, from the dumping task, on whatever CPU
 * it runs (preemption off around each record).
 */
#include <linux/device.h>
#include <linux/fdtable.h>
#include <linux/fs.h>
#include <linux/inetdevice.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdesc.h>
#include <linux/kernel.h>
#include <linux/netdevice.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <net/net_namespace.h>

#include "pylttng.h"
#include "pylttng-compat.h"
#include "pylttng-ftrace.h"
#include "pylttng-layout.h"
#include "pylttng-source.h"

enum pyl_sd_kind {
	PYL_SD_INT,		/* bits, signed, base */
	PYL_SD_NET32,		/* 32-bit big-endian (network order) hex */
	PYL_SD_STRING,
	PYL_SD_COMM,		/* char[TASK_COMM_LEN] text */
};

struct pyl_sd_field {
	const char *name;
	u8 kind;
	u8 bits;
	u8 is_signed;
	u8 base;
};

#define PYL_SD_S32(n)	{ n, PYL_SD_INT, 32, 1, 10 }
#define PYL_SD_U32(n)	{ n, PYL_SD_INT, 32, 0, 10 }
#define PYL_SD_U16(n)	{ n, PYL_SD_INT, 16, 0, 10 }
#define PYL_SD_U8(n)	{ n, PYL_SD_INT, 8, 0, 10 }
#define PYL_SD_HEX(n, b) { n, PYL_SD_INT, b, 0, 16 }
#define PYL_SD_STR(n)	{ n, PYL_SD_STRING }

enum pyl_sd_id {
	PYL_SD_START,
	PYL_SD_END,
	PYL_SD_PROCESS,
	PYL_SD_FD,
	PYL_SD_INTERRUPT,
	PYL_SD_BLOCK,
	PYL_SD_NETIF,
	PYL_SD_CPU,
	PYL_SD_NR,
};

static const struct pyl_sd_field pyl_sd_process[] = {
	PYL_SD_S32("tid"), PYL_SD_S32("pid"), PYL_SD_S32("ppid"),
	{ "name", PYL_SD_COMM },
	PYL_SD_S32("type"), PYL_SD_S32("mode"), PYL_SD_S32("submode"),
	PYL_SD_S32("status"), PYL_SD_U32("cpu"),
	PYL_SD_HEX("file_table_address", BITS_PER_LONG),
};

static const struct pyl_sd_field pyl_sd_fd[] = {
	PYL_SD_HEX("file_table_address", BITS_PER_LONG), PYL_SD_S32("fd"),
	{ "flags", PYL_SD_INT, 32, 0, 8 }, PYL_SD_HEX("fmode", 32),
	PYL_SD_STR("filename"),
};

static const struct pyl_sd_field pyl_sd_interrupt[] = {
	PYL_SD_U32("irq"), PYL_SD_STR("name"), PYL_SD_STR("action"),
	PYL_SD_S32("tid"),
};

static const struct pyl_sd_field pyl_sd_block[] = {
	PYL_SD_U32("dev"), PYL_SD_STR("diskname"),
};

static const struct pyl_sd_field pyl_sd_netif[] = {
	PYL_SD_STR("name"), { "address_ipv4", PYL_SD_NET32, 32, 0, 16 },
};

static const struct pyl_sd_field pyl_sd_cpu[] = {
	PYL_SD_STR("architecture"), PYL_SD_U16("cpu_id"), PYL_SD_STR("vendor"),
	PYL_SD_U8("family"), PYL_SD_U8("model"), PYL_SD_STR("model_name"),
	PYL_SD_U16("physical_id"), PYL_SD_U16("core_id"), PYL_SD_U16("cores"),
};

struct pyl_sd_event {
	const char *name;
	const struct pyl_sd_field *fields;
	unsigned int nr;
};

#define PYL_SD_EVENT(n, f)	{ n, f, ARRAY_SIZE(f) }

static const struct pyl_sd_event pyl_sd_events[PYL_SD_NR] = {
	[PYL_SD_START]		= { "lttng_statedump_start" },
	[PYL_SD_END]		= { "lttng_statedump_end" },
	[PYL_SD_PROCESS]	= PYL_SD_EVENT("lttng_statedump_process_state", pyl_sd_process),
	[PYL_SD_FD]		= PYL_SD_EVENT("lttng_statedump_file_descriptor", pyl_sd_fd),
	[PYL_SD_INTERRUPT]	= PYL_SD_EVENT("lttng_statedump_interrupt", pyl_sd_interrupt),
	[PYL_SD_BLOCK]		= PYL_SD_EVENT("lttng_statedump_block_device", pyl_sd_block),
	[PYL_SD_NETIF]		= PYL_SD_EVENT("lttng_statedump_network_interface", pyl_sd_netif),
#ifdef CONFIG_X86
	[PYL_SD_CPU]		= PYL_SD_EVENT("lttng_statedump_cpu_topology", pyl_sd_cpu),
#endif
};

static int pyl_sd_find(const char *name)
{
	int i;

	for (i = 0; i < PYL_SD_NR; i++)
		if (pyl_sd_events[i].name && !strcmp(pyl_sd_events[i].name, name))
			return i;
	return -1;
}

int pyl_statedump_for_each(pyl_ftrace_fn fn, void *arg)
{
	int i, ret;

	for (i = 0; i < PYL_SD_NR; i++) {
		if (!pyl_sd_events[i].name)
			continue;
		ret = fn(NULL, pyl_sd_events[i].name, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------ metadata */

#define PYL_SD_TSDL_MAX		2048

/* A layout with no copy operation: only its TSDL is used. */
static struct pyl_layout *pyl_sd_layout(const struct pyl_sd_event *sd)
{
	const struct pyl_sd_field *f;
	struct pyl_layout *layout;
	size_t len = 0;
	char *t;

	t = kmalloc(PYL_SD_TSDL_MAX, GFP_KERNEL);
	layout = kzalloc(sizeof(*layout), GFP_KERNEL);
	if (!t || !layout) {
		kfree(t);
		kfree(layout);
		return NULL;
	}
	t[0] = '\0';
	for (f = sd->fields; f < sd->fields + sd->nr; f++) {
		switch (f->kind) {
		case PYL_SD_STRING:
			len += scnprintf(t + len, PYL_SD_TSDL_MAX - len,
					 "\t\tstring _%s;\n", f->name);
			break;
		case PYL_SD_COMM:
			len += scnprintf(t + len, PYL_SD_TSDL_MAX - len,
					 "\t\tinteger { size = 8; align = 8; signed = 1; encoding = UTF8; base = 10; } _%s[%d];\n",
					 f->name, TASK_COMM_LEN);
			break;
		default:
			len += scnprintf(t + len, PYL_SD_TSDL_MAX - len,
					 "\t\tinteger { size = %u; align = 8; signed = %u; encoding = none; base = %u;%s } _%s;\n",
					 f->bits, f->is_signed, f->base,
					 f->kind == PYL_SD_NET32 ? " byte_order = be;" : "",
					 f->name);
		}
	}
	layout->tsdl = t;
	return layout;
}

/* ---------------------------------------------------------- the source */

/* Statedump events are selected by TRACEPOINT enablers, as tracepoints are. */
static void pyl_sd_instantiate(struct pyl_channel *chan)
{
	const struct pyl_sd_event *sd;

	for (sd = pyl_sd_events; sd < pyl_sd_events + PYL_SD_NR; sd++) {
		if (!sd->name || !pyl_channel_wants(chan, PYL_ABI_TRACEPOINT, sd->name) ||
		    pyl_event_find(chan, sd->name))
			continue;
		if (!pyl_event_add(chan, &pyl_statedump_source,
				   kstrdup(sd->name, GFP_KERNEL), pyl_sd_layout(sd), NULL))
			pr_warn("pylttng: cannot instantiate event %s\n", sd->name);
	}
}

static bool pyl_sd_matches(const struct pyl_enabler *en, const struct pyl_event *ev)
{
	return en->instrumentation == PYL_ABI_TRACEPOINT &&
	       pyl_enabler_matches(en, ev->name);
}

/* Written by pyl_statedump_run(), no probe: armed is all. */
static void pyl_sd_arm(struct pyl_event *ev)
{
	WRITE_ONCE(ev->armed, true);
}

static void pyl_sd_disarm(struct pyl_event *ev)
{
	WRITE_ONCE(ev->armed, false);
}

const struct pyl_event_source_ops pyl_statedump_source = {
	.instantiate = pyl_sd_instantiate,
	.matches = pyl_sd_matches,
	.arm = pyl_sd_arm,
	.disarm = pyl_sd_disarm,
};

/* --------------------------------------------------------------- records */

/* A field value: integers in .i (network order already for NET32). */
struct pyl_sd_val {
	u64 i;
	const char *s;
};

#define PYL_SD_MAX_TARGETS	8

struct pyl_sd_dump {
	struct pyl_event *targets[PYL_SD_NR][PYL_SD_MAX_TARGETS];
	unsigned int nr_targets[PYL_SD_NR];
	char *path;			/* PAGE_SIZE, for d_path() */
};

static size_t pyl_sd_size(const struct pyl_sd_event *sd,
			  const struct pyl_sd_val *v)
{
	size_t len = 0;
	unsigned int i;

	for (i = 0; i < sd->nr; i++) {
		switch (sd->fields[i].kind) {
		case PYL_SD_STRING:
			len += strnlen(v[i].s, PAGE_SIZE) + 1;
			break;
		case PYL_SD_COMM:
			len += TASK_COMM_LEN;
			break;
		default:
			len += sd->fields[i].bits / 8;
		}
	}
	return len;
}

static void pyl_sd_serialize(const struct pyl_sd_event *sd,
			     const struct pyl_sd_val *v, u8 *dst)
{
	unsigned int i;
	size_t n;

	for (i = 0; i < sd->nr; i++) {
		const struct pyl_sd_field *f = &sd->fields[i];

		switch (f->kind) {
		case PYL_SD_STRING:
			n = strnlen(v[i].s, PAGE_SIZE);
			memcpy(dst, v[i].s, n);
			dst[n] = '\0';
			dst += n + 1;
			break;
		case PYL_SD_COMM:
			strscpy_pad(dst, v[i].s, TASK_COMM_LEN);
			dst += TASK_COMM_LEN;
			break;
		case PYL_SD_NET32:
			put_unaligned((u32)v[i].i, (u32 *)dst);
			dst += 4;
			break;
		default:
			if (f->bits == 8)
				*dst = v[i].i;
			else if (f->bits == 16)
				put_unaligned((u16)v[i].i, (u16 *)dst);
			else if (f->bits == 32)
				put_unaligned((u32)v[i].i, (u32 *)dst);
			else
				put_unaligned(v[i].i, (u64 *)dst);
			dst += f->bits / 8;
		}
	}
}

/*
 * One record of ev: the channel's contexts (those of the dumping task),
 * then the fields.
 */
static void pyl_sd_write(struct pyl_event *ev, const struct pyl_sd_event *sd,
			 const struct pyl_sd_val *v, size_t len)
{
	struct pyl_rb_ctx ctx;
	u8 *dst;

	preempt_disable();
	dst = pyl_event_reserve(ev, len, &ctx);
	if (dst) {
		pyl_sd_serialize(sd, v, dst);
		pyl_rb_commit(&ctx);
	}
	preempt_enable();
}

/* Write one record in every channel where the event is armed. */
static void pyl_sd_emit(struct pyl_sd_dump *d, enum pyl_sd_id id,
			const struct pyl_sd_val *v)
{
	const struct pyl_sd_event *sd = &pyl_sd_events[id];
	size_t len = pyl_sd_size(sd, v);
	unsigned int t;

	for (t = 0; t < d->nr_targets[id]; t++)
		pyl_sd_write(d->targets[id][t], sd, v, len);
}

static bool pyl_sd_wanted(struct pyl_sd_dump *d, enum pyl_sd_id id)
{
	return d->nr_targets[id];
}

/* ------------------------------------------------------------ processes */

enum {	/* LTTng-modules' values, which analyses decode */
	PYL_SD_USER_THREAD = 0, PYL_SD_KERNEL_THREAD = 1,
	PYL_SD_MODE_UNKNOWN = 5, PYL_SD_SUBMODE_NONE = 0,
	PYL_SD_UNNAMED = 0, PYL_SD_WAIT_CPU = 2, PYL_SD_ZOMBIE = 4,
	PYL_SD_WAIT = 5, PYL_SD_DEAD = 7,
};

struct pyl_sd_fd_ctx {
	struct pyl_sd_dump *d;
	struct files_struct *files;
};

/* iterate_fd() callback, files->file_lock held. */
static int pyl_sd_one_fd(const void *arg, struct file *file, unsigned int fd)
{
	const struct pyl_sd_fd_ctx *c = arg;
	struct fdtable *fdt = files_fdtable(c->files);
	unsigned int flags = file->f_flags;
	const char *path;

	if (fd < fdt->max_fds && test_bit(fd, fdt->close_on_exec))
		flags |= O_CLOEXEC;
	path = d_path(&file->f_path, c->d->path, PAGE_SIZE);
	if (IS_ERR(path))
		path = file->f_path.dentry->d_name.name;
	pyl_sd_emit(c->d, PYL_SD_FD, (const struct pyl_sd_val []) {
		{ .i = (unsigned long)c->files }, { .i = fd }, { .i = flags },
		{ .i = (__force u32)file->f_mode }, { .s = path },
	});
	return 0;
}

static int pyl_sd_task_status(struct task_struct *p)
{
	unsigned int state = pyl_task_state(p);

	if (p->exit_state == EXIT_ZOMBIE)
		return PYL_SD_ZOMBIE;
	if (p->exit_state == EXIT_DEAD)
		return PYL_SD_DEAD;
	if (state == TASK_RUNNING)
		return PYL_SD_WAIT_CPU;
	if (state & (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE))
		return PYL_SD_WAIT;
	return PYL_SD_UNNAMED;
}

static void pyl_sd_processes(struct pyl_sd_dump *d)
{
	struct task_struct *g, *p;
	bool fds = pyl_sd_wanted(d, PYL_SD_FD);

	if (!pyl_sd_wanted(d, PYL_SD_PROCESS) && !fds)
		return;
	rcu_read_lock();
	for_each_process(g) {
		struct files_struct *prev_files = NULL;

		p = g;
		do {
			struct pyl_sd_fd_ctx c = { .d = d };

			task_lock(p);
			c.files = p->files;
			pyl_sd_emit(d, PYL_SD_PROCESS, (const struct pyl_sd_val []) {
				{ .i = (u32)p->pid }, { .i = (u32)p->tgid },
				{ .i = (u32)task_tgid_nr(rcu_dereference(p->real_parent)) },
				{ .s = p->comm },
				{ .i = p->mm ? PYL_SD_USER_THREAD : PYL_SD_KERNEL_THREAD },
				{ .i = PYL_SD_MODE_UNKNOWN }, { .i = PYL_SD_SUBMODE_NONE },
				{ .i = pyl_sd_task_status(p) }, { .i = task_cpu(p) },
				{ .i = (unsigned long)c.files },
			});
			/* Threads share their table: dump it once per run of them. */
			if (fds && c.files && c.files != prev_files) {
				iterate_fd(c.files, 0, pyl_sd_one_fd, &c);
				prev_files = c.files;
			}
			task_unlock(p);
		} while_each_thread(g, p);
	}
	rcu_read_unlock();
}

/* ------------------------------------------------------------ hardware */

static void pyl_sd_interrupts(struct pyl_sd_dump *d)
{
	struct irq_desc *(*to_desc)(unsigned int irq);
	unsigned int irq;

	if (!pyl_sd_wanted(d, PYL_SD_INTERRUPT))
		return;
	to_desc = (void *)pyl_kallsyms_lookup("irq_to_desc");
	if (!to_desc)
		return;
	for (irq = 0; irq < nr_irqs; irq++) {
		struct irq_desc *desc = to_desc(irq);
		struct irqaction *action;
		struct irq_chip *chip;
		const char *chip_name;
		unsigned long flags;

		if (!desc)
			continue;
		raw_spin_lock_irqsave(&desc->lock, flags);
		chip = irq_desc_get_chip(desc);
		chip_name = chip && chip->name ? chip->name : "unnamed_irq_chip";
		for (action = desc->action; action; action = action->next) {
			pyl_sd_emit(d, PYL_SD_INTERRUPT, (const struct pyl_sd_val []) {
				{ .i = irq }, { .s = chip_name },
				{ .s = action->name ?: "" },
				{ .i = action->thread ? (u32)action->thread->pid : 0 },
			});
		}
		raw_spin_unlock_irqrestore(&desc->lock, flags);
	}
}

static void pyl_sd_block_devices(struct pyl_sd_dump *d)
{
	struct class *block = (void *)pyl_kallsyms_lookup("block_class");
	struct class_dev_iter iter;
	struct device *dev;

	if (!pyl_sd_wanted(d, PYL_SD_BLOCK) || !block)
		return;
	/* Disks and their partitions are all devices of the block class. */
	class_dev_iter_init(&iter, block, NULL, NULL);
	while ((dev = class_dev_iter_next(&iter))) {
		if (!dev->devt)
			continue;
		pyl_sd_emit(d, PYL_SD_BLOCK, (const struct pyl_sd_val []) {
			{ .i = dev->devt }, { .s = dev_name(dev) },
		});
	}
	class_dev_iter_exit(&iter);
}

static void pyl_sd_netifs(struct pyl_sd_dump *d)
{
	struct net_device *dev;

	if (!pyl_sd_wanted(d, PYL_SD_NETIF))
		return;
	rcu_read_lock();
	for_each_netdev_rcu(&init_net, dev) {
		struct in_device *in_dev = __in_dev_get_rcu(dev);
		const struct in_ifaddr *ifa;
		bool any = false;

		if (in_dev) {
			in_dev_for_each_ifa_rcu(ifa, in_dev) {
				pyl_sd_emit(d, PYL_SD_NETIF, (const struct pyl_sd_val []) {
					{ .s = dev->name },
					{ .i = (__force u32)ifa->ifa_address },
				});
				any = true;
			}
		}
		if (!any)
			pyl_sd_emit(d, PYL_SD_NETIF, (const struct pyl_sd_val []) {
				{ .s = dev->name }, { .i = 0 },
			});
	}
	rcu_read_unlock();
}

static void pyl_sd_cpus(struct pyl_sd_dump *d)
{
#ifdef CONFIG_X86
	unsigned int cpu;

	if (!pyl_sd_wanted(d, PYL_SD_CPU))
		return;
	for_each_present_cpu(cpu) {
		struct cpuinfo_x86 *c = &cpu_data(cpu);

		pyl_sd_emit(d, PYL_SD_CPU, (const struct pyl_sd_val []) {
			{ .s = "x86" }, { .i = c->cpu_index },
			{ .s = c->x86_vendor_id[0] ? c->x86_vendor_id : "unknown" },
			{ .i = c->x86 }, { .i = c->x86_model },
			{ .s = c->x86_model_id[0] ? c->x86_model_id : "unknown" },
			{ .i = pyl_cpu_package_id(c) }, { .i = pyl_cpu_core_id(c) },
			{ .i = c->booted_cores },
		});
	}
#endif
}

/* ------------------------------------------------------------------ dump */

static void pyl_sd_collect_targets(struct pyl_sd_dump *d,
				   struct pyl_session *session)
{
	struct pyl_channel *chan;
	struct pyl_event *ev;
	int id;

	list_for_each_entry(chan, &session->chans, node) {
		list_for_each_entry(ev, &chan->events, node) {
			if (ev->src != &pyl_statedump_source || !READ_ONCE(ev->armed))
				continue;
			id = pyl_sd_find(ev->name);
			if (id < 0 || d->nr_targets[id] == PYL_SD_MAX_TARGETS)
				continue;
			d->targets[id][d->nr_targets[id]++] = ev;
		}
	}
}

/*
 * Record the state of the system in the session's channels where the
 * statedump events are enabled.  Caller holds pyl_mutex (events stay
 * armed throughout); the session is active.
 */
int pyl_statedump_run(struct pyl_session *session)
{
	struct pyl_sd_dump *d;
	unsigned int i, nr = 0;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	pyl_sd_collect_targets(d, session);
	for (i = 0; i < PYL_SD_NR; i++)
		nr += d->nr_targets[i];
	if (!nr)
		goto out;
	d->path = (char *)__get_free_page(GFP_KERNEL);
	if (!d->path) {
		kfree(d);
		return -ENOMEM;
	}
	pyl_sd_emit(d, PYL_SD_START, NULL);
	pyl_sd_processes(d);
	pyl_sd_interrupts(d);
	pyl_sd_block_devices(d);
	pyl_sd_netifs(d);
	pyl_sd_cpus(d);
	pyl_sd_emit(d, PYL_SD_END, NULL);
	free_page((unsigned long)d->path);
out:
	kfree(d);
	return 0;
}
