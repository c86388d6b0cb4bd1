// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-perf-release.c - release a kernel perf event without waiting a
 * jiffy or two per tracepoint.
 *
 * Releasing a tracepoint's last perf event unhooks perf's probe from the
 * tracepoint, then waits for a grace period of tracepoint_srcu and one of
 * RCU, under perf's event_mutex (perf_trace_destroy() ->
 * tracepoint_synchronize_unregister()), so releases cannot overlap.
 * Unhooking asks srcutree for a normal grace period, whose work it queues
 * a jiffy late (SRCU_INTERVAL, to batch requests), and perf's own request
 * waits behind that one; srcutree also invokes the callbacks of a normal
 * grace period a jiffy after it ends.  Each release then takes a jiffy or
 * two (8 ms at HZ=250): 6 s to destroy a session recording every
 * tracepoint, one after the other.
 *
 * So while a release is in progress, a timer runs tracepoint_srcu's delayed
 * works every PYL_HURRY_PERIOD_NS: the grace period a release waits for
 * starts, and its waiter wakes, within that period.  This is what srcutree
 * does by itself for an expedited grace period; the timer asks for no
 * grace period of its own.  (An earlier try kept an expedited grace period
 * wanted instead, with synchronize_srcu_expedited() in a loop: on two CPUs
 * it made releases slower; bench/README.md has the numbers.)
 */
#include <linux/hrtimer.h>
#include <linux/spinlock.h>
#include <linux/tracepoint.h>

#include "pylttng-compat.h"
#include "pylttng-perf-release.h"

#define PYL_HURRY_PERIOD_NS	(100 * NSEC_PER_USEC)

static struct hrtimer pyl_hurry_timer;
static DEFINE_SPINLOCK(pyl_hurry_lock);	/* the two below */
static unsigned int pyl_releasing;	/* releases in progress */
static bool pyl_hurry_armed;		/* the timer is queued or restarting */

static enum hrtimer_restart pyl_hurry_fn(struct hrtimer *timer)
{
	enum hrtimer_restart restart = HRTIMER_NORESTART;

	pyl_srcu_run_delayed_works(&tracepoint_srcu);
	spin_lock(&pyl_hurry_lock);
	if (pyl_releasing) {
		hrtimer_forward_now(timer, ns_to_ktime(PYL_HURRY_PERIOD_NS));
		restart = HRTIMER_RESTART;
	} else {
		pyl_hurry_armed = false;	/* the next release restarts it */
	}
	spin_unlock(&pyl_hurry_lock);
	return restart;
}

/*
 * perf_event_release_kernel(), with the timer running meanwhile.  Only the
 * callback restarts a timer it armed, and only a release starts it when it
 * is not armed: hrtimer_forward() must not meet a timer queued elsewhere.
 */
void pyl_perf_release(struct perf_event *pe)
{
	spin_lock_bh(&pyl_hurry_lock);
	pyl_releasing++;
	if (!pyl_hurry_armed) {
		pyl_hurry_armed = true;
		hrtimer_start(&pyl_hurry_timer, ns_to_ktime(PYL_HURRY_PERIOD_NS),
			      HRTIMER_MODE_REL_SOFT);
	}
	spin_unlock_bh(&pyl_hurry_lock);

	perf_event_release_kernel(pe);

	spin_lock_bh(&pyl_hurry_lock);
	pyl_releasing--;
	spin_unlock_bh(&pyl_hurry_lock);
}

void pyl_perf_release_init(void)
{
	hrtimer_init(&pyl_hurry_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	pyl_hurry_timer.function = pyl_hurry_fn;
}

/* No release in progress any more. */
void pyl_perf_release_exit(void)
{
	hrtimer_cancel(&pyl_hurry_timer);
}
