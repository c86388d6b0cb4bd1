// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-cpu-perf.c - one kernel perf event per online CPU.
 *
 * perf detaches a CPU's events when that CPU goes down and never brings
 * them back, so a started per-CPU event set must get a new event for a CPU
 * that comes online again.  Creating (or releasing) a perf event in a CPU
 * hotplug callback is not safe: perf takes event_mutex there, which other
 * tracers hold while they take the hotplug lock (static keys), and software
 * events flip a static key themselves.  So the hotplug callback only counts
 * the CPU's bring-ups and queues a work; the work, outside the hotplug lock,
 * replaces every event created before the CPU's latest bring-up.  A CPU
 * bouncing while an event is being created just leaves a stale event for
 * the next bring-up's work.  Events of a CPU that is down stay detached
 * (they never fire) until then or until the set stops.
 *
 * Releasing a tracepoint's last perf event waits for two grace periods
 * under perf's event_mutex, so releases cannot overlap; even hurried
 * (pylttng-perf-release.c) they take a while for a session that records
 * every tracepoint: ~1 s for its ~3,000 events on two emulated CPUs
 * (function_graph counted 2,969 releases, bench/README.md).
 * So `lttng stop` does not release them: pyl_cpu_perf_stop_later()
 * disables the events (they stop firing at once) and leaves their
 * release to a background work.  A disabled event still hooks its
 * tracepoint until released (a hooked syscall tracepoint sends every
 * system call down the slow path: getpid() twice as slow), so session
 * teardown waits for that work (pyl_cpu_perf_wait_releases()), as
 * lttng-modules unhooks its probes when a session is destroyed.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "pylttng-cpu-perf.h"
#include "pylttng-perf-release.h"

struct pyl_perf_release {
	struct work_struct work;
	struct perf_event *pe;
};

static DEFINE_MUTEX(pyl_cpu_perf_lock);	/* the sets and their events */
static struct workqueue_struct *pyl_release_wq;
static LIST_HEAD(pyl_cpu_perf_sets);
static unsigned int *pyl_cpu_gen;	/* by CPU: bring-ups seen */
static enum cpuhp_state pyl_cpu_perf_state;

static void pyl_cpu_perf_release(struct pyl_cpu_perf *cp, struct perf_event *pe)
{
	if (cp->read_by_probes)
		synchronize_rcu();	/* probes run with preemption off */
	pyl_perf_release(pe);
}

/* Give cpu a fresh event unless it has a current one.  Lock held. */
static long pyl_cpu_perf_refresh(struct pyl_cpu_perf *cp, unsigned int cpu)
{
	unsigned int gen = READ_ONCE(pyl_cpu_gen[cpu]);
	struct perf_event *old = cp->pe[cpu], *pe;

	if (old && cp->gen[cpu] == gen)
		return 0;
	pe = perf_event_create_kernel_counter(&cp->attr, cpu, NULL, cp->overflow,
					      cp->priv);
	if (IS_ERR(pe)) {
		if (PTR_ERR(pe) == -ENODEV)
			return 0;	/* went down meanwhile */
		if (cp->refused)
			cp->refused(cp, cpu, PTR_ERR(pe));
		return PTR_ERR(pe);
	}
	if (cp->created)
		cp->created(cp, cpu, pe);
	smp_wmb();	/* what created() wrote before the event is visible */
	WRITE_ONCE(cp->pe[cpu], pe);
	cp->gen[cpu] = gen;
	if (old)
		pyl_cpu_perf_release(cp, old);
	return 0;
}

static void pyl_cpu_perf_work_fn(struct work_struct *work)
{
	struct pyl_cpu_perf *cp;
	unsigned int cpu;

	mutex_lock(&pyl_cpu_perf_lock);
	list_for_each_entry(cp, &pyl_cpu_perf_sets, node)
		for_each_online_cpu(cpu)
			pyl_cpu_perf_refresh(cp, cpu);
	mutex_unlock(&pyl_cpu_perf_lock);
}

static DECLARE_WORK(pyl_cpu_perf_work, pyl_cpu_perf_work_fn);

/* Hotplug callback: no perf call here, see the top comment. */
static int pyl_cpu_perf_online(unsigned int cpu)
{
	WRITE_ONCE(pyl_cpu_gen[cpu], pyl_cpu_gen[cpu] + 1);
	queue_work(system_wq, &pyl_cpu_perf_work);
	return 0;
}

static void pyl_release_work_fn(struct work_struct *work)
{
	struct pyl_perf_release *rel =
		container_of(work, struct pyl_perf_release, work);

	pyl_perf_release(rel->pe);
	kfree(rel);
}

