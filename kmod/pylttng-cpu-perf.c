// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-cpu-perf.c - one kernel perf event per online CPU.
 *
 * perf drops a CPU's events when that CPU goes down and never brings them
 * back, so a per-CPU event set is an instance of a CPU hotplug
 * multi-instance state: its startup callback creates the event of a CPU
 * that comes online (and, when the set starts, of every online CPU), its
 * teardown callback releases it before the CPU goes down (and, when the
 * set stops, on every online CPU).  Both run under the hotplug lock, which
 * serializes them with pyl_cpu_perf_start() and pyl_cpu_perf_stop(); they
 * take no pylttng lock, since callers of start and stop hold pyl_mutex.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "pylttng-cpu-perf.h"

static enum cpuhp_state pyl_cpu_perf_state;

static int pyl_cpu_perf_online(unsigned int cpu, struct hlist_node *node)
{
	struct pyl_cpu_perf *cp = hlist_entry(node, struct pyl_cpu_perf, cpuhp);
	struct perf_event *pe;

	pe = perf_event_create_kernel_counter(&cp->attr, cpu, NULL, cp->overflow,
					      cp->priv);
	if (IS_ERR(pe)) {
		/* Never fail: that would keep the CPU from coming online. */
		if (!cp->err)
			cp->err = PTR_ERR(pe);
		if (cp->refused)
			cp->refused(cp, cpu, PTR_ERR(pe));
		return 0;
	}
	if (cp->created)
		cp->created(cp, cpu, pe);
	smp_wmb();	/* what created() wrote before the event is visible */
	WRITE_ONCE(cp->pe[cpu], pe);
	return 0;
}

static int pyl_cpu_perf_offline(unsigned int cpu, struct hlist_node *node)
{
	struct pyl_cpu_perf *cp = hlist_entry(node, struct pyl_cpu_perf, cpuhp);
	struct perf_event *pe = cp->pe[cpu];

	if (!pe)
		return 0;
	WRITE_ONCE(cp->pe[cpu], NULL);
	if (cp->read_by_probes)
		synchronize_rcu();	/* probes run with preemption off */
	perf_event_release_kernel(pe);
	return 0;
}

/* Create the event on every online CPU, then on each CPU coming online. */
int pyl_cpu_perf_start(struct pyl_cpu_perf *cp)
{
	int ret;

	cp->pe = kcalloc(nr_cpu_ids, sizeof(*cp->pe), GFP_KERNEL);
	if (!cp->pe)
		return -ENOMEM;
	cp->attr.size = sizeof(cp->attr);
	cp->err = 0;
	ret = cpuhp_state_add_instance(pyl_cpu_perf_state, &cp->cpuhp);
	if (!ret && cp->strict && cp->err) {
		cpuhp_state_remove_instance(pyl_cpu_perf_state, &cp->cpuhp);
		ret = cp->err;
	}
	if (ret) {
		kfree(cp->pe);
		cp->pe = NULL;
		return ret;
	}
	cp->started = true;
	return 0;
}

/* Release every event; no callback runs for cp afterwards. */
void pyl_cpu_perf_stop(struct pyl_cpu_perf *cp)
{
	if (!cp->started)
		return;
	cpuhp_state_remove_instance(pyl_cpu_perf_state, &cp->cpuhp);
	cp->started = false;
	kfree(cp->pe);
	cp->pe = NULL;
}

int pyl_cpu_perf_init(void)
{
	int ret = cpuhp_setup_state_multi(CPUHP_AP_ONLINE_DYN, "pylttng/perf:online",
					  pyl_cpu_perf_online, pyl_cpu_perf_offline);

	if (ret < 0)
		return ret;
	pyl_cpu_perf_state = ret;
	return 0;
}

void pyl_cpu_perf_exit(void)
{
	cpuhp_remove_multi_state(pyl_cpu_perf_state);
}
