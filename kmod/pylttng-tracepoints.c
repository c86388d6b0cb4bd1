// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-tracepoints.c - the kernel tracepoints: an event source and the
 * TRACEPOINT_LIST fd.
 *
 * While its session is active, every tracepoint of the running kernel
 * (pylttng-ftrace.c, LTTng-modules names from pylttng-rename.c) matching a
 * TRACEPOINT enabler of a channel is instantiated once in that channel,
 * with the layout of the kernel's own record (pylttng-layout.c).
 *
 * An armed tracepoint is hooked with one in-kernel perf tracepoint event
 * per online CPU, following CPU hotplug (pylttng-cpu-perf.c), or, for the
 * hottest scheduler events, with a direct probe (pylttng-sched-probes.c).
 * Either way the probe gets the raw ftrace record and hands it to
 * pyl_event_record_raw(), which serializes it into the CPU's ring buffer.
 *
 * The TRACEPOINT_LIST fd's read() returns one "event { name = NAME; };"
 * line per tracepoint (and statedump event), the format lttng-sessiond
 * parses: a snapshot taken when the fd is created.
 */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/perf_event.h>
#include <linux/slab.h>

#include "pylttng.h"
#include "pylttng-cpu-perf.h"
#include "pylttng-ftrace.h"
#include "pylttng-layout.h"
#include "pylttng-source.h"

/* A tracepoint event's state: how it is hooked. */
struct pyl_tp_event {
	int ftrace_id;			/* core-kernel tracepoints: perf's id, else 0 */
	bool refused;			/* perf refused it: told once */
	struct pyl_cpu_perf *perf;	/* perf events, while armed */
	struct pyl_direct_probe *direct; /* or its direct probe, while armed */
};

/* pyl_ftrace_for_each() callback: instantiate call in the channel if wanted. */
static int pyl_tp_instantiate_one(struct trace_event_call *call, const char *name,
				  void *arg)
{
	struct pyl_channel *chan = arg;
	struct pyl_tp_event *tpe;

	if (!pyl_channel_wants(chan, PYL_ABI_TRACEPOINT, name) ||
	    pyl_event_find(chan, name))
		return 0;
	tpe = kzalloc(sizeof(*tpe), GFP_KERNEL);
	/*
	 * A core-kernel event's id never changes: no lookup by name when
	 * armed.  (pyl_ftrace_for_each() skips dynamic events.)
	 */
	if (tpe && !call->module)
		tpe->ftrace_id = call->event.type;
	if (!tpe || !pyl_event_add(chan, &pyl_tracepoint_source,
				   kstrdup(name, GFP_KERNEL),
				   pyl_layout_build(call, name), tpe)) {
		pr_warn("pylttng: cannot instantiate event %s\n", name);
		kfree(tpe);
	}
	return 0;
}

static void pyl_tp_instantiate(struct pyl_channel *chan)
{
	pyl_ftrace_for_each(pyl_tp_instantiate_one, chan);
}

static bool pyl_tp_matches(const struct pyl_enabler *en, const struct pyl_event *ev)
{
	return en->instrumentation == PYL_ABI_TRACEPOINT &&
	       pyl_enabler_matches(en, ev->name);
}

/* perf's overflow handler: runs on the CPU that hit the tracepoint. */
static void pyl_tp_perf_overflow(struct perf_event *pe, struct perf_sample_data *data,
				 struct pt_regs *regs)
{
	struct pyl_event *ev = pe->overflow_handler_context;
	const u8 *rec;
	u32 rec_size;

	rec = pyl_perf_raw(data, &rec_size);
	if (rec)
		pyl_event_record_raw(ev, rec, rec_size);
}

/*
 * perf refused to hook the event on a CPU: said once per event.  -EPERM is
 * the kernel forbidding sampling of that tracepoint (TRACE_EVENT_PERF_PERM,
 * e.g. x86 irq_work_exit: sampling it would raise irq_work, then loop).
 * The event stays armed on the other CPUs.
 */
static void pyl_tp_perf_refused(struct pyl_cpu_perf *cp, unsigned int cpu, long err)
{
	struct pyl_event *ev = cp->priv;
	struct pyl_tp_event *tpe = ev->priv;

	if (tpe->refused)
		return;
	tpe->refused = true;
	if (err == -EPERM)
		pr_notice("pylttng: %s is not recorded: the kernel forbids sampling this tracepoint\n",
			  ev->name);
	else
		pr_notice("pylttng: %s is not recorded on cpu %u: perf error %ld\n",
			  ev->name, cpu, err);
}

/*
 * Hook a tracepoint: with its direct probe if it has one
 * (pylttng-sched-probes.c), else with one perf event per online CPU; a
 * CPU coming online while it is armed gets its own (pylttng-cpu-perf.c).
 */
