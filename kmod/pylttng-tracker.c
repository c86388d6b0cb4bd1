// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-tracker.c - the process attribute trackers of a session.
 *
 * As LTTng-modules, a session has six trackers: pid, vpid, uid, vuid, gid
 * and vgid.  Each tracks every value (the default) or a set of values,
 * possibly empty, and a session records an event only for a task whose six
 * attributes all pass.  The attributes are those LTTng-modules compares:
 * pid is the thread group id, vpid the same in the task's pid namespace,
 * uid and gid the real ids in the initial user namespace, vuid and vgid
 * the real ids in the task's user namespace.
 *
 * TRACK adds a value, or with -1 makes the tracker track every value;
 * UNTRACK removes one, or with -1 leaves the set empty.  The LIST ioctls
 * hand out an fd whose read() gives the tracker in LTTng-modules' text
 * ("process { pid = 42; };" per value, -1 for every value), as it was
 * when the fd was made.
 *
 * The recording path reads the trackers with no lock and no allocation:
 * the six sets form one immutable table of sorted ids, searched by
 * bisection, which every change replaces whole under pyl_mutex and frees
 * after a grace period of RCU (the probes run with preemption off).  No
 * table at all means that every tracker tracks every value: the usual
 * case then costs the probe a single pointer test.
 */
#include <linux/kernel.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pylttng.h"

/* The six sets of a session; never changed once published. */
struct pyl_trackers {
	struct rcu_head rcu;
	unsigned int tracks_all;	/* BIT(type): takes every value */
	/* The ids of type t: ids[start[t]] to ids[start[t + 1] - 1]. */
	unsigned int start[PYL_TRACKER_NR + 1];
	int ids[];			/* each type's in increasing order */
};

/* How each tracker reads its attribute and prints its values. */
static const struct {
	u32 ctx;			/* the context reading it (but vpid) */
	const char *what;
	const char *attr;
} pyl_tracker_descs[PYL_TRACKER_NR] = {
	[PYL_TRACKER_PID]	= { PYL_CTX_PID, "process", "pid" },
	[PYL_TRACKER_VPID]	= { PYL_CTX_VPID, "process", "vpid" },
	[PYL_TRACKER_UID]	= { PYL_CTX_UID, "user", "uid" },
	[PYL_TRACKER_VUID]	= { PYL_CTX_VUID, "user", "vuid" },
	[PYL_TRACKER_GID]	= { PYL_CTX_GID, "group", "gid" },
	[PYL_TRACKER_VGID]	= { PYL_CTX_VGID, "group", "vgid" },
};

/* ---------------------------------------------------------------- sets */

/* No table: every tracker takes every value. */
static bool pyl_tracks_all(const struct pyl_trackers *t, unsigned int type)
{
	return !t || t->tracks_all & BIT(type);
}

/* The ids of a tracker's set, none when it tracks every value. */
static const int *pyl_tracker_ids(const struct pyl_trackers *t,
				  unsigned int type, unsigned int *nr)
{
	if (pyl_tracks_all(t, type)) {
		*nr = 0;
		return NULL;
	}
	*nr = t->start[type + 1] - t->start[type];
	return t->ids + t->start[type];
}

