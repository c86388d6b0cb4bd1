#!/usr/bin/env python3
"""The kernels pylttng supports, and the run that proves it on each (issue 20).

Debian 12 installs six kernels: 6.1 and 6.12, each generic, PREEMPT_RT and cloud.
Each is named here by its Debian metapackage; its release (`uname -r`, what KVER
takes) is what that metapackage depends on.

    kernels.py default             the release of linux-image-amd64 (the Makefile's KVER)
    kernels.py packages            the Debian packages of all six (make kernels)
    kernels.py check [--ci]        DKMS, then build for each, boot and test each (the
                                   guests side by side, tests/vm/vm_slots.py); print the
                                   table (make check-kernels; --ci: the whole suite on
                                   6.1 in two guests, the end-to-end and event-source
                                   tests on 6.12, a smoke test on the RT and cloud
                                   flavours: Kernel.ci_suites)
    kernels.py dkms                `dkms autoinstall` for each, and the refusal beside
                                   Debian's lttng-modules-dkms (kmod/dkms.conf)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import vm_slots

SRC = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Kernel:
    name: str             # what the table calls it
    image: str            # Debian metapackage of the image
    headers: str          # ... and of its headers
    ci_suites: tuple[str, ...]  # what CI runs on it, a guest each (SUITE_ORDER)

    def release(self) -> str | None:
        """The installed release (`uname -r`) the metapackage points at, if installed."""
        probe = subprocess.run(["dpkg-query", "-W", "-f=${Status}|${Depends}", self.image],
                               capture_output=True, text=True, check=False)
        status, _, depends = probe.stdout.partition("|")
        if probe.returncode != 0 or not status.endswith(" installed"):
            return None
        m = re.search(r"linux-image-(\S+)", depends)
        return m[1] if m else None


# CI's share of the VM suite on each kernel, sized to fit two cores in well under an hour
# under TCG: the whole suite runs once, on 6.1, split over two guests side by side;
# `make check-kernels` runs it everywhere.
KERNELS = (
    Kernel("6.1", "linux-image-amd64", "linux-headers-amd64", ("kernel", "daemons")),
    Kernel("6.1 PREEMPT_RT", "linux-image-rt-amd64", "linux-headers-rt-amd64", ("smoke",)),
    Kernel("6.1 cloud", "linux-image-cloud-amd64", "linux-headers-cloud-amd64", ("smoke",)),
    Kernel("6.12", "linux-image-6.12-amd64", "linux-headers-6.12-amd64", ("quick",)),
    Kernel("6.12 PREEMPT_RT", "linux-image-6.12-rt-amd64", "linux-headers-6.12-rt-amd64",
           ("smoke",)),
    Kernel("6.12 cloud", "linux-image-6.12-cloud-amd64", "linux-headers-6.12-cloud-amd64",
           ("smoke",)),
)

# What CI runs on 6.12: the end-to-end path (both daemons), every event source, the
# catalogue count, the reference metadata and the ioctl fuzzer.
QUICK_TESTS = (
    "test_end_to_end.py", "test_stock_daemons.py",
    "test_catalogue.py::test_list_kernel_lists_every_tracepoint",
    "test_syscalls.py", "test_probes.py", "test_uprobes.py", "test_sched_probes.py",
    "test_statedump.py", "test_reference_metadata.py", "test_ioctl_fuzz.py",
)
# What CI runs on the RT and cloud flavours: the module loads, traces end to end through
# pylttng's daemons, lists every tracepoint, and writes the reference metadata.
SMOKE_TESTS = (
    "test_end_to_end.py", "test_catalogue.py::test_list_kernel_lists_every_tracepoint",
    "test_reference_metadata.py",
)
# Tests of the daemons' command handling, networking and files, which no kernel changes:
# CI runs them on 6.1 alone (`make check-kernels` everywhere).
DAEMON_TESTS = (
    "test_rotation.py", "test_save_load.py", "test_tracefiles.py", "test_snapshots.py",
    "test_security.py", "test_streaming.py", "test_streaming_faults.py", "test_live.py",
    "test_absurd_input.py", "test_streaming_rotation.py", "test_multihost.py",
)


# Longest first (kernels.py check runs the suites side by side, tests/vm/vm_slots.py).
SUITE_ORDER = ("full", "kernel", "daemons", "quick", "smoke")


def ci_tests(suite: str) -> list[str]:
    """pytest's arguments for a CI suite: "full", every test; "kernel", every test that
    the kernel can change, through pylttng's daemons only; "daemons", the rest of "full";
    "quick", QUICK_TESTS; "smoke", SMOKE_TESTS. The guest picks them (conftest.py:
    in_ci_suite): a list of files would lengthen the kernel command line that carries
    the guest's command past 6.12's 2048 bytes."""
    return [] if suite == "full" else [f"--ci-suite={suite}"]


def guest_name(release: str, suite: str) -> str:
    """The name of one guest run: its output folder and its log (vm-NAME.log)."""
    return release if suite == "full" else f"{release}.{suite}"


@dataclass(frozen=True)
class Bootable:
    """A kernel the test VM boots (tests/vm/runner.py): an installed Debian kernel, or one
    built in a kernel tree (make debug-kernel)."""

    release: str          # `uname -r`, the module's vermagic
    image: Path           # what vng boots
    modules: Path         # its /lib/modules/RELEASE folder on the host
    guest_has_modules: bool  # the guest sees them at /lib/modules/RELEASE already


def installed(release: str) -> Bootable:
    """A Debian kernel: /boot's image, /lib/modules' modules (the guest shares the host's
    root)."""
    return Bootable(release, Path(f"/boot/vmlinuz-{release}"), Path(f"/lib/modules/{release}"),
                    guest_has_modules=True)


def tree_release(tree: Path) -> str:
    """The release a kernel tree builds, as its modules' vermagic says it (Debian's
    include/config/kernel.release does not)."""
    header = tree / "include" / "generated" / "utsrelease.h"
    m = re.search(r'#define UTS_RELEASE "(.+)"', header.read_text()) if header.exists() else None
    if m is None:
        sys.exit(f"kernels: {tree} is not a configured kernel tree (no {header})")
    return m[1]


def built_tree(tree: Path) -> Bootable:
    """A kernel built in ``tree``: its bzImage, and its modules where
    `make modules_install INSTALL_MOD_PATH=TREE/modroot` puts them
    (tests/vm/debug-kernel.sh does)."""
    release = tree_release(tree)
    return Bootable(release, tree / "arch" / "x86" / "boot" / "bzImage",
                    tree / "modroot" / "lib" / "modules" / release, guest_has_modules=False)


def default_release() -> str:
    release = KERNELS[0].release()
    if release is None:
        sys.exit("kernels: linux-image-amd64 is not installed: run `make deps`")
    return release


@dataclass
class Row:
    kernel: str
    release: str
    dkms: str = "not run"
    build: str = "not run"
    passed: int = 0
    tests: int = 0
    known: int = 0  # strict xfails: known bugs, each failing the day it is fixed
    dmesg: str = "not run"
    listed: str = "-"
    metadata: str = "-"
    seconds: float = 0.0
    guests: list[str] = field(default_factory=list)  # guest_name() of each run
    guests_without_results: int = 0  # a guest that hung or panicked writes no junit

    def green(self) -> bool:
        return (self.dkms == "installed" and self.build == "clean" and self.tests > 0
                and self.guests_without_results == 0
                and self.passed + self.known == self.tests and self.dmesg == "clean")


def build(kver: str, log: Path) -> str:
    """make sparse: the module at W=1 with -Werror, every file through sparse."""
    with open(log, "w") as out:
        rc = subprocess.run(["make", "-C", str(SRC), "sparse", f"KVER={kver}"],
                            stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    return "clean" if rc == 0 else f"FAILED ({log})"


def junit_counts(junit: Path) -> tuple[int, int, int]:
    """(passed, collected, known) from pytest's junit XML: skipped tests do not pass;
    ``known`` counts the expected failures (xfail) among them, the known bugs."""
    if not junit.exists():
        return 0, 0, 0
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    total = int(suite.get("tests", 0))
    bad = sum(int(suite.get(k, 0)) for k in ("failures", "errors", "skipped"))
    known = sum(1 for s in suite.iter("skipped") if s.get("type") == "pytest.xfail")
    return total - bad, total, known


# A differential test's failure names the command and shows both outputs: enough lines to
# read both in CI's log tail, which is all CI keeps.
FAILURE_LINES = 30


def failed_tests(junit: Path) -> list[str]:
    """'test id: the failure message' (its first FAILURE_LINES lines) for each failed or
    erroring test."""
    if not junit.exists():
        return []
    failed = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for bad in (*case.findall("failure"), *case.findall("error")):
            message = (bad.get("message") or bad.text or "").strip().splitlines()
            shown = "\n".join(line[:300] for line in message[:FAILURE_LINES])
            failed.append(f"{case.get('classname')}::{case.get('name')}: "
                          f"{shown or '(no message)'}")
    return failed


def why_red(row: Row, out_root: Path) -> list[str]:
    """What CI's log tail must show about a kernel that did not pass: the failed tests, or
    the end of the guest's log when it produced no results."""
    if row.green():
        return []
    lines = []
    for guest in row.guests:
        out, vm_log = out_root / guest, out_root / f"vm-{guest}.log"
        said = [f"kernels: {guest}: {line}"
                for failure in failed_tests(out / "junit.xml")
                for line in failure.splitlines()]
        troubled = not (out / "junit.xml").exists() or dmesg_verdict(out) != "clean"
        if not said and troubled and vm_log.exists():
            said = [f"kernels: {guest}: {line}"
                    for line in vm_log.read_text(errors="replace").splitlines()[-15:]]
        lines += said
    return lines or [f"kernels: {row.release}: not green (see {out_root})"]


