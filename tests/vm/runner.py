#!/usr/bin/env python3
"""Boot a Debian kernel with virtme-ng and run a script inside it.

The kernel is --kver, else $KVER, else Debian's default (tests/vm/kernels.py), or the
one built in --kernel-tree DIR (make debug-kernel), and kmod/pylttng.ko (or --kmod
DIR's) must have been built for it (`make KVER=...`, `make KERNELDIR=DIR`).
Guests run side by side, one per host core (tests/vm/vm_slots.py).

The guest shares the host's root file system (read-only but for throw-away
overlays), so the checkout, the Python environment and the stock LTTng tools
are all visible inside; only the output folder is writable (--rwdir).

On these machines /dev/kvm exists but QEMU hangs or aborts with it, so the
runner probes KVM with a short boot and falls back to TCG (--disable-kvm).
The root is shared over virtio-fs, through tests/vm/virtiofsd-shim (Debian's
QEMU has only the C virtiofsd); 9p made every Python start cost 12 s.

    runner.py check [pytest args...]   run tests/vm in the guest, fail on a kernel warning
    runner.py demo                     run tests/vm/demo.sh in the guest and show its output
    runner.py bench [--quick]          run bench/guest.sh (make bench), write bench/results.*
    runner.py pypath --out DIR         lay this checkout out as the pylttng package in DIR
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO

import kernels
import vm_slots

SRC = Path(__file__).resolve().parents[2]
DEFAULT_OUT = SRC / ".vm-out"

# Lines of the guest kernel log that mean the kernel is not healthy.
KERNEL_TROUBLE = re.compile(
    r"WARNING:|BUG:|Oops|general protection fault|Call Trace:|kernel BUG|"
    r"unreferenced object|UBSAN:|KASAN:|refcount_t:|list_(add|del) corruption|"
    r"INFO: task .* blocked|scheduling while atomic|sleeping function called|"
    # lockdep's reports, where the kernel has it, and PREEMPT_RT's own.
    r"possible recursive locking|circular locking dependency|inconsistent lock state|"
    r"suspicious RCU usage|lock held when returning|bad unlock balance"
)


def check_kernel(kernel: kernels.Bootable, kmod: Path) -> None:
    """Refuse to boot a kernel that is missing or that kmod/pylttng.ko was not built for."""
    kver = kernel.release
    if not kernel.image.exists():
        sys.exit(f"runner: no {kernel.image}: run `make kernels` (or `make deps`, or "
                 "`make debug-kernel`)")
    if not kernel.modules.is_dir():
        sys.exit(f"runner: no modules in {kernel.modules}")
    built_for = kernels.module_release(kmod / "pylttng.ko")
    if built_for != kver:
        sys.exit(f"runner: {kmod}/pylttng.ko was built for {built_for or 'an unknown kernel'}, "
                 f"not {kver}: run `make KVER={kver}` (or KERNELDIR=its tree)")


def vng_env(out: Path) -> dict[str, str]:
    """vng's environment: virtiofsd-shim found first on PATH as `virtiofsd`."""
    shim_dir = out / "shim"
    shim_dir.mkdir(exist_ok=True)
    link = shim_dir / "virtiofsd"
    link.unlink(missing_ok=True)
    link.symlink_to(SRC / "tests" / "vm" / "virtiofsd-shim")
    return dict(os.environ, PATH=f"{shim_dir}:{os.environ['PATH']}")


@dataclass(frozen=True)
class Machine:
    """What the guest looks like beyond the defaults (2 vCPUs, 2 GiB, the guest's clock),
    and which pylttng.ko it loads."""

    kernel_args: tuple[str, ...] = ()
    # Where pylttng.ko and stubs/*.ko come from: kmod/ holds one kernel's build at a
    # time, so side-by-side guests of several kernels each take a copy (kernels.py).
    kmod: Path = SRC / "kmod"
    # `make bench`: one vCPU whose clock is QEMU's instruction counter (-icount shift=0,
    # one nanosecond per emulated instruction), so a guest second is an amount of
    # emulated work, not of host time: the host's other load (this host is itself a
    # shared VM) no longer shows in the figures.  With two vCPUs icount hangs the boot
    # at "Booting SMP configuration" (QEMU 7.2).  Under KVM the clock stays real.
    instruction_clock: bool = False

    def on(self, kvm: bool) -> Machine:
        """The machine as booted: the instruction clock exists under TCG only."""
        return replace(self, instruction_clock=self.instruction_clock and not kvm)


