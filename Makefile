# pylttng — top-level build.
#   make deps             install Debian packages and the Python package (fresh machine)
#   make                  build kmod/pylttng.ko against the Debian kernel headers
#   make KERNELDIR=/path  build it against another kernel tree
#   make modules_install  install it in /lib/modules/<ver>/extra and run depmod
#   make check            lint, host tests, the VM tests with the real module, bench-smoke
#   make demo             build, boot the test VM, trace with the stock lttng CLI, show babeltrace2
#   make bench            pylttng vs ftrace, perf, trace-cmd and the stock daemons in one VM run:
#                         bench/results.{json,md,png} (~20 min under TCG; bench/README.md)
#   make bench-smoke      the same, every workload and tracer once, tiny, each daemon started
#                         once (~3 min under TCG; build/bench-smoke/)
#   make profile          py-spy profiles of the daemons, perf profiles of the producer, in
#                         the VM (build/profile-vm/profiles/)
PYTHON ?= python3
# The newest Debian kernel (linux-image-amd64) with headers installed, not the running one:
# the development machines run a kernel without module support.
KVER ?= $(shell ls -1d /lib/modules/*-amd64/build 2>/dev/null | sort -V | tail -n1 | xargs -r dirname | xargs -r basename)
KERNELDIR ?= /lib/modules/$(KVER)/build
KMOD := $(CURDIR)/kmod

# busybox-static: virtme-ng builds the guest's initramfs around a statically linked
# busybox and refuses to boot without one (not on every new machine).
DEBIAN_PACKAGES := linux-image-amd64 linux-headers-amd64 qemu-system-x86 kmod udev \
	busybox-static lttng-tools babeltrace2 python3-bt2 sparse build-essential \
	linux-perf trace-cmd rt-tests stress-ng

build:
	mkdir -p build

.PHONY: pypath all modules modules_install clean deps check lint test-host test-vm demo bench \
	bench-smoke profile

all: modules

# Zero warnings at W=1: any warning fails the build.
modules:
	$(MAKE) -C $(KERNELDIR) M=$(KMOD) W=1 KCFLAGS=-Werror modules

modules_install: modules
	$(MAKE) -C $(KERNELDIR) M=$(KMOD) INSTALL_MOD_DIR=extra modules_install
	depmod -a $(KVER)

# Clean under sparse: every file checked (C=2), any sparse or compiler warning fails.
sparse: | build
	$(MAKE) -C $(KERNELDIR) M=$(KMOD) C=2 W=1 modules 2>&1 | tee build/sparse.log
	@! grep -E 'warning:|error:' build/sparse.log

clean:
	$(MAKE) -C $(KERNELDIR) M=$(KMOD) clean
	rm -rf .vm-out

deps:
	@if ! dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEBIAN_PACKAGES); \
	fi
	$(PYTHON) -m pip install -q -e '.[test,bench]'

# The package as a link tree of this checkout (see tests/vm/runner.py: package_tree).
# mypy cannot follow setuptools' editable finder, and tests must import this checkout
# even when another one is installed in editable mode.
PYPATH := $(CURDIR)/build/pypath
pypath:
	$(PYTHON) tests/vm/runner.py pypath --out $(PYPATH)

lint: pypath
	$(PYTHON) -m ruff check protocol sessiond consumerd tests bench
	cd $(PYPATH) && $(PYTHON) -m mypy --config-file $(CURDIR)/pyproject.toml -p pylttng
	MYPYPATH=$(PYPATH) $(PYTHON) -m mypy --config-file $(CURDIR)/pyproject.toml -p bench

test-host: pypath
	@# PYTHONSAFEPATH: not the checkout root, whose pylttng/ holds only __init__.py.
	PYTHONSAFEPATH=1 PYTHONPATH=$(PYPATH) $(PYTHON) -m pytest -p no:cacheprovider tests/host

test-vm: modules
	$(PYTHON) tests/vm/runner.py check

check: deps
	$(MAKE) modules
	$(MAKE) sparse
	$(MAKE) lint
	$(MAKE) test-host
	$(MAKE) test-vm
	$(MAKE) bench-smoke

demo: deps
	$(MAKE) modules
	$(PYTHON) tests/vm/runner.py demo

# The benchmark (issue 4): one VM boot, the guest runs bench/run.py, the host renders
# the table and the plot (bench/report.py). Targets are reported, never enforced.
# The benchmark guest: one vCPU clocked by QEMU's instruction counter, reading a
# synchronised TSC (bench/README.md).
BENCH_VM := --kernel-arg tsc=reliable --instruction-clock

build/syscall_loop: bench/syscall_loop.c | build
	gcc -O2 -Wall -Wextra -Werror -pthread -o $@ $<

bench: modules build/syscall_loop
	$(PYTHON) tests/vm/runner.py bench $(BENCH_VM) --timeout 7200 --out $(CURDIR)/build/bench-vm
	$(PYTHON) -m bench.report build/bench-vm/results.json bench

# Every workload and tracer once, tiny: `make check` runs it so the harness cannot rot.
# It fails if a tracer or workload fails to run, never on a time.
bench-smoke: modules build/syscall_loop
	$(PYTHON) tests/vm/runner.py bench $(BENCH_VM) --out $(CURDIR)/build/bench-smoke-vm -- --quick
	$(PYTHON) -m bench.report build/bench-smoke-vm/results.json build/bench-smoke

# Where the time goes where a target is missed (issue 4): see bench/profile.py.
profile: modules build/syscall_loop
	$(PYTHON) tests/vm/runner.py profile $(BENCH_VM) --out $(CURDIR)/build/profile-vm