def dmesg_verdict(out: Path) -> str:
    """What runner.py said of the guest kernel log ("clean", "N trouble lines")."""
    verdict = out / "dmesg-verdict.txt"
    return verdict.read_text().strip() if verdict.exists() else "no result"


def catalogue(out: Path) -> str:
    """'listed / tracefs' as test_catalogue.py recorded them in the guest."""
    path = out / "catalogue.json"
    if not path.exists():
        return "-"
    counts = json.loads(path.read_text())
    return f"{counts['listed']} / {counts['tracefs']}"


# --- DKMS -------------------------------------------------------------------------------

def dkms_version() -> str:
    conf = (SRC / "kmod" / "dkms.conf").read_text()
    m = re.search(r'^PACKAGE_VERSION="([^"]+)"', conf, re.MULTILINE)
    assert m, "kmod/dkms.conf has no PACKAGE_VERSION"
    return m[1]


def dkms(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["dkms", *args], capture_output=True, text=True, check=False)


def stage_dkms_source(version: str) -> None:
    """kmod/'s sources (not its build products) as /usr/src/pylttng-VERSION, then `dkms add`."""
    dkms("remove", f"pylttng/{version}", "--all")
    dest = Path(f"/usr/src/pylttng-{version}")
    shutil.rmtree(dest, ignore_errors=True)
    files = subprocess.run(["git", "-C", str(SRC), "ls-files", "--cached", "--others",
                            "--exclude-standard", "kmod"], capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        target = dest / Path(name).relative_to("kmod")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SRC / name, target)
    added = dkms("add", f"pylttng/{version}")
    assert added.returncode == 0, added.stdout + added.stderr