def vng_command(kernel: kernels.Bootable, out: Path, kvm: bool, guest: list[str],
                machine: Machine = Machine()) -> list[str]:
    vng = shutil.which("vng")
    if vng is None:
        sys.exit("runner: vng not found: run `make deps` (PyPI virtme-ng)")
    # Expedited RCU grace periods: perf waits for two of them per tracepoint it lets go
    # of, and under TCG a normal one takes ~40 ms (`enable-event -k -a` then `stop`:
    # two minutes).
    # The kernel's console goes to console.log (--verbose), so a guest that hangs still
    # tells why: soft lockups with every CPU's backtrace, hung tasks (after the kernel's
    # 120 s) with every CPU's too.
    instruction_clock = machine.on(kvm).instruction_clock
    cpus = "1" if instruction_clock else "2"
    cmd = [vng, "-r", str(kernel.image), "--cpus", cpus, "--memory", "2G",
           "--rwdir", str(out), "--append", "rcupdate.rcu_expedited=1", "--verbose",
           "--append", "softlockup_all_cpu_backtrace=1",
           "--append", "hung_task_all_cpu_backtrace=1"]
    if not kernel.guest_has_modules:
        # A tree's kernel: the guest gets its modules from stage_modules, not from vng's
        # own copy in the tree (.virtme_mods, which vng would lay out and then mount).
        cmd.append("--skip-modules")
    for arg in machine.kernel_args:
        cmd += ["--append", arg]
    if not kvm:
        # One host thread runs both vCPUs.  With QEMU 7.2's multi-threaded TCG, a vCPU
        # can keep running a stale translation of kernel text that another vCPU has just
        # patched (a static key flipped as a tracepoint gets its first probe): it loops on
        # an int3 that is no longer in memory, for ever (soft lockups in
        # syscall_trace_enter and asm_exc_int3 on both CPUs; froze one run in three).
        qemu = "-accel tcg,thread=single" + (" -icount shift=0" if instruction_clock else "")
        cmd += ["--disable-kvm", f"--qemu-opts={qemu}"]
    return cmd + ["--", *guest]


def kvm_usable(kernel: kernels.Bootable, out: Path) -> bool:
    """Boot once with KVM and a short deadline; a working KVM boots in seconds."""
    if os.environ.get("PYLTTNG_VM_ACCEL") in ("tcg", "kvm"):
        return os.environ["PYLTTNG_VM_ACCEL"] == "kvm"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    marker = out / "kvm-probe"
    marker.unlink(missing_ok=True)
    cmd = vng_command(kernel, out, True, ["/bin/sh", "-c", f"touch {marker}"])
    if run_vng(cmd, out, subprocess.DEVNULL, timeout=25) is None:
        return False
    return marker.exists()


def run_vng(cmd: list[str], out: Path, stdout: IO[bytes] | int, timeout: float) -> int | None:
    """vng's exit status, or None after killing it on timeout, with all it started.

    vng runs in its own process group: killing vng alone would leave QEMU and virtiofsd
    running (a KVM probe left behind took half a CPU for the rest of a run).
    """
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=vng_env(out), start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def package_tree(dest: Path) -> Path:
    """Lay out this checkout as the `pylttng` package with symlinks, under dest.

    The top-level folders map into one namespace (pyproject's package-dir); with
    dest on PYTHONPATH, Python imports this checkout rather than whichever one is
    installed in editable mode, in the guest as on the host.
    """
    pkg = dest / "pylttng"
    shutil.rmtree(dest, ignore_errors=True)
    pkg.mkdir(parents=True)
    shutil.copy(SRC / "pylttng" / "__init__.py", pkg)
    for part in ("protocol", "sessiond", "consumerd"):
        (pkg / part).symlink_to(SRC / part)
    # The VM tests share the benchmarks' helpers (running a workload, stopping daemons).
    (dest / "bench").symlink_to(SRC / "bench")
    return dest


