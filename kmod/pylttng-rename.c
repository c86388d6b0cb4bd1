// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-rename.c - names where LTTng-modules differs from ftrace.
 *
 * Analyses (Trace Compass, lttng-analyses) key on the LTTng-modules names:
 * events such as hrtimer_start are timer_hrtimer_start there, and the
 * scheduler events call a thread id "tid", not "pid".  Only names are
 * mapped: layouts still come from the running kernel.  A few values
 * differ too: LTTng reports scheduler priorities minus MAX_RT_PRIO.  And
 * sched_process_fork has fields the kernel's event lacks (tgids, pid
 * namespaces), derived from the tasks whose tids it records.
 */
#include <linux/bsearch.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "pylttng-layout.h"

struct pyl_event_rename {
	const char *ftrace;
	const char *lttng;
};

/*
 * ftrace event name -> LTTng-modules 2.13 event name, sorted by ftrace
 * name (strcmp order): the events LTTng-modules declares under another
 * name than the kernel's tracepoint (LTTNG_TRACEPOINT_EVENT_*_MAP).
 */
static const struct pyl_event_rename pyl_event_renames[] = {
	{ "__extent_writepage", "btrfs__extent_writepage" },
	{ "add_delayed_data_ref", "btrfs_add_delayed_data_ref" },
	{ "add_delayed_ref_head", "btrfs_add_delayed_ref_head" },
	{ "add_delayed_tree_ref", "btrfs_add_delayed_tree_ref" },
	{ "alloc_extent_state", "btrfs_alloc_extent_state" },
	{ "balance_dirty_pages", "writeback_balance_dirty_pages" },
	{ "balance_dirty_written", "writeback_balance_dirty_written" },
	{ "bdi_dirty_ratelimit", "writeback_bdi_dirty_ratelimit" },
	{ "call_function_entry", "x86_irq_vectors_call_function_entry" },
	{ "call_function_exit", "x86_irq_vectors_call_function_exit" },
	{ "call_function_single_entry", "x86_irq_vectors_call_function_single_entry" },
	{ "call_function_single_exit", "x86_irq_vectors_call_function_single_exit" },
	{ "clock_disable", "power_clock_disable" },
	{ "clock_enable", "power_clock_enable" },
	{ "clock_set_rate", "power_clock_set_rate" },
	{ "console", "printk_console" },
	{ "consume_skb", "skb_consume" },
	{ "cpu_frequency", "power_cpu_frequency" },
	{ "cpu_idle", "power_cpu_idle" },
	{ "credit_entropy_bits", "random_credit_entropy_bits" },
	{ "deferred_error_apic_entry", "x86_irq_vectors_deferred_error_apic_entry" },
	{ "deferred_error_apic_exit", "x86_irq_vectors_deferred_error_apic_exit" },
	{ "disable_swap_token", "mm_vmscan_disable_swap_token" },
	{ "error_apic_entry", "x86_irq_vectors_error_apic_entry" },
	{ "error_apic_exit", "x86_irq_vectors_error_apic_exit" },
	{ "extract_entropy", "random_extract_entropy" },
	{ "extract_entropy_user", "random_extract_entropy_user" },
	{ "fast_page_fault", "kvm_mmu_fast_page_fault" },
	{ "find_free_extent", "btrfs_find_free_extent" },
	{ "free_extent_state", "btrfs_free_extent_state" },
	{ "get_random_bytes", "random_get_random_bytes" },
	{ "global_dirty_state", "writeback_global_dirty_state" },
	{ "handle_mmio_page_fault", "kvm_mmu_handle_mmio_page_fault" },
	{ "hrtimer_cancel", "timer_hrtimer_cancel" },
	{ "hrtimer_expire_entry", "timer_hrtimer_expire_entry" },
	{ "hrtimer_expire_exit", "timer_hrtimer_expire_exit" },
	{ "hrtimer_init", "timer_hrtimer_init" },
	{ "hrtimer_start", "timer_hrtimer_start" },
	{ "irq_disable", "preemptirq_irq_disable" },
	{ "irq_enable", "preemptirq_irq_enable" },
	{ "irq_work_entry", "x86_irq_vectors_irq_work_entry" },
	{ "irq_work_exit", "x86_irq_vectors_irq_work_exit" },
	{ "itimer_expire", "timer_itimer_expire" },
	{ "itimer_state", "timer_itimer_state" },
	{ "journal_write_superblock", "jbd_journal_write_superblock" },
	{ "kfree", "kmem_kfree" },
	{ "kfree_skb", "skb_kfree" },
	{ "kmalloc", "kmem_kmalloc" },
	{ "kmalloc_node", "kmem_kmalloc_node" },
	{ "kvm_apic", "kvm_x86_apic" },
	{ "kvm_apic_accept_irq", "kvm_x86_apic_accept_irq" },
	{ "kvm_apic_ipi", "kvm_x86_apic_ipi" },
	{ "kvm_cpuid", "kvm_x86_cpuid" },
	{ "kvm_cr", "kvm_x86_cr" },
	{ "kvm_emulate_insn", "kvm_x86_emulate_insn" },
	{ "kvm_entry", "kvm_x86_entry" },
	{ "kvm_eoi", "kvm_x86_eoi" },
	{ "kvm_exit", "kvm_x86_exit" },
	{ "kvm_hv_hypercall", "kvm_x86_hv_hypercall" },
	{ "kvm_hypercall", "kvm_x86_hypercall" },
	{ "kvm_inj_exception", "kvm_x86_inj_exception" },
	{ "kvm_inj_virq", "kvm_x86_inj_virq" },
	{ "kvm_invlpga", "kvm_x86_invlpga" },
	{ "kvm_msr", "kvm_x86_msr" },
	{ "kvm_nested_intercepts", "kvm_x86_nested_intercepts" },
	{ "kvm_nested_intr_vmexit", "kvm_x86_nested_intr_vmexit" },
	{ "kvm_nested_vmexit", "kvm_x86_nested_vmexit" },
	{ "kvm_nested_vmexit_inject", "kvm_x86_nested_vmexit_inject" },
	{ "kvm_nested_vmrun", "kvm_x86_nested_vmrun" },
	{ "kvm_page_fault", "kvm_x86_page_fault" },
	{ "kvm_pic_set_irq", "kvm_x86_pic_set_irq" },
	{ "kvm_pio", "kvm_x86_pio" },
	{ "kvm_pv_eoi", "kvm_x86_pv_eoi" },
	{ "kvm_skinit", "kvm_x86_skinit" },
	{ "kvm_track_tsc", "kvm_x86_track_tsc" },
	{ "kvm_update_master_clock", "kvm_x86_update_master_clock" },
	{ "kvm_write_tsc_offset", "kvm_x86_write_tsc_offset" },
	{ "local_timer_entry", "x86_irq_vectors_local_timer_entry" },
	{ "local_timer_exit", "x86_irq_vectors_local_timer_exit" },
	{ "machine_suspend", "power_machine_suspend" },
	{ "mark_mmio_spte", "kvm_mmu_mark_mmio_spte" },
	{ "mix_pool_bytes", "random_mix_pool_bytes" },
	{ "mix_pool_bytes_nolock", "random_mix_pool_bytes_nolock" },
	{ "mm_compaction_isolate_freepages", "compaction_isolate_freepages" },
	{ "mm_compaction_isolate_migratepages", "compaction_isolate_migratepages" },
	{ "mm_compaction_migratepages", "compaction_migratepages" },
	{ "mm_page_alloc", "kmem_mm_page_alloc" },
	{ "mm_page_alloc_extfrag", "kmem_mm_page_alloc_extfrag" },
	{ "mm_page_alloc_zone_locked", "kmem_mm_page_alloc_zone_locked" },
	{ "mm_page_free", "kmem_mm_page_free" },
	{ "mm_page_free_batched", "kmem_mm_page_free_batched" },
	{ "mm_page_free_direct", "kmem_mm_page_free_direct" },
	{ "mm_page_pcpu_drain", "kmem_mm_page_pcpu_drain" },
	{ "mm_pagevec_free", "kmem_pagevec_free" },
	{ "mm_shrink_slab_end", "mm_vmscan_shrink_slab_end" },
	{ "mm_shrink_slab_start", "mm_vmscan_shrink_slab_start" },
	{ "name_entry", "map_entry" },
	{ "name_exit", "map_exit" },
	{ "napi_gro_frags_entry", "net_napi_gro_frags_entry" },
	{ "napi_gro_frags_exit", "net_napi_gro_frags_exit" },
	{ "napi_gro_receive_entry", "net_napi_gro_receive_entry" },
	{ "napi_gro_receive_exit", "net_napi_gro_receive_exit" },
	{ "netif_receive_skb", "net_if_receive_skb" },
	{ "netif_receive_skb_entry", "net_if_receive_skb_entry" },
	{ "netif_receive_skb_exit", "net_if_receive_skb_exit" },
	{ "netif_receive_skb_list_entry", "net_if_receive_skb_list_entry" },
	{ "netif_receive_skb_list_exit", "net_if_receive_skb_list_exit" },
	{ "netif_rx", "net_if_rx" },
	{ "netif_rx_entry", "net_if_rx_entry" },
	{ "netif_rx_exit", "net_if_rx_exit" },
	{ "netif_rx_ni_entry", "net_if_rx_ni_entry" },
	{ "netif_rx_ni_exit", "net_if_rx_ni_exit" },
	{ "preempt_disable", "preemptirq_preempt_disable" },
	{ "preempt_enable", "preemptirq_preempt_enable" },
	{ "put_swap_token", "mm_vmscan_put_swap_token" },
	{ "regcache_sync", "regmap_regcache_sync" },
	{ "replace_swap_token", "mm_vmscan_replace_swap_token" },
	{ "reschedule_entry", "x86_irq_vectors_reschedule_entry" },
	{ "reschedule_exit", "x86_irq_vectors_reschedule_exit" },
	{ "run_delayed_data_ref", "btrfs_run_delayed_data_ref" },
	{ "run_delayed_ref_head", "btrfs_run_delayed_ref_head" },
	{ "run_delayed_tree_ref", "btrfs_run_delayed_tree_ref" },
	{ "snd_soc_bias_level_done", "asoc_snd_soc_bias_level_done" },
	{ "snd_soc_bias_level_start", "asoc_snd_soc_bias_level_start" },
	{ "snd_soc_cache_sync", "asoc_snd_soc_cache_sync" },
	{ "snd_soc_dapm_connected", "asoc_snd_soc_dapm_connected" },
	{ "snd_soc_dapm_done", "asoc_snd_soc_dapm_done" },
	{ "snd_soc_dapm_input_path", "asoc_snd_soc_dapm_input_path" },
	{ "snd_soc_dapm_output_path", "asoc_snd_soc_dapm_output_path" },
	{ "snd_soc_dapm_path", "asoc_snd_soc_dapm_path" },
	{ "snd_soc_dapm_start", "asoc_snd_soc_dapm_start" },
	{ "snd_soc_dapm_walk_done", "asoc_snd_soc_dapm_walk_done" },
	{ "snd_soc_dapm_widget_event_done", "asoc_snd_soc_dapm_widget_event_done" },
	{ "snd_soc_dapm_widget_event_start", "asoc_snd_soc_dapm_widget_event_start" },
	{ "snd_soc_dapm_widget_power", "asoc_snd_soc_dapm_widget_power" },
	{ "snd_soc_jack_irq", "asoc_snd_soc_jack_irq" },
	{ "snd_soc_jack_notify", "asoc_snd_soc_jack_notify" },
	{ "snd_soc_jack_report", "asoc_snd_soc_jack_report" },
	{ "snd_soc_preg_read", "asoc_snd_soc_preg_read" },
	{ "snd_soc_preg_write", "asoc_snd_soc_preg_write" },
	{ "snd_soc_reg_read", "asoc_snd_soc_reg_read" },
	{ "snd_soc_reg_write", "asoc_snd_soc_reg_write" },
	{ "softirq_entry", "irq_softirq_entry" },
	{ "softirq_exit", "irq_softirq_exit" },
	{ "softirq_raise", "irq_softirq_raise" },
	{ "spurious_apic_entry", "x86_irq_vectors_spurious_apic_entry" },
	{ "spurious_apic_exit", "x86_irq_vectors_spurious_apic_exit" },
	{ "thermal_apic_entry", "x86_irq_vectors_thermal_apic_entry" },
	{ "thermal_apic_exit", "x86_irq_vectors_thermal_apic_exit" },
	{ "threshold_apic_entry", "x86_irq_vectors_threshold_apic_entry" },
	{ "threshold_apic_exit", "x86_irq_vectors_threshold_apic_exit" },
	{ "update_swap_token_priority", "mm_vmscan_update_swap_token_priority" },
	{ "vcpu_match_mmio", "kvm_x86_vcpu_match_mmio" },
	{ "wakeup_source_activate", "power_wakeup_source_activate" },
	{ "wakeup_source_deactivate", "power_wakeup_source_deactivate" },
	{ "x86_platform_ipi_entry", "x86_irq_vectors_ipi_entry" },
	{ "x86_platform_ipi_exit", "x86_irq_vectors_ipi_exit" },
};