def dkms_installed(release: str, version: str, log: Path) -> str:
    """`dkms autoinstall` for one kernel: 'installed' once the module there is for it."""
    result = dkms("autoinstall", "-k", release)
    log.write_text(result.stdout + result.stderr)
    status = dkms("status", f"pylttng/{version}", "-k", release).stdout
    if "installed" not in status:
        return f"FAILED ({log})"
    modules = list(Path(f"/lib/modules/{release}").rglob("pylttng.ko*"))
    if not modules or not all(module_release(m) == release for m in modules):
        return f"wrong module {modules}"
    return "installed"


def module_release(module: Path) -> str:
    """The kernel release a module was built for (its vermagic's first word)."""
    probe = subprocess.run(["modinfo", "-F", "vermagic", str(module)], capture_output=True,
                           text=True, check=False)
    return probe.stdout.split()[0] if probe.stdout.strip() else ""


def dkms_refused_beside_lttng_modules(release: str, version: str, out_root: Path) -> str:
    """Debian's lttng-modules-dkms unpacked (its files, not its build): pylttng's install
    must be refused, saying why."""
    deb_dir = out_root / "lttng-modules-dkms"
    shutil.rmtree(deb_dir, ignore_errors=True)
    deb_dir.mkdir(parents=True)
    subprocess.run(["apt-get", "download", "-q", "lttng-modules-dkms"], cwd=deb_dir,
                   capture_output=True, check=True)
    [deb] = deb_dir.glob("*.deb")
    dkms("remove", f"pylttng/{version}", "-k", release)
    subprocess.run(["dpkg", "--unpack", str(deb)], capture_output=True, check=True)
    try:
        result = dkms("install", f"pylttng/{version}", "-k", release)
    finally:
        subprocess.run(["dpkg", "--purge", "lttng-modules-dkms"], capture_output=True,
                       check=True)
    said = "conflicts with LTTng-modules" in result.stdout + result.stderr
    if result.returncode != 0 and said:
        return "refused beside lttng-modules-dkms, saying why"
    return f"NOT refused (rc {result.returncode})"