def stage_modules(kernel: kernels.Bootable, out: Path, kmod: Path) -> None:
    """Run depmod for the guest on the host, into out/modroot.

    depmod in the guest decompresses all 4000 modules under TCG and takes
    minutes; natively it takes a second. The guest copies the resulting
    modules.* index files and pylttng.ko into its /lib/modules overlay, which
    is what `make modules_install` would have left there; a kernel whose modules
    the guest does not see (one built in a tree) gets the link to them as well.
    """
    kver = kernel.release
    tree = out / "modroot" / "lib" / "modules" / kver
    (tree / "extra").mkdir(parents=True)
    (tree / "kernel").symlink_to(kernel.modules / "kernel")
    for index in kernel.modules.glob("modules.builtin*"):
        shutil.copy(index, tree)
    shutil.copy(kernel.modules / "modules.order", tree)
    shutil.copy(kmod / "pylttng.ko", tree / "extra")
    # The stub modules named as LTTng-modules' (the stock lttng-sessiond loads those).
    for stub in (kmod / "stubs").glob("*.ko"):
        shutil.copy(stub, tree / "extra")
    subprocess.run(["depmod", "-b", str(out / "modroot"), kver], check=True)
    if kernel.guest_has_modules:
        (tree / "kernel").unlink()


def boot(kernel: kernels.Bootable, guest: list[str], out: Path, timeout: int,
         machine: Machine = Machine(), exclusive: bool = False) -> int:
    check_kernel(kernel, machine.kmod)
    stage_modules(kernel, out, machine.kmod)
    kvm = kvm_usable(kernel, out)
    booted = machine.on(kvm)
    cmd = vng_command(kernel, out, kvm, guest, booted)
    # What the guest runs on, for bench/run.py's results.json (the guest cannot tell).
    machine_facts = asdict(booted) | {"kmod": str(booted.kmod), "kvm": kvm}
    (out / "machine.json").write_text(json.dumps(machine_facts) + "\n")
    accel = "KVM" if kvm else "TCG, instruction clock" if booted.instruction_clock else "TCG"
    print(f"runner: booting {kernel.release} ({accel}), output in {out}", flush=True)
    # A benchmark's figures must not share the machine with another guest.
    if booted.instruction_clock or exclusive:
        with vm_slots.every_slot():
            return run_guest(cmd, out, timeout)
    with vm_slots.one_slot():
        return run_guest(cmd, out, timeout)


def run_guest(cmd: list[str], out: Path, timeout: int) -> int:
    started = time.monotonic()
    with open(out / "console.log", "wb") as console:
        rc = run_vng(cmd, out, console, timeout)
    if rc is None:
        print(f"runner: the VM did not finish within {timeout} s", file=sys.stderr)
        return 124
    print(f"runner: VM exited {rc} after {time.monotonic() - started:.0f} s", flush=True)
    return rc


def kernel_trouble(dmesg: Path) -> list[str]:
    if not dmesg.exists():
        return ["(no dmesg.txt came back from the guest)"]
    return [line for line in dmesg.read_text(errors="replace").splitlines()
            if KERNEL_TROUBLE.search(line)]


def dmesg_clean(out: Path) -> bool:
    """Report the guest kernel log's trouble, here and in out/dmesg-verdict.txt."""
    trouble = kernel_trouble(out / "dmesg.txt")
    verdict = f"{len(trouble)} trouble lines" if trouble else "clean"
    (out / "dmesg-verdict.txt").write_text(verdict + "\n")
    if trouble:
        print("runner: the guest kernel logged trouble:", *trouble, sep="\n  ", file=sys.stderr)
    return not trouble


def show(path: Path) -> None:
    if path.exists():
        sys.stdout.write(path.read_text(errors="replace"))
        sys.stdout.flush()


def fresh_out(out: Path) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


