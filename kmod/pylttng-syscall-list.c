// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-syscall-list.c - the SYSCALL_LIST fd.
 *
 * read() returns one "syscall { index = N; name = NAME; bitness = B; };"
 * line per native system call with metadata, then one per 32-bit compat
 * call (bitness 32), the text lttng-sessiond parses.  As LTTng-modules
 * numbers them, a native index is its number and a compat index its
 * number plus the size of the native table.
 */
#include <linux/fs.h>
#include <linux/seq_file.h>

#include "pylttng.h"
#include "pylttng-syscalls.h"

static const struct pyl_sc_desc *pyl_scl_at(loff_t pos)
{
	if (pos < pyl_sc_nr())
		return pyl_sc_desc(pos);
	return pyl_sc_compat_desc(pos - pyl_sc_nr());
}

static void *pyl_scl_next_valid(loff_t *pos)
{
	for (; *pos < pyl_sc_nr() + pyl_sc_compat_nr(); (*pos)++)
		if (pyl_scl_at(*pos))
			return (void *)pyl_scl_at(*pos);
	return NULL;
}

static void *pyl_scl_start(struct seq_file *m, loff_t *pos)
{
	return pyl_scl_next_valid(pos);
}

static void *pyl_scl_next(struct seq_file *m, void *v, loff_t *pos)
{
	(*pos)++;
	return pyl_scl_next_valid(pos);
}

static void pyl_scl_stop(struct seq_file *m, void *v)
{
}

static int pyl_scl_show(struct seq_file *m, void *v)
{
	const struct pyl_sc_desc *d = v;

	seq_printf(m, "syscall { index = %lld; name = %s; bitness = %u; };\n",
		   (long long)m->index, d->name,
		   m->index < pyl_sc_nr() ? BITS_PER_LONG : 32);
	return 0;
}

static const struct seq_operations pyl_scl_seq_ops = {
	.start = pyl_scl_start,
	.next = pyl_scl_next,
	.stop = pyl_scl_stop,
	.show = pyl_scl_show,
};

static int pyl_scl_open(struct inode *inode, struct file *file)
{
	return seq_open(file, &pyl_scl_seq_ops);
}

/* Also runs when seq_open() failed in pyl_syscall_list_open(). */
static int pyl_scl_release(struct inode *inode, struct file *file)
{
	return file->private_data ? seq_release(inode, file) : 0;
}

static const struct file_operations pyl_scl_fops = {
	.owner = THIS_MODULE,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = pyl_scl_release,
};

int pyl_syscall_list_open(void)
{
	struct file *file;
	int fd, ret;

	fd = pyl_anon_fd("[lttng_syscall_list]", &pyl_scl_fops, NULL, &file);
	if (fd < 0)
		return fd;
	ret = pyl_scl_open(NULL, file);
	if (ret) {
		fput(file);
		put_unused_fd(fd);
		return ret;
	}
	file->f_mode |= FMODE_PREAD | FMODE_LSEEK;
	fd_install(fd, file);
	return fd;
}
