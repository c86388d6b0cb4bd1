// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-context-perf.c - perf:cpu:<counter> contexts.
 *
 * Each counter context owns one pinned, counting (never sampling) kernel
 * perf event per online CPU (pylttng-cpu-perf.c: created when the context
 * is added and when a CPU comes online, released before a CPU goes down),
 * so every counter starts at zero then: its count right after creation is
 * taken as its base, so a first read that folds in time from before it
 * started (software clocks) does not show.  Probes read the event of their
 * own CPU.
 */
#include <linux/perf_event.h>
#include <linux/slab.h>

#include "pylttng-context.h"

static void pyl_perf_created(struct pyl_cpu_perf *cp, unsigned int cpu,
			     struct perf_event *pe)
{
	struct pyl_ctx_field *f = cp->priv;
	u64 enabled, running;

	f->base[cpu] = perf_event_read_value(pe, &enabled, &running);
}

/* Adding the context fails then; a CPU coming back online never does. */
static void pyl_perf_refused(struct pyl_cpu_perf *cp, unsigned int cpu, long err)
{
	struct pyl_ctx_field *f = cp->priv;

	if (cp->started)
		pr_warn_ratelimited("pylttng: perf counter %s on cpu %u: error %ld\n",
				    f->name, cpu, err);
}

int pyl_ctx_perf_create(struct pyl_ctx_field *f, const struct pyl_abi_context *param)
{
	struct pyl_cpu_perf *cp = &f->perf;

	f->base = kcalloc(nr_cpu_ids, sizeof(*f->base), GFP_KERNEL);
	if (!f->base)
		return -ENOMEM;
	cp->attr.type = param->u.perf_counter.type;
	cp->attr.config = param->u.perf_counter.config;
	cp->attr.pinned = 1;
	cp->attr.disabled = 0;
	cp->priv = f;
	cp->created = pyl_perf_created;
	cp->refused = pyl_perf_refused;
	cp->strict = true;
	cp->read_by_probes = true;
	return pyl_cpu_perf_start(cp);
}

void pyl_ctx_perf_destroy(struct pyl_ctx_field *f)
{
	pyl_cpu_perf_stop(&f->perf);
	kfree(f->base);
}

/* Current count of this CPU's counter; 0 while it has none. */
u64 pyl_ctx_perf_read(const struct pyl_ctx_field *f)
{
	unsigned int cpu = smp_processor_id();
	struct perf_event *pe;

	if (!f->perf.pe)
		return 0;
	pe = READ_ONCE(f->perf.pe[cpu]);
	if (!pe)
		return 0;
	smp_rmb();	/* event before its base */
	if (READ_ONCE(pe->state) == PERF_EVENT_STATE_ACTIVE)
		pe->pmu->read(pe);
	return local64_read(&pe->count) - f->base[cpu];
}
