/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pylttng-compat.h - every kernel-version dependency of pylttng.
 *
 * All LINUX_VERSION_CODE tests and every mirror of a kernel-private
 * structure live here and nowhere else.  When a new kernel changes one
 * of these, this is the only file to touch.
 */
#ifndef _PYLTTNG_COMPAT_H
#define _PYLTTNG_COMPAT_H

#include <linux/version.h>
#include <linux/list.h>
#include <linux/perf_event.h>
#include <linux/trace_events.h>
#include <linux/timer.h>
#include <linux/srcu.h>
#include <linux/workqueue.h>
#include <linux/ns_common.h>
#include <linux/sched.h>
#include <linux/ptrace.h>
#include <linux/uprobes.h>

/* get_unaligned() and put_unaligned(): <linux/unaligned.h> since v6.12. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/*
 * The real layouts of the private structures mirrored below, read from the
 * BTF of the kernel image at build time (scripts/private-layouts.sh).  Each
 * mirror is checked against them; a build that could not read them defines
 * PYL_LAYOUTS_UNKNOWN instead, and the module then refuses to load rather
 * than read through a guess (pylttng-main.c).
 */
#include "pylttng-layouts.h"
#ifdef PYL_LAYOUTS_UNKNOWN
#define PYL_LAYOUTS_CHECKED	0
#else
#define PYL_LAYOUTS_CHECKED	1
#define PYL_LAYOUTS_UNKNOWN	""
#endif

/*
 * Mirror of struct ftrace_event_field (kernel/trace/trace.h, private): the
 * members read, which every kernel since v4.4 places alike.  is_signed was
 * an int; v6.12.y made it the first bit of a bit-field word (needs_test is
 * the next bit), so only bit 0 of that word is read.
 */
struct pyl_ftrace_event_field {
	struct list_head	link;
	const char		*name;
	const char		*type;
	int			filter_type;
	int			offset;
	int			size;
	unsigned int		is_signed_word;
};

static inline bool pyl_field_is_signed(const struct pyl_ftrace_event_field *f)
{
	return f->is_signed_word & 1;
}