/* Where id is, or would go, among nr increasing ids. */
static unsigned int pyl_ids_position(const int *ids, unsigned int nr, int id)
{
	unsigned int lo = 0, hi = nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool pyl_ids_contain(const int *ids, unsigned int nr, int id)
{
	unsigned int pos = pyl_ids_position(ids, nr, id);

	return pos < nr && ids[pos] == id;
}

/* The current task's value of the attribute, as LTTng-modules reads it. */
static int pyl_tracker_attr(unsigned int type)
{
	/* Unlike the vpid context, also once an exiting task lost its nsproxy. */
	if (type == PYL_TRACKER_VPID)
		return task_tgid_vnr(current);
	/* uid and gid compared as ints, as LTTng-modules does. */
	return pyl_ctx_int(pyl_tracker_descs[type].ctx);
}

/* Recording side, preemption off: does the current task pass them all? */
bool pyl_trackers_match(const struct pyl_trackers *t)
{
	unsigned int type, nr;
	const int *ids;

	for (type = 0; type < PYL_TRACKER_NR; type++) {
		if (pyl_tracks_all(t, type))
			continue;
		ids = pyl_tracker_ids(t, type, &nr);
		if (!pyl_ids_contain(ids, nr, pyl_tracker_attr(type)))
			return false;
	}
	return true;
}

static void pyl_ids_copy(int *dst, const int *src, unsigned int nr)
{
	if (nr)
		memcpy(dst, src, nr * sizeof(*dst));
}

/*
 * A table with type's set replaced: every value if all, else the nr ids
 * given.  NULL when every tracker would then track every value.
 */
static struct pyl_trackers *pyl_trackers_replace(const struct pyl_trackers *old,
						 unsigned int type, bool all,
						 const int *ids, unsigned int nr)
{
	unsigned int t, len = 0, tracks_all = 0, n[PYL_TRACKER_NR];
	const int *from[PYL_TRACKER_NR];
	struct pyl_trackers *new;

	for (t = 0; t < PYL_TRACKER_NR; t++) {
		if (t == type) {
			from[t] = ids;
			n[t] = nr;
		} else {
			from[t] = pyl_tracker_ids(old, t, &n[t]);
		}
		if (t == type ? all : pyl_tracks_all(old, t))
			tracks_all |= BIT(t);
		len += n[t];
	}
	if (tracks_all == BIT(PYL_TRACKER_NR) - 1)
		return NULL;
	new = kzalloc(struct_size(new, ids, len), GFP_KERNEL);
	if (!new)
		return ERR_PTR(-ENOMEM);
	new->tracks_all = tracks_all;
	for (t = 0, len = 0; t < PYL_TRACKER_NR; t++) {
		new->start[t] = len;
		pyl_ids_copy(new->ids + len, from[t], n[t]);
		len += n[t];
	}
	new->start[PYL_TRACKER_NR] = len;
	return new;
}

/*
 * type's set after the change: id inserted at pos (track), or the id at
 * pos removed.  The caller kfree()s it.
 */
static int *pyl_ids_edit(const int *ids, unsigned int nr, unsigned int pos,
			 int id, bool track)
{
	int *set = kmalloc_array(nr + 1, sizeof(*set), GFP_KERNEL);

	if (!set)
		return NULL;
	pyl_ids_copy(set, ids, pos);
	if (track) {
		set[pos] = id;
		pyl_ids_copy(set + pos + 1, ids + pos, nr - pos);
	} else {
		pyl_ids_copy(set + pos, ids + pos + 1, nr - pos - 1);
	}
	return set;
}

/*
 * The table after TRACK (track) or UNTRACK of id, NULL for "every
 * tracker takes every value", or an ERR_PTR(): -EEXIST when id is tracked
 * already, -ENOENT when there is no such id to untrack (as LTTng-modules,
 * also when the tracker tracks every value).
 */
static struct pyl_trackers *pyl_trackers_change(const struct pyl_trackers *old,
						unsigned int type, int id,
						bool track)
{
	unsigned int nr, pos;
	struct pyl_trackers *new;
	const int *ids;
	bool found;
	int *set;

	if (id == -1)
		return pyl_trackers_replace(old, type, track, NULL, 0);
	ids = pyl_tracker_ids(old, type, &nr);
	pos = pyl_ids_position(ids, nr, id);
	found = pos < nr && ids[pos] == id;
	if (track && found)
		return ERR_PTR(-EEXIST);
	if (!track && !found)
		return ERR_PTR(-ENOENT);
	set = pyl_ids_edit(ids, nr, pos, id, track);
	if (!set)
		return ERR_PTR(-ENOMEM);
	new = pyl_trackers_replace(old, type, false, set, track ? nr + 1 : nr - 1);
	kfree(set);
	return new;
}

static int pyl_tracker_set(struct pyl_session *session, unsigned int type,
			   int id, bool track)
{
	struct pyl_trackers *old, *new;
	int ret = 0;

	if (id < -1)
		return -EINVAL;
	mutex_lock(&pyl_mutex);
	old = rcu_dereference_protected(session->trackers, lockdep_is_held(&pyl_mutex));
	new = pyl_trackers_change(old, type, id, track);
	if (IS_ERR(new)) {
		ret = PTR_ERR(new);
	} else {
		rcu_assign_pointer(session->trackers, new);
		if (old)
			kfree_rcu(old, rcu);
	}
	mutex_unlock(&pyl_mutex);
	return ret;
}

/* The session is gone: no probe can reach its trackers any more. */
void pyl_trackers_free(struct pyl_session *session)
{
	kfree(rcu_dereference_protected(session->trackers, true));
}

/* --------------------------------------------------------- LIST fd */

/* A copy of one tracker, printed by the fd's read(). */
struct pyl_tracker_list {
	unsigned int type;
	bool all;
	unsigned int nr;
	int ids[];
};

static void pyl_tracker_list_line(struct seq_file *m, unsigned int type, int id)
{
	seq_printf(m, "%s { %s = %d; };\n", pyl_tracker_descs[type].what,
		   pyl_tracker_descs[type].attr, id);
}

static int pyl_tracker_list_show(struct seq_file *m, void *v)
{
	const struct pyl_tracker_list *list = m->private;
	unsigned int i;

	if (list->all)
		pyl_tracker_list_line(m, list->type, -1);
	for (i = 0; i < list->nr; i++)
		pyl_tracker_list_line(m, list->type, list->ids[i]);
	return 0;
}

/* Also runs when single_open() failed in pyl_tracker_list_open(). */
static int pyl_tracker_list_release(struct inode *inode, struct file *file)
{
	struct seq_file *m = file->private_data;

	if (!m)
		return 0;
	kfree(m->private);
	return single_release(inode, file);
}

static const struct file_operations pyl_tracker_list_fops = {
	.owner = THIS_MODULE,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = pyl_tracker_list_release,
};

static struct pyl_tracker_list *pyl_tracker_list_copy(struct pyl_session *session,
						      unsigned int type)
{
	struct pyl_tracker_list *list;
	const struct pyl_trackers *t;
	unsigned int nr;
	const int *ids;

	mutex_lock(&pyl_mutex);
	t = rcu_dereference_protected(session->trackers, lockdep_is_held(&pyl_mutex));
	ids = pyl_tracker_ids(t, type, &nr);
	list = kmalloc(struct_size(list, ids, nr), GFP_KERNEL);
	if (list) {
		list->type = type;
		list->all = pyl_tracks_all(t, type);
		list->nr = nr;
		pyl_ids_copy(list->ids, ids, nr);
	}
	mutex_unlock(&pyl_mutex);
	return list;
}

static int pyl_tracker_list_open(struct pyl_session *session, unsigned int type)
{
	struct pyl_tracker_list *list;
	struct file *file;
	int fd, ret;

	list = pyl_tracker_list_copy(session, type);
	if (!list)
		return -ENOMEM;
	fd = pyl_anon_fd("[lttng_tracker_ids_list]", &pyl_tracker_list_fops, NULL, &file);
	if (fd < 0) {
		kfree(list);
		return fd;
	}
	ret = single_open(file, pyl_tracker_list_show, list);
	if (ret) {
		kfree(list);
		fput(file);
		put_unused_fd(fd);
		return ret;
	}
	file->f_mode |= FMODE_PREAD | FMODE_LSEEK;
	fd_install(fd, file);
	return fd;
}

/* ------------------------------------------------------------- ioctls */

static long pyl_tracker_ids_ioctl(struct pyl_session *session, unsigned int cmd,
				  void __user *uarg)
{
	struct pyl_abi_tracker_args args;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.type >= PYL_TRACKER_NR)
		return -EINVAL;
	switch (cmd) {
	case PYL_ABI_SESSION_TRACK_ID:
		return pyl_tracker_set(session, args.type, args.id, true);
	case PYL_ABI_SESSION_UNTRACK_ID:
		return pyl_tracker_set(session, args.type, args.id, false);
	default:
		return pyl_tracker_list_open(session, args.type);
	}
}

/* The session fd's tracker commands. */
long pyl_tracker_ioctl(struct pyl_session *session, unsigned int cmd,
		       unsigned long arg)
{
	switch (cmd) {
	case PYL_ABI_SESSION_TRACK_PID:
		return pyl_tracker_set(session, PYL_TRACKER_PID, (int)arg, true);
	case PYL_ABI_SESSION_UNTRACK_PID:
		return pyl_tracker_set(session, PYL_TRACKER_PID, (int)arg, false);
	case PYL_ABI_SESSION_LIST_TRACKER_PIDS:
		return pyl_tracker_list_open(session, PYL_TRACKER_PID);
	case PYL_ABI_SESSION_TRACK_ID:
	case PYL_ABI_SESSION_UNTRACK_ID:
	case PYL_ABI_SESSION_LIST_TRACKER_IDS:
		return pyl_tracker_ids_ioctl(session, cmd, (void __user *)arg);
	default:
		return -ENOIOCTLCMD;
	}
}