/* Disable pe now and release it in the background. */
static void pyl_release_later(struct perf_event *pe)
{
	struct pyl_perf_release *rel;

	perf_event_disable(pe);
	rel = kmalloc(sizeof(*rel), GFP_KERNEL);
	if (!rel) {
		pyl_perf_release(pe);
		return;
	}
	INIT_WORK(&rel->work, pyl_release_work_fn);
	rel->pe = pe;
	queue_work(pyl_release_wq, &rel->work);
}

static void pyl_cpu_perf_release_all(struct pyl_cpu_perf *cp, bool later)
{
	unsigned int cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct perf_event *pe = cp->pe[cpu];

		if (!pe)
			continue;
		WRITE_ONCE(cp->pe[cpu], NULL);
		if (later)
			pyl_release_later(pe);
		else
			pyl_perf_release(pe);
	}
}

/* Create the event on every online CPU, then on each CPU coming online. */
int pyl_cpu_perf_start(struct pyl_cpu_perf *cp)
{
	unsigned int cpu;
	long err = 0;

	cp->pe = kcalloc(nr_cpu_ids, sizeof(*cp->pe), GFP_KERNEL);
	cp->gen = kcalloc(nr_cpu_ids, sizeof(*cp->gen), GFP_KERNEL);
	if (!cp->pe || !cp->gen) {
		err = -ENOMEM;
		goto fail;
	}
	cp->attr.size = sizeof(cp->attr);
	mutex_lock(&pyl_cpu_perf_lock);
	for_each_online_cpu(cpu) {
		long ret = pyl_cpu_perf_refresh(cp, cpu);

		if (ret && !err)
			err = ret;
	}
	if (err && cp->strict) {
		mutex_unlock(&pyl_cpu_perf_lock);
		if (cp->read_by_probes)
			synchronize_rcu();
		pyl_cpu_perf_release_all(cp, false);
		goto fail;
	}
	list_add_tail(&cp->node, &pyl_cpu_perf_sets);
	cp->started = true;
	mutex_unlock(&pyl_cpu_perf_lock);
	return 0;

fail:
	kfree(cp->gen);
	kfree(cp->pe);
	cp->gen = NULL;
	cp->pe = NULL;
	return err;
}

static void pyl_cpu_perf_detach(struct pyl_cpu_perf *cp, bool later)
{
	mutex_lock(&pyl_cpu_perf_lock);
	list_del(&cp->node);
	cp->started = false;
	mutex_unlock(&pyl_cpu_perf_lock);
	if (cp->read_by_probes)
		synchronize_rcu();
	pyl_cpu_perf_release_all(cp, later);
	kfree(cp->gen);
	kfree(cp->pe);
	cp->gen = NULL;
	cp->pe = NULL;
}

/*
 * Release every event.  Probes of a set read by perf (overflow) may still
 * run: the caller waits for an RCU grace period before freeing their data.
 */
void pyl_cpu_perf_stop(struct pyl_cpu_perf *cp)
{
	if (cp->started)
		pyl_cpu_perf_detach(cp, false);
}

/*
 * Disable every event and queue its release.  A CPU already in the overflow
 * handler may still be running it: as with pyl_cpu_perf_stop(), the caller
 * waits for an RCU grace period before freeing what the handler reads.
 */
void pyl_cpu_perf_stop_later(struct pyl_cpu_perf *cp)
{
	if (cp->started)
		pyl_cpu_perf_detach(cp, true);
}

/* Until every release queued by pyl_cpu_perf_stop_later() is done. */
void pyl_cpu_perf_wait_releases(void)
{
	flush_workqueue(pyl_release_wq);
}

int pyl_cpu_perf_init(void)
{
	int ret;

	/* One release at a time: they would only queue on event_mutex. */
	pyl_release_wq = alloc_ordered_workqueue("pylttng_release", 0);
	if (!pyl_release_wq)
		return -ENOMEM;
	pyl_perf_release_init();
	pyl_cpu_gen = kcalloc(nr_cpu_ids, sizeof(*pyl_cpu_gen), GFP_KERNEL);
	if (!pyl_cpu_gen) {
		ret = -ENOMEM;
		goto err_wq;
	}
	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "pylttng/perf:online",
					pyl_cpu_perf_online, NULL);
	if (ret < 0)
		goto err_gen;
	pyl_cpu_perf_state = ret;
	return 0;

err_gen:
	kfree(pyl_cpu_gen);
err_wq:
	destroy_workqueue(pyl_release_wq);
	return ret;
}

/* Every set is stopped (sessions pin the module). */
void pyl_cpu_perf_exit(void)
{
	cpuhp_remove_state_nocalls(pyl_cpu_perf_state);
	cancel_work_sync(&pyl_cpu_perf_work);
	destroy_workqueue(pyl_release_wq);	/* runs what is queued first */
	pyl_perf_release_exit();
	kfree(pyl_cpu_gen);
}
