# pylttng — top-level build.
#   make deps             install Debian packages and the Python package (fresh machine)
#   make                  build kmod/pylttng.ko for the kernel KVER (default: Debian's default
#                         kernel, linux-image-amd64); KVER=<release> picks another for every
#                         target below: headers, module, VM image, modules_install
#   make KERNELDIR=/path  build it against another kernel tree (KVER: that tree's release)
#   make debug-kernel     build Debian's linux-source-6.1 with KASAN, lockdep, kmemleak, UBSAN
#                         and DEBUG_ATOMIC_SLEEP (issue 23) in $(DEBUG_KERNELDIR), cached; then
#                         `make KERNELDIR=$(DEBUG_KERNELDIR)` builds the module for it and
#                         `runner.py --kernel-tree $(DEBUG_KERNELDIR) check` boots it
#   make modules_install  install it in /lib/modules/$(KVER)/extra and run depmod
#   make kernels          install the six supported kernels (6.1, 6.12; generic, RT, cloud)
#   make check-kernels    on each: build (W=1, sparse), boot, the whole VM suite; one table
#   make check            lint, host tests, the VM tests on every kernel, bench-smoke
#   make demo             build, boot the test VM, trace with the stock lttng CLI, show babeltrace2
#   make bench            pylttng vs ftrace, perf, trace-cmd and the stock daemons in one VM run:
#                         bench/results.{json,md,png} (~24 min under TCG; bench/README.md)
#   make bench-smoke      the same, every workload and tracer once, tiny, each daemon started
#                         once (~3 min under TCG; build/bench-smoke/)
#   make stress           the long forms of the reliability tests (issue 23): 100,000 fuzzed
#                         client messages; on the debug kernel, the whole VM suite with
#                         200,000 fuzzed ioctls, seven buffer sizes of exact event
#                         accounting, 200 session cycles and 30 CPU unplugs under load;
#                         prints the figures (hours under TCG; run again, it resumes)
#   make profile          py-spy profiles of the daemons, perf profiles of the producer, in
#                         the VM (build/profile-vm/profiles/)
PYTHON ?= python3
# bash: recipes use pipefail.
SHELL := /bin/bash
# The kernel every target works for: by default the one Debian's linux-image-amd64 installs,
# not the running one (the development machines run a kernel without module support).
# Evaluated once, on first use (after `make deps` on a fresh machine).
# A kernel tree given as KERNELDIR names its own release (what `uname -r` and the
# module's vermagic say; Debian's include/config/kernel.release does not).
ifneq ($(origin KERNELDIR),undefined)
KVER ?= $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' \
	$(KERNELDIR)/include/generated/utsrelease.h 2>/dev/null)
endif
KVER ?= $(eval KVER := $(shell $(PYTHON) tests/vm/kernels.py default 2>/dev/null))$(KVER)
KERNELDIR ?= /lib/modules/$(KVER)/build
KMOD := $(CURDIR)/kmod
# tests/vm/runner.py boots $KVER when KVER is given (make exports command-line variables),
# else the same default.

# busybox-static: virtme-ng builds the guest's initramfs around a statically linked
# busybox and refuses to boot without one (not on every new machine).
# dwarves (pahole), zstd, xz-utils, lz4: the module's build reads the kernel's private
# layouts from the BTF of its image (kmod/scripts/private-layouts.sh).
DEBIAN_PACKAGES := linux-image-amd64 linux-headers-amd64 qemu-system-x86 kmod udev iproute2 \
	busybox-static lttng-tools babeltrace2 python3-bt2 sparse build-essential \
	linux-perf trace-cmd rt-tests stress-ng dwarves zstd xz-utils lz4 dkms

.PHONY: pypath all modules modules_install clean deps kernels check check-kernels lint \
	test-host test-vm demo bench bench-smoke profile kmod-kver stress debug-kernel

all: modules

build:
	mkdir -p build

