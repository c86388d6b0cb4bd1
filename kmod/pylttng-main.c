// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-main.c - module entry points and the /proc/lttng control file.
 *
 * pylttng is a kernel tracer speaking the LTTng-modules 2.13 ABI (2.6):
 * the stock lttng-sessiond and lttng-consumerd, or pylttng's own daemons,
 * drive it through /proc/lttng and the anonymous fds it hands out.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/proc_fs.h>
#include <linux/rcupdate.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>

#include "pylttng.h"
#include "pylttng-compat.h"

DEFINE_MUTEX(pyl_mutex);
LIST_HEAD(pyl_sessions);

static struct proc_dir_entry *pyl_proc;

/*
 * Reserve an fd and create its file without publishing it: the caller
 * finishes its own setup, then fd_install()s.  Nothing may fail after.
 */
int pyl_anon_fd(const char *name, const struct file_operations *fops,
		void *priv, struct file **filep)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(0);
	if (fd < 0)
		return fd;
	file = anon_inode_getfile(name, fops, priv, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	*filep = file;
	return fd;
}

static long pyl_proc_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case PYL_ABI_SESSION:
		return pyl_session_create();
	case PYL_ABI_TRACER_VERSION: {
		struct pyl_abi_tracer_version v = {
			.major = PYL_TRACER_MAJOR,
			.minor = PYL_TRACER_MINOR,
			.patchlevel = PYL_TRACER_PATCHLEVEL,
		};

		return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
	}
	case PYL_ABI_TRACER_ABI_VERSION: {
		struct pyl_abi_tracer_abi_version v = {
			.major = PYL_ABI_MAJOR,
			.minor = PYL_ABI_MINOR,
		};

		return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
	}
	case PYL_ABI_TRACEPOINT_LIST:
		return pyl_tracepoint_list_open();
	case PYL_ABI_WAIT_QUIESCENT:
		synchronize_rcu();
		return 0;
	case PYL_ABI_SYSCALL_LIST:
		return pyl_syscall_list_open();
	default:
		return -ENOIOCTLCMD;
	}
}

static const struct proc_ops pyl_proc_ops = {
	.proc_ioctl = pyl_proc_ioctl,
#ifdef CONFIG_COMPAT
	.proc_compat_ioctl = pyl_proc_ioctl,
#endif
	.proc_lseek = noop_llseek,
};

/* LTTng-modules' lttng-tracer owns /proc/lttng when it is loaded. */
static bool pyl_proc_lttng_taken(void)
{
	struct path path;

	if (kern_path("/proc/lttng", 0, &path))
		return false;
	path_put(&path);
	return true;
}

static int __init pyl_init(void)
{
	int ret;

	if (!PYL_LAYOUTS_CHECKED) {
		pr_err("pylttng: not loading on Linux %s: the layouts of its private trace-event and mount-namespace structures were not read at build time (%s)\n",
		       init_utsname()->release, PYL_LAYOUTS_UNKNOWN);
		return -ENOEXEC;
	}
	if (pyl_proc_lttng_taken()) {
		pr_err("pylttng: /proc/lttng exists: LTTng-modules (lttng-tracer) is loaded, and the two tracers cannot be loaded together\n");
		return -EBUSY;
	}
	pyl_metadata_init();
	ret = pyl_cpu_perf_init();
	if (ret)
		return ret;
	ret = pyl_channel_hp_init();
	if (ret)
		goto err_cpu_perf;
	ret = pyl_events_init();
	if (ret)
		goto err_channel_hp;
	ret = pyl_ctx_init();
	if (ret)
		goto err_events;
	pyl_proc = proc_create("lttng", 0600, NULL, &pyl_proc_ops);
	if (!pyl_proc) {
		ret = -ENOMEM;
		goto err_ctx;
	}
	pr_info("pylttng: LTTng-modules ABI %d.%d tracer ready\n",
		PYL_ABI_MAJOR, PYL_ABI_MINOR);
	return 0;

err_ctx:
	pyl_ctx_exit();
err_events:
	pyl_events_exit();
err_channel_hp:
	pyl_channel_hp_exit();
err_cpu_perf:
	pyl_cpu_perf_exit();
	return ret;
}

/* Every session is gone (their fds pin the module): no hotplug instance. */
static void __exit pyl_exit(void)
{
	proc_remove(pyl_proc);
	pyl_ctx_exit();
	pyl_events_exit();
	pyl_channel_hp_exit();
	pyl_cpu_perf_exit();
}

/* Called by each stub module at load: its dependency on us is the point. */
int pylttng_stub_attach(void)
{
	return 0;
}
EXPORT_SYMBOL_GPL(pylttng_stub_attach);

module_init(pyl_init);
module_exit(pyl_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pylttng kernel tracer (LTTng-modules ABI 2.6)");
MODULE_VERSION("2.13.23");

/*
 * The control module names the stock lttng-sessiond requires are real stub
 * modules (stubs/); the optional probe module names are aliases, so that
 * `modprobe lttng-probe-sched` loads the tracer too.
 */
MODULE_ALIAS("lttng-probe-asoc");
MODULE_ALIAS("lttng-probe-block");
MODULE_ALIAS("lttng-probe-btrfs");
MODULE_ALIAS("lttng-probe-compaction");
MODULE_ALIAS("lttng-probe-ext3");
MODULE_ALIAS("lttng-probe-ext4");
MODULE_ALIAS("lttng-probe-gpio");
MODULE_ALIAS("lttng-probe-i2c");
MODULE_ALIAS("lttng-probe-irq");
MODULE_ALIAS("lttng-probe-jbd");
MODULE_ALIAS("lttng-probe-jbd2");
MODULE_ALIAS("lttng-probe-kmem");
MODULE_ALIAS("lttng-probe-kvm");
MODULE_ALIAS("lttng-probe-kvm-x86");
MODULE_ALIAS("lttng-probe-kvm-x86-mmu");
MODULE_ALIAS("lttng-probe-lock");
MODULE_ALIAS("lttng-probe-module");
MODULE_ALIAS("lttng-probe-napi");
MODULE_ALIAS("lttng-probe-net");
MODULE_ALIAS("lttng-probe-power");
MODULE_ALIAS("lttng-probe-preemptirq");
MODULE_ALIAS("lttng-probe-printk");
MODULE_ALIAS("lttng-probe-random");
MODULE_ALIAS("lttng-probe-rcu");
MODULE_ALIAS("lttng-probe-regmap");
MODULE_ALIAS("lttng-probe-regulator");
MODULE_ALIAS("lttng-probe-rpm");
MODULE_ALIAS("lttng-probe-sched");
MODULE_ALIAS("lttng-probe-scsi");
MODULE_ALIAS("lttng-probe-signal");
MODULE_ALIAS("lttng-probe-skb");
MODULE_ALIAS("lttng-probe-sock");
MODULE_ALIAS("lttng-probe-statedump");
MODULE_ALIAS("lttng-probe-sunrpc");
MODULE_ALIAS("lttng-probe-timer");
MODULE_ALIAS("lttng-probe-udp");
MODULE_ALIAS("lttng-probe-vmscan");
MODULE_ALIAS("lttng-probe-v4l2");
MODULE_ALIAS("lttng-probe-workqueue");
MODULE_ALIAS("lttng-probe-writeback");
MODULE_ALIAS("lttng-probe-x86-irq-vectors");
MODULE_ALIAS("lttng-probe-x86-exceptions");
