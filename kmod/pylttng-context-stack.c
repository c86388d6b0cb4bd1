// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-context-stack.c - callstack-kernel and callstack-user contexts.
 *
 * Recorded as LTTng-modules does: a 32-bit entry count followed by that
 * many addresses (unsigned long, hexadecimal in the TSDL).  The user
 * stack is walked through frame pointers without faulting, so frames of
 * code built without them end the walk early.
 */
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/stacktrace.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "pylttng-compat.h"
#include "pylttng-context.h"

static unsigned int pyl_user_stack(unsigned long *entries, unsigned int max)
{
	struct pt_regs *regs;
	unsigned long fp, frame[2];
	unsigned int n = 0;

	if (!current->mm || (current->flags & PF_KTHREAD))
		return 0;
	regs = task_pt_regs(current);
	if (!pyl_user_regs_walkable(regs))
		return 0;
	entries[n++] = instruction_pointer(regs);
	fp = pyl_user_frame_pointer(regs);
	while (n < max && fp && !(fp & (sizeof(long) - 1))) {
		if (copy_from_user_nofault(frame, (const void __user *)fp,
					   sizeof(frame)))
			break;
		if (!frame[1])
			break;
		entries[n++] = frame[1];
		if (frame[0] <= fp)
			break;		/* stacks grow down: must move up */
		fp = frame[0];
	}
	return n;
}

/*
 * Write count + entries at dst.  The entries are gathered at the next
 * long-aligned address, then moved right after the count.  The scratch
 * area has room for that shift.
 */
size_t pyl_ctx_callstack(u8 *dst, bool user)
{
	unsigned long *entries = PTR_ALIGN((unsigned long *)(dst + sizeof(u32)),
					   sizeof(long));
	u32 n;

	if (user)
		n = pyl_user_stack(entries, PYL_CALLSTACK_MAX);
	else
		n = stack_trace_save(entries, PYL_CALLSTACK_MAX, 0);
	if ((u8 *)entries != dst + sizeof(u32))
		memmove(dst + sizeof(u32), entries, n * sizeof(long));
	memcpy(dst, &n, sizeof(n));
	return sizeof(n) + n * sizeof(long);
}