def check(kernel: kernels.Bootable, out: Path, pytest_args: list[str], timeout: int,
          machine: Machine = Machine()) -> int:
    package_tree(out / "pypath")
    guest = [str(SRC / "tests/vm/guest.sh"), str(SRC), str(out), sys.executable, *pytest_args]
    vm_rc = boot(kernel, guest, out, timeout, machine)
    show(out / "pytest.log")
    rc_file = out / "rc"
    if not rc_file.exists():
        print("runner: the guest left no result; its log and kernel log follow",
              file=sys.stderr)
        show(out / "guest.log")
        show(out / "console.log")
        show(out / "dmesg-live.txt")
        show(out / "ps-live.txt")
        return 1
    rc = int(rc_file.read_text().strip() or 1)
    if not dmesg_clean(out):
        return 1
    print("runner: guest dmesg clean", flush=True)
    return rc if rc != 0 else (0 if vm_rc == 0 else vm_rc)


def demo(kernel: kernels.Bootable, out: Path, timeout: int, machine: Machine = Machine()) -> int:
    package_tree(out / "pypath")
    guest = [str(SRC / "tests/vm/demo.sh"), str(SRC), str(out), sys.executable]
    boot(kernel, guest, out, timeout, machine)
    show(out / "demo.log")
    rc_file = out / "rc"
    rc = int(rc_file.read_text().strip() or 1) if rc_file.exists() else 1
    if rc != 0:
        for log in sorted((out / "logs").glob("*.log")):
            print(f"--- {log.name} ---")
            show(log)
    if not dmesg_clean(out):
        return 1
    return rc


def bench(kernel: kernels.Bootable, out: Path, module: str, args: list[str], timeout: int,
          machine: Machine = Machine()) -> int:
    """Run the benchmark (bench.run) or the profiles (bench.profile) in the guest."""
    package_tree(out / "pypath")
    guest = [str(SRC / "bench/guest.sh"), str(SRC), str(out), sys.executable, module, *args]
    boot(kernel, guest, out, timeout, machine, exclusive=True)
    show(out / "bench.log")
    rc_file = out / "rc"
    rc = int(rc_file.read_text().strip() or 1) if rc_file.exists() else 1
    if not rc_file.exists():
        print("runner: the guest left no result; its log follows", file=sys.stderr)
        show(out / "guest.log")
    if not dmesg_clean(out):
        return 1
    return rc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["check", "demo", "bench", "profile", "pypath"])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--kver", default=os.environ.get("KVER") or None,
                        help="the kernel release to boot (default: $KVER, else the Debian "
                             "default kernel, as the Makefile's KVER)")
    parser.add_argument("--kernel-tree", type=Path, metavar="DIR",
                        help="boot the kernel built in this tree instead (make debug-kernel: "
                             "build/debug-kernel/linux-source-6.1)")
    parser.add_argument("--timeout", type=int, default=2700)
    parser.add_argument("--kernel-arg", action="append", default=[], metavar="ARG",
                        help="one more guest kernel command-line argument (repeatable)")
    parser.add_argument("--instruction-clock", action="store_true",
                        help="one vCPU clocked by QEMU's instruction count (make bench; TCG "
                             "only)")
    parser.add_argument("--kmod", type=Path, default=SRC / "kmod",
                        help="the folder holding pylttng.ko and stubs/*.ko (default: kmod/)")
    parser.add_argument("--module", default="bench.run",
                        help="bench mode: the Python module the guest runs (bench/guest.sh)")
    args, rest = parser.parse_known_args()
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if args.mode == "pypath":
        package_tree(args.out.resolve())
        return 0
    if not (args.kmod / "pylttng.ko").exists():
        sys.exit(f"runner: {args.kmod}/pylttng.ko is missing: run `make` first")
    kernel = (kernels.built_tree(args.kernel_tree.resolve()) if args.kernel_tree
              else kernels.installed(args.kver or kernels.default_release()))
    out = fresh_out(args.out.resolve())
    machine = Machine(tuple(args.kernel_arg), kmod=args.kmod.resolve(),
                      instruction_clock=args.instruction_clock)
    if args.mode == "check":
        return check(kernel, out, rest, args.timeout, machine)
    if args.mode == "bench":
        return bench(kernel, out, args.module, rest, args.timeout, machine)
    if args.mode == "profile":
        return bench(kernel, out, "bench.profile", rest, args.timeout, machine)
    return demo(kernel, out, args.timeout, machine)


if __name__ == "__main__":
    sys.exit(main())