def dkms_check(rows: list[Row], out_root: Path) -> str:
    """DKMS on every installed kernel; the conflict with lttng-modules-dkms on the first."""
    version = dkms_version()
    out_root.mkdir(parents=True, exist_ok=True)
    stage_dkms_source(version)
    try:
        for row in rows:
            if "not installed" not in row.release:
                row.dkms = dkms_installed(row.release, version,
                                          out_root / f"dkms-{row.release}.log")
        return dkms_refused_beside_lttng_modules(rows[0].release, version, out_root)
    finally:
        dkms("remove", f"pylttng/{version}", "--all")
        shutil.rmtree(f"/usr/src/pylttng-{version}", ignore_errors=True)


# --- build, boot, test -----------------------------------------------------------------------

def metadata_differences(out: Path) -> str:
    """How many kernel-caused differences test_reference_metadata.py found (pylttng's)."""
    path = out / "metadata-differences-pylttng.txt"
    return path.read_text().split()[0] if path.exists() else "-"


def module_copy(out_root: Path, release: str) -> Path:
    return out_root / f"kmod-{release}"


def copy_modules(kmod: Path) -> None:
    """kmod/'s pylttng.ko and stubs/*.ko into ``kmod`` (runner.py --kmod), afresh."""
    shutil.rmtree(kmod, ignore_errors=True)
    (kmod / "stubs").mkdir(parents=True)
    shutil.copy(SRC / "kmod" / "pylttng.ko", kmod)
    for stub in (SRC / "kmod" / "stubs").glob("*.ko"):
        shutil.copy(stub, kmod / "stubs")


def build_one(row: Row, out_root: Path) -> None:
    """Build (W=1, sparse) for one kernel; keep a copy of the modules for its guest, since
    kmod/ holds one kernel's build at a time."""
    started = time.monotonic()
    row.build = build(row.release, out_root / f"build-{row.release}.log")
    if row.build == "clean":
        copy_modules(module_copy(out_root, row.release))
    row.seconds += time.monotonic() - started


@dataclass
class GuestRun:
    """One guest's share of a kernel's tests (test_one), added to its row (add_run)."""
    guest: str
    passed: int
    tests: int
    known: int
    dmesg: str
    listed: str
    metadata: str
    seconds: float


# How long a guest may run before the runner stops it: a hung command is caught far sooner
# by the tests' own timeouts, so this only stops a guest that hangs as a whole, and it
# leaves room for a machine that runs TCG guests slower than usual.
GUEST_TIMEOUT_S = 4800


def test_one(release: str, suite: str, out_root: Path) -> GuestRun:
    """Boot the kernel and run one CI suite (or the whole suite) in a guest."""
    started = time.monotonic()
    guest = guest_name(release, suite)
    out = out_root / guest
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(SRC / "tests" / "vm" / "runner.py"), "check",
           "--kver", release, "--out", str(out), "--timeout", str(GUEST_TIMEOUT_S),
           "--kmod", str(module_copy(out_root, release)), "--", *ci_tests(suite)]
    with open(out_root / f"vm-{guest}.log", "w") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    return GuestRun(guest, *junit_counts(out / "junit.xml"), dmesg_verdict(out),
                    catalogue(out), metadata_differences(out), time.monotonic() - started)