static int pyl_event_rename_cmp(const void *key, const void *elt)
{
	const struct pyl_event_rename *r = elt;

	return strcmp(key, r->ftrace);
}

const char *pyl_rename_event(const char *ftrace_name)
{
	const struct pyl_event_rename *r;

	r = bsearch(ftrace_name, pyl_event_renames, ARRAY_SIZE(pyl_event_renames),
		    sizeof(*r), pyl_event_rename_cmp);
	return r ? r->lttng : ftrace_name;
}

#define PYL_RT_PRIO_BIAS	(-100)	/* MAX_RT_PRIO */

struct pyl_rename {
	const char *event;	/* exact name, or prefix ending with '*' */
	const char *from;
	const char *to;
	int bias;		/* added to a 32-bit integer value */
};

static const struct pyl_rename pyl_renames[] = {
	{ "sched_switch",	"prev_pid",	"prev_tid" },
	{ "sched_switch",	"next_pid",	"next_tid" },
	{ "sched_process_fork",	"parent_pid",	"parent_tid" },
	{ "sched_process_fork",	"child_pid",	"child_tid" },
	{ "sched_process_exec",	"old_pid",	"old_tid" },
	{ "sched_*",		"pid",		"tid" },
	{ "sched_*",		"prio",		"prio",		PYL_RT_PRIO_BIAS },
	{ "sched_*",		"prev_prio",	"prev_prio",	PYL_RT_PRIO_BIAS },
	{ "sched_*",		"next_prio",	"next_prio",	PYL_RT_PRIO_BIAS },
	{ "sched_*",		"oldprio",	"oldprio",	PYL_RT_PRIO_BIAS },
	{ "sched_*",		"newprio",	"newprio",	PYL_RT_PRIO_BIAS },
};