#define PYL_CHECK_LAYOUT(mirror, member, real) \
	static_assert(offsetof(struct mirror, member) == PYL_LAYOUT_##real, \
		      "struct " #mirror "." #member " is not where the kernel has it")

#if PYL_LAYOUTS_CHECKED
PYL_CHECK_LAYOUT(pyl_ftrace_event_field, link, ftrace_event_field_link);
PYL_CHECK_LAYOUT(pyl_ftrace_event_field, name, ftrace_event_field_name);
PYL_CHECK_LAYOUT(pyl_ftrace_event_field, type, ftrace_event_field_type);
PYL_CHECK_LAYOUT(pyl_ftrace_event_field, filter_type, ftrace_event_field_filter_type);
PYL_CHECK_LAYOUT(pyl_ftrace_event_field, offset, ftrace_event_field_offset);
PYL_CHECK_LAYOUT(pyl_ftrace_event_field, size, ftrace_event_field_size);
PYL_CHECK_LAYOUT(pyl_ftrace_event_field, is_signed_word, ftrace_event_field_is_signed);
#ifdef PYL_LAYOUT_ftrace_event_field_is_signed_BIT
#ifndef __LITTLE_ENDIAN
#error "ftrace_event_field.is_signed: a bit-field read as bit 0 on a little-endian CPU only"
#endif
static_assert(PYL_LAYOUT_ftrace_event_field_is_signed_BIT == 0,
	      "ftrace_event_field.is_signed is not bit 0 of its word");
#endif
#endif

/* Mirror of trace_get_fields() (kernel/trace/trace.h, private). */
static inline struct list_head *pyl_trace_get_fields(struct trace_event_call *call)
{
	if (!call->class->get_fields)
		return &call->class->fields;
	return call->class->get_fields(call);
}

/* Trace events that are not plain tracepoints (dynamic probes, ...). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 12, 0)
#define PYL_FTRACE_SKIP_FLAGS	(TRACE_EVENT_FL_IGNORE_ENABLE | TRACE_EVENT_FL_DYNAMIC)
#else
#define PYL_FTRACE_SKIP_FLAGS	TRACE_EVENT_FL_IGNORE_ENABLE
#endif

/* The raw tracepoint record handed to a perf overflow handler. */
static inline const void *pyl_perf_raw(struct perf_sample_data *data, u32 *size)
{
	const struct perf_raw_record *raw = data->raw;

	if (!raw || !raw->frag.data) {
		*size = 0;
		return NULL;
	}
	*size = raw->frag.size;
	return raw->frag.data;
}

/* del_timer*() became timer_delete*() in v6.2. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define pyl_timer_delete(t)		timer_delete(t)
#define pyl_timer_delete_sync(t)	timer_delete_sync(t)
#else
#define pyl_timer_delete(t)		del_timer(t)
#define pyl_timer_delete_sync(t)	del_timer_sync(t)
#endif

/*
 * Run the delayed works of a tree SRCU structure now: the grace-period
 * work, which srcutree queues a jiffy late for a normal grace period, and
 * each CPU's callback invocation, which it delays a jiffy after a normal
 * one ends.  The same as srcutree does for an expedited grace period; no
 * grace period is asked for.  The grace-period work moved into struct
 * srcu_usage in v6.4; written for the srcutree of v6.1 to v6.12 (public
 * fields, which the compiler checks), a no-op elsewhere, where grace
 * periods keep srcutree's pace.  Callable from any context: timer and
 * workqueue calls are irq-safe.
 */
#if defined(CONFIG_TREE_SRCU) && LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0) && \
	LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define pyl_srcu_gp_work(ssp)		(&(ssp)->srcu_sup->work)
#else
#define pyl_srcu_gp_work(ssp)		(&(ssp)->work)
#endif

static inline void pyl_srcu_run_delayed_works(struct srcu_struct *ssp)
{
	struct delayed_work *gp_work = pyl_srcu_gp_work(ssp);
	struct workqueue_struct *wq = READ_ONCE(gp_work->wq);
	unsigned int cpu;

	if (!wq)
		return;		/* never queued: nothing is delayed */
	if (timer_pending(&gp_work->timer))
		mod_delayed_work(wq, gp_work, 0);
	for_each_possible_cpu(cpu) {
		struct srcu_data *sdp = per_cpu_ptr(ssp->sda, cpu);

		/* What srcu_delay_timer() would do, if we stop the timer first. */
		if (timer_pending(&sdp->delay_work) && pyl_timer_delete(&sdp->delay_work))
			queue_work_on(sdp->cpu, wq, &sdp->work);
	}
}
#else
static inline void pyl_srcu_run_delayed_works(struct srcu_struct *ssp)
{
}
#endif

/* Stream buffers are mapped read-only into the consumer. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define pyl_vma_forbid_write(vma)	vm_flags_clear(vma, VM_MAYWRITE)
#else
#define pyl_vma_forbid_write(vma)	((vma)->vm_flags &= ~VM_MAYWRITE)
#endif

/*
 * The caller's return address at a function's first instruction.  A
 * kretprobe instance only learns it after its entry handler has run.
 */
static inline unsigned long pyl_entry_return_address(struct pt_regs *regs)
{
#if defined(CONFIG_X86)
	return regs_get_kernel_stack_nth(regs, 0);
#elif defined(CONFIG_ARM64)
	return procedure_link_pointer(regs);
#else
	return 0;
#endif
}

/*
 * Mirror of struct mnt_namespace (fs/mount.h, private): its ns_common comes
 * first since v5.11 (the refcount moved into ns_common), after an atomic_t
 * before.
 */
struct pyl_mnt_namespace {
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 11, 0)
	atomic_t		count;
#endif
	struct ns_common	ns;
};

#if PYL_LAYOUTS_CHECKED
PYL_CHECK_LAYOUT(pyl_mnt_namespace, ns, mnt_namespace_ns);
#endif

static inline unsigned int pyl_mnt_ns_inum(const struct mnt_namespace *mnt_ns)
{
	return ((const struct pyl_mnt_namespace *)mnt_ns)->ns.inum;
}

/* migrate_disable() nesting lives in the task since v5.11 (SMP). */
static inline bool pyl_task_migratable(const struct task_struct *t)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 11, 0) && defined(CONFIG_SMP)
	return !t->migration_disabled;
#else
	return true;
#endif
}

/* User callstacks: frame-pointer walk of 64-bit x86 tasks only. */
#ifdef CONFIG_X86_64
static inline bool pyl_user_callstack_supported(void)
{
	return true;
}

static inline bool pyl_user_regs_walkable(struct pt_regs *regs)
{
	return user_mode(regs) && user_64bit_mode(regs);
}

static inline unsigned long pyl_user_frame_pointer(struct pt_regs *regs)
{
	return regs->bp;
}
#else
static inline bool pyl_user_callstack_supported(void)
{
	return false;
}

