// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-tracepoints.c - the TRACEPOINT_LIST fd.
 *
 * read() returns one "event { name = NAME; };" line per tracepoint of the
 * running kernel, the format lttng-sessiond parses.  The text is a
 * snapshot taken when the fd is created.  Names are the LTTng-modules ones
 * (pylttng-rename.c).  Also: the star-glob matching of event rules.
 */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "pylttng.h"
#include "pylttng-ftrace.h"

/*
 * LTTng star-glob: '*' matches any run of characters, anywhere in the
 * pattern; a backslash makes the next character literal (\*).  Greedy
 * with backtracking to the last star: linear in practice.
 */
bool pyl_glob_match(const char *pat, const char *name)
{
	const char *star = NULL, *resume = NULL;

	while (*name) {
		if (*pat == '*') {
			star = ++pat;
			resume = name;
			continue;
		}
		if (*pat == '\\' && pat[1])
			pat++;
		if (*pat && *pat == *name) {
			pat++;
			name++;
			continue;
		}
		if (!star)
			return false;
		pat = star;
		name = ++resume;
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

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