def add_run(row: Row, run: GuestRun) -> None:
    """Count one guest's results in its kernel's row: the log is clean only if every
    guest's was; the catalogue and metadata figures come from the guest that ran them;
    the time is the machine time of the build and every guest (side by side, they
    overlap)."""
    first = not row.guests
    row.guests.append(run.guest)
    row.guests_without_results += run.tests == 0
    row.passed += run.passed
    row.tests += run.tests
    row.known += run.known
    if first or row.dmesg == "clean":
        row.dmesg = run.dmesg
    if run.listed != "-":
        row.listed = run.listed
    if run.metadata != "-":
        row.metadata = run.metadata
    row.seconds += run.seconds


def table(rows: list[Row], suites: dict[str, tuple[str, ...]]) -> str:
    header = ("| kernel | release | DKMS | build (W=1, sparse) | VM tests passed | guest dmesg "
              "| tracepoints listed / tracefs | kernel-caused metadata differences | time |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        chosen = suites.get(r.kernel, ("full",))
        suite = "" if chosen == ("full",) else f" ({' + '.join(chosen)})"
        known = f", {r.known} known failures (xfail)" if r.known else ""
        lines.append(f"| {r.kernel} | {r.release} | {r.dkms} | {r.build} | "
                     f"{r.passed} / {r.tests}{suite}{known} | {r.dmesg} | {r.listed} | "
                     f"{r.metadata} | {r.seconds:.0f} s |")
    return "\n".join(lines)


def installed_rows() -> list[Row]:
    return [Row(k.name, k.release() or f"{k.image} not installed (make kernels)")
            for k in KERNELS]


def check(ci: bool, out_root: Path) -> int:
    out_root.mkdir(parents=True, exist_ok=True)
    rows = installed_rows()
    suites = {k.name: k.ci_suites if ci else ("full",) for k in KERNELS}
    conflict = dkms_check(rows, out_root)
    print(f"kernels: DKMS: {conflict}", flush=True)
    installed = [row for row in rows if "not installed" not in row.release]
    # The longest suites first, so that the guests side by side end near together; a
    # kernel's guests start as soon as its module is built (a build keeps one core busy).
    installed.sort(key=lambda row: min(map(SUITE_ORDER.index, suites[row.kernel])))
    with ThreadPoolExecutor(vm_slots.count()) as guests:
        runs: dict[Future[GuestRun], Row] = {}
        for row in installed:
            print(f"kernels: building for {row.kernel}", flush=True)
            build_one(row, out_root)
            if row.build == "clean":
                for suite in sorted(suites[row.kernel], key=SUITE_ORDER.index):
                    runs[guests.submit(test_one, row.release, suite, out_root)] = row
        for run in as_completed(runs):
            row = runs[run]
            add_run(row, run.result())
            print(table([row], suites).splitlines()[-1], flush=True)
    text = table(rows, suites) + f"\n\nDKMS beside Debian's lttng-modules-dkms: {conflict}."
    (out_root / "table.md").write_text(text + "\n")
    # Leave the default kernel's module in kmod/, as plain `make` would.
    subprocess.run(["make", "-C", str(SRC), "modules", f"KVER={default_release()}"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    # Last, so that the end of CI's log says what failed.
    print(text)
    for row in rows:
        for line in why_red(row, out_root):
            print(line)
    return 0 if all(r.green() for r in rows) and conflict.startswith("refused") else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["default", "packages", "check", "dkms"])
    parser.add_argument("--ci", action="store_true")
    parser.add_argument("--out", type=Path, default=SRC / "build" / "kernels")
    args = parser.parse_args()
    if args.mode == "default":
        print(default_release())
        return 0
    if args.mode == "packages":
        print(" ".join(p for k in KERNELS for p in (k.image, k.headers)))
        return 0
    if args.mode == "dkms":
        rows = installed_rows()
        conflict = dkms_check(rows, args.out.resolve())
        print(table(rows, {}), f"\nDKMS beside Debian's lttng-modules-dkms: {conflict}.")
        return 0 if all(r.dkms == "installed" for r in rows) and \
            conflict.startswith("refused") else 1
    return check(args.ci, args.out.resolve())


if __name__ == "__main__":
    sys.exit(main())