static inline bool pyl_user_regs_walkable(struct pt_regs *regs)
{
	return false;
}

static inline unsigned long pyl_user_frame_pointer(struct pt_regs *regs)
{
	return 0;
}
#endif

/* A task's scheduler state (the field was "state" before v5.14). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 14, 0)
#define pyl_task_state(p)	READ_ONCE((p)->__state)
#else
#define pyl_task_state(p)	READ_ONCE((p)->state)
#endif

/*
 * sched_switch: its probe prototype (prev_state became an argument in
 * v5.18) and the prev_state the kernel records, as its
 * __trace_sched_switch_state() computes it (private to the trace header):
 * a preempted task is reported as TASK_REPORT_MAX, any other as the bit of
 * its state's index.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 18, 0)
#define PYL_SCHED_SWITCH_PROTO	bool preempt, struct task_struct *prev, \
				struct task_struct *next, unsigned int prev_state
#define PYL_SCHED_SWITCH_STATE() \
	pyl_sched_switch_state(preempt, __task_state_index(prev_state, prev->exit_state))
#else
#define PYL_SCHED_SWITCH_PROTO	bool preempt, struct task_struct *prev, \
				struct task_struct *next
#define PYL_SCHED_SWITCH_STATE() \
	pyl_sched_switch_state(preempt, task_state_index(prev))
#endif

static inline long pyl_sched_switch_state(bool preempt, unsigned int index)
{
	if (preempt)
		return TASK_REPORT_MAX;
	return index ? 1 << (index - 1) : 0;
}

/* Free slots of a locked pipe (a ring of slots with head and tail since v5.5). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 5, 0)
#define pyl_pipe_room(p)	((p)->max_usage - pipe_occupancy((p)->head, (p)->tail))
#else
#define pyl_pipe_room(p)	((p)->buffers - (p)->nrbufs)
#endif

/* x86 CPU topology ids (moved into cpuinfo_x86.topo in v6.7). */
#ifdef CONFIG_X86
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define pyl_cpu_package_id(c)	((c)->topo.pkg_id)
#define pyl_cpu_core_id(c)	((c)->topo.core_id)
#else
#define pyl_cpu_package_id(c)	((c)->phys_proc_id)
#define pyl_cpu_core_id(c)	((c)->cpu_core_id)
#endif
#endif

/*
 * Uprobes: v6.12 made uprobe_register() return the uprobe and split the
 * unregistration (nosync + sync); v6.13 added a data argument to handlers.
 */
struct pyl_uprobe_handle {
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	struct uprobe *uprobe;
#endif
};

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define PYL_UPROBE_HANDLER(fn, uc, regs) \
	int fn(struct uprobe_consumer *uc, struct pt_regs *regs, __u64 *data)
#else
#define PYL_UPROBE_HANDLER(fn, uc, regs) \
	int fn(struct uprobe_consumer *uc, struct pt_regs *regs)
#endif

static inline int pyl_uprobe_register(struct inode *inode, loff_t offset,
				      struct uprobe_consumer *uc,
				      struct pyl_uprobe_handle *h)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	h->uprobe = uprobe_register(inode, offset, 0, uc);
	if (IS_ERR(h->uprobe))
		return PTR_ERR(h->uprobe);
	return 0;
#else
	return uprobe_register(inode, offset, uc);
#endif
}

/* On return, no handler of uc runs any more. */
static inline void pyl_uprobe_unregister(struct inode *inode, loff_t offset,
					 struct uprobe_consumer *uc,
					 struct pyl_uprobe_handle *h)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	uprobe_unregister_nosync(h->uprobe, uc);
	uprobe_unregister_sync();
	h->uprobe = NULL;
#else
	uprobe_unregister(inode, offset, uc);
#endif
}

/*
 * The 32-bit compat system call table, as the kernel build generated it
 * (asm/syscalls_32.h, with __SYSCALL_WITH_COMPAT since v5.12).  Since the
 * v6.9 branch-history mitigations (backported to 6.1.y), ia32_sys_call_table
 * no longer exists to be read at run time.
 */
#if defined(CONFIG_X86_64) && defined(CONFIG_IA32_EMULATION) && \
	LINUX_VERSION_CODE >= KERNEL_VERSION(5, 12, 0)
#define PYL_HAVE_IA32_SYSCALLS	1
#endif

#endif /* _PYLTTNG_COMPAT_H */