static void pyl_tp_arm(struct pyl_event *ev)
{
	struct pyl_tp_event *tpe = ev->priv;
	struct pyl_direct_probe *dp;
	struct pyl_cpu_perf *cp;
	int id;

	dp = pyl_sched_probe_arm(ev);
	if (!IS_ERR(dp)) {
		tpe->direct = dp;
		return;
	}
	if (PTR_ERR(dp) != -ENOENT)
		return;
	id = tpe->ftrace_id ?: pyl_ftrace_event_id(ev->name);
	if (id < 0)
		return;		/* its module is gone: rebound when it returns */
	cp = kzalloc(sizeof(*cp), GFP_KERNEL);
	if (!cp)
		return;
	cp->attr.type = PERF_TYPE_TRACEPOINT;
	cp->attr.size = sizeof(cp->attr);
	cp->attr.config = id;
	cp->attr.sample_period = 1;
	cp->attr.sample_type = PERF_SAMPLE_RAW | PERF_SAMPLE_PERIOD;
	cp->overflow = pyl_tp_perf_overflow;
	cp->priv = ev;
	cp->refused = pyl_tp_perf_refused;
	WRITE_ONCE(ev->armed, true);
	if (pyl_cpu_perf_start(cp)) {
		WRITE_ONCE(ev->armed, false);
		kfree(cp);
		return;
	}
	tpe->perf = cp;
}

static void pyl_tp_disarm(struct pyl_event *ev)
{
	struct pyl_tp_event *tpe = ev->priv;

	if (tpe->direct) {
		pyl_sched_probe_disarm(ev, tpe->direct);
		tpe->direct = NULL;
		return;
	}
	WRITE_ONCE(ev->armed, false);
	if (tpe->perf) {
		/*
		 * Released in the background (pylttng-cpu-perf.c); until then
		 * a module's tracepoint pins its module, and destroying the
		 * session waits for the release.
		 */
		pyl_cpu_perf_stop_later(tpe->perf);
		kfree(tpe->perf);
		tpe->perf = NULL;
	}
}

static void pyl_tp_free(struct pyl_event *ev)
{
	kfree(ev->priv);
}

const struct pyl_event_source_ops pyl_tracepoint_source = {
	.enablers = BIT(PYL_ABI_TRACEPOINT),
	.init = pyl_ftrace_init,
	.instantiate = pyl_tp_instantiate,
	.matches = pyl_tp_matches,
	.arm = pyl_tp_arm,
	.disarm = pyl_tp_disarm,
	.free = pyl_tp_free,
};

/* ------------------------------------------------- TRACEPOINT_LIST fd */

#define PYL_TP_LINE_FMT		"event { name = %s; };\n"

struct pyl_tp_list {
	char *buf;
	size_t len;
	size_t alloc;
};

static int pyl_tp_count(struct trace_event_call *call, const char *name,
			void *arg)
{
	struct pyl_tp_list *list = arg;

	list->alloc += snprintf(NULL, 0, PYL_TP_LINE_FMT, name);
	return 0;
}

static int pyl_tp_print(struct trace_event_call *call, const char *name,
			void *arg)
{
	struct pyl_tp_list *list = arg;
	int n = snprintf(list->buf + list->len, list->alloc - list->len,
			 PYL_TP_LINE_FMT, name);

	if (n >= list->alloc - list->len)
		return -ENOSPC;		/* list grew meanwhile: truncate */
	list->len += n;
	return 0;
}

static ssize_t pyl_tp_read(struct file *file, char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	struct pyl_tp_list *list = file->private_data;

	return simple_read_from_buffer(ubuf, count, ppos, list->buf, list->len);
}

static int pyl_tp_release(struct inode *inode, struct file *file)
{
	struct pyl_tp_list *list = file->private_data;

	kvfree(list->buf);
	kfree(list);
	return 0;
}

static const struct file_operations pyl_tp_fops = {
	.owner = THIS_MODULE,
	.read = pyl_tp_read,
	.release = pyl_tp_release,
	.llseek = default_llseek,
};

int pyl_tracepoint_list_open(void)
{
	struct pyl_tp_list *list;
	struct file *file;
	int fd;

	list = kzalloc(sizeof(*list), GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	pyl_ftrace_for_each(pyl_tp_count, list);
	pyl_statedump_for_each(pyl_tp_count, list);
	list->alloc += 4096;	/* room for modules loaded in between */
	list->buf = kvmalloc(list->alloc, GFP_KERNEL);
	if (!list->buf) {
		kfree(list);
		return -ENOMEM;
	}
	pyl_ftrace_for_each(pyl_tp_print, list);
	pyl_statedump_for_each(pyl_tp_print, list);

	fd = pyl_anon_fd("[lttng_tracepoint_list]", &pyl_tp_fops, list, &file);
	if (fd < 0) {
		kvfree(list->buf);
		kfree(list);
		return fd;
	}
	file->f_mode |= FMODE_PREAD | FMODE_LSEEK;
	fd_install(fd, file);
	return fd;
}