# kmod/ holds the objects of one kernel at a time: kmod/.kver names it, and another
# KVER starts from a clean tree.
kmod-kver:
	@test -n "$(KVER)" || { echo "KVER is unset and linux-image-amd64 is not installed:" \
		"run \`make deps\`" >&2; exit 1; }
	@test -d $(KERNELDIR) || { echo "no headers in $(KERNELDIR): run \`make kernels\`" >&2; \
		exit 1; }
	@if [ "$$(cat $(KMOD)/.kver 2>/dev/null)" != "$(KVER)" ]; then \
		$(MAKE) -s -C $(KERNELDIR) M=$(KMOD) clean; echo "$(KVER)" > $(KMOD)/.kver; fi

# Zero warnings at W=1: any warning fails the build.
modules: kmod-kver
	$(MAKE) -C $(KERNELDIR) M=$(KMOD) W=1 KCFLAGS=-Werror modules

modules_install: modules
	$(MAKE) -C $(KERNELDIR) M=$(KMOD) INSTALL_MOD_DIR=extra modules_install
	depmod -a $(KVER)

# Clean under sparse: every file checked (C=2), any sparse or compiler warning fails.
sparse: kmod-kver | build
	set -o pipefail; $(MAKE) -C $(KERNELDIR) M=$(KMOD) C=2 W=1 KCFLAGS=-Werror modules 2>&1 \
		| tee build/sparse-$(KVER).log
	@! grep -E 'warning:|error:' build/sparse-$(KVER).log

clean:
	-$(MAKE) -C $(KERNELDIR) M=$(KMOD) clean
	rm -rf .vm-out $(KMOD)/.kver

deps:
	@if ! dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEBIAN_PACKAGES); \
	fi
	$(PYTHON) -m pip install -q -e '.[test,bench]'

# The debug kernel (tests/vm/debug-kernel.sh, tests/vm/debug-kernel.config): installs
# linux-source-6.1 itself; each step is skipped when already done for the same source
# version and config fragment.
DEBUG_KERNEL := $(CURDIR)/build/debug-kernel
DEBUG_KERNELDIR := $(DEBUG_KERNEL)/linux-source-6.1
debug-kernel:
	tests/vm/debug-kernel.sh $(DEBUG_KERNEL)

# The six kernels of tests/vm/kernels.py, images and headers.
kernels: deps
	@pkgs="$$($(PYTHON) tests/vm/kernels.py packages)"; \
	if ! dpkg -s $$pkgs >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$pkgs; \
	fi

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

test-vm: modules build/syscall_loop
	$(PYTHON) tests/vm/runner.py check

# Every kernel of tests/vm/kernels.py: build, boot, whole VM suite; the table in
# build/kernels/table.md.  CI (make check) runs the whole suite on 6.1 (in two guests),
# the end-to-end and event-source tests on 6.12, and a smoke test on the RT and cloud
# flavours (--ci: tests/vm/kernels.py, Kernel.ci_suites).
check-kernels: kernels
	$(PYTHON) tests/vm/kernels.py check

check: kernels build/syscall_loop
	$(MAKE) lint
	$(MAKE) test-host
	$(PYTHON) tests/vm/kernels.py check --ci
	$(MAKE) bench-smoke

# The short forms run in make check; these are the long ones, with their figures: the
# client-protocol fuzzer here, then the whole VM suite with --stress (the ioctl fuzzer
# among it) on STRESS_KERNELDIR, the debug kernel by default (empty: KVER's kernel),
# split over the VM slots (tests/vm/stress.py; build/stress/stress.md).
STRESS_KERNELDIR ?= $(DEBUG_KERNELDIR)
stress: pypath build/syscall_loop $(if $(filter $(DEBUG_KERNELDIR),$(STRESS_KERNELDIR)),debug-kernel)
	time PYLTTNG_FUZZ_COUNT=100000 PYTHONSAFEPATH=1 PYTHONPATH=$(PYPATH) $(PYTHON) -m pytest \
		-p no:cacheprovider -rA tests/host/test_sessiond_fuzz.py
	time $(PYTHON) tests/vm/stress.py --out $(CURDIR)/build/stress \
		$(if $(STRESS_KERNELDIR),--kernel-tree $(STRESS_KERNELDIR))

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
