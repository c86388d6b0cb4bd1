// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-context-perf.c - perf:cpu:<counter> contexts.
 *
 * Each counter context owns one pinned, counting (never sampling) kernel
 * perf event per online CPU, created when the context is added, so every
 * counter starts at zero then: its count right after creation is taken as
 * its base, so a first read that folds in time from before it started
 * (software clocks) does not show.  A CPU hotplug multi-instance state creates
 * the CPU's event when it comes online and releases it before it goes
 * down.  Probes read the event of their own CPU.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/perf_event.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "pylttng-context.h"

static enum cpuhp_state pyl_perf_hp_state;

static int pyl_perf_cpu_online(unsigned int cpu, struct hlist_node *node)
{
	struct pyl_ctx_field *f = hlist_entry(node, struct pyl_ctx_field, cpuhp);
	struct perf_event *pe;
	u64 enabled, running;

	pe = perf_event_create_kernel_counter(f->attr, cpu, NULL, NULL, NULL);
	if (IS_ERR(pe)) {
		/* Adding the context fails; a CPU coming back online never does. */
		if (!f->cpuhp_added)
			return PTR_ERR(pe);
		pr_warn_ratelimited("pylttng: perf counter %s on cpu %u: error %ld\n",
				    f->name, cpu, PTR_ERR(pe));
		return 0;
	}
	f->base[cpu] = perf_event_read_value(pe, &enabled, &running);
	smp_wmb();	/* base before the event is visible to probes */
	WRITE_ONCE(f->pe[cpu], pe);
	return 0;
}

static int pyl_perf_cpu_offline(unsigned int cpu, struct hlist_node *node)
{
	struct pyl_ctx_field *f = hlist_entry(node, struct pyl_ctx_field, cpuhp);
	struct perf_event *pe = f->pe[cpu];

	if (!pe)
		return 0;
	WRITE_ONCE(f->pe[cpu], NULL);
	synchronize_rcu();	/* probes run with preemption off */
	perf_event_release_kernel(pe);
	return 0;
}

int pyl_ctx_perf_create(struct pyl_ctx_field *f, const struct pyl_abi_context *param)
{
	int ret;

	f->attr = kzalloc(sizeof(*f->attr), GFP_KERNEL);
	f->pe = kcalloc(nr_cpu_ids, sizeof(*f->pe), GFP_KERNEL);
	f->base = kcalloc(nr_cpu_ids, sizeof(*f->base), GFP_KERNEL);
	if (!f->attr || !f->pe || !f->base)
		return -ENOMEM;
	f->attr->type = param->u.perf_counter.type;
	f->attr->config = param->u.perf_counter.config;
	f->attr->size = sizeof(*f->attr);
	f->attr->pinned = 1;
	f->attr->disabled = 0;
	ret = cpuhp_state_add_instance(pyl_perf_hp_state, &f->cpuhp);
	if (ret)
		return ret;
	f->cpuhp_added = true;
	return 0;
}

void pyl_ctx_perf_destroy(struct pyl_ctx_field *f)
{
	if (f->cpuhp_added)
		cpuhp_state_remove_instance(pyl_perf_hp_state, &f->cpuhp);
	kfree(f->base);
	kfree(f->pe);
	kfree(f->attr);
}

/* Current count of this CPU's counter; 0 while it has none. */
u64 pyl_ctx_perf_read(const struct pyl_ctx_field *f)
{
	unsigned int cpu = smp_processor_id();
	struct perf_event *pe = READ_ONCE(f->pe[cpu]);

	if (!pe)
		return 0;
	smp_rmb();	/* event before its base */
	if (READ_ONCE(pe->state) == PERF_EVENT_STATE_ACTIVE)
		pe->pmu->read(pe);
	return local64_read(&pe->count) - f->base[cpu];
}

int pyl_ctx_perf_init(void)
{
	int ret = cpuhp_setup_state_multi(CPUHP_AP_ONLINE_DYN, "pylttng/perf:online",
					  pyl_perf_cpu_online, pyl_perf_cpu_offline);

	if (ret < 0)
		return ret;
	pyl_perf_hp_state = ret;
	return 0;
}

void pyl_ctx_perf_exit(void)
{
	cpuhp_remove_multi_state(pyl_perf_hp_state);
}