static bool pyl_event_matches(const char *pattern, const char *event)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '*')
		return !strncmp(pattern, event, n - 1);
	return !strcmp(pattern, event);
}

const char *pyl_rename_field(const char *event, const char *field, int *bias)
{
	size_t i;

	*bias = 0;
	for (i = 0; i < ARRAY_SIZE(pyl_renames); i++) {
		if (strcmp(pyl_renames[i].from, field))
			continue;
		if (pyl_event_matches(pyl_renames[i].event, event)) {
			*bias = pyl_renames[i].bias;
			return pyl_renames[i].to;
		}
	}
	return field;
}

/*
 * LTTng-modules' sched_process_fork (instrumentation/events/sched.h):
 * after each tid, that task's tgid and pid namespace, and after the
 * child's, its tid in every pid namespace it is in (vtids).
 */
static const struct pyl_task_field pyl_fork_parent_fields[] = {
	{ "parent_pid", PYL_TASK_TGID },
	{ "parent_ns_inum", PYL_TASK_PIDNS_INUM },
};

static const struct pyl_task_field pyl_fork_child_fields[] = {
	{ "vtids", PYL_TASK_VTIDS },
	{ "child_pid", PYL_TASK_TGID },
	{ "child_ns_inum", PYL_TASK_PIDNS_INUM },
};

/* The fields to add after field (its LTTng name) of event, or NULL. */
const struct pyl_task_field *pyl_task_fields(const char *event, const char *field,
					      unsigned int *nr)
{
	if (strcmp(event, "sched_process_fork"))
		return NULL;
	if (!strcmp(field, "parent_tid")) {
		*nr = ARRAY_SIZE(pyl_fork_parent_fields);
		return pyl_fork_parent_fields;
	}
	if (!strcmp(field, "child_tid")) {
		*nr = ARRAY_SIZE(pyl_fork_child_fields);
		return pyl_fork_child_fields;
	}
	return NULL;
}
