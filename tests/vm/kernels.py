#!/usr/bin/env python3
"""The kernels pylttng supports, and the run that proves it on each (issue 20).

Debian 12 installs six kernels: 6.1 and 6.12, each generic, PREEMPT_RT and cloud.
Each is named here by its Debian metapackage; its release (`uname -r`, what KVER
takes) is what that metapackage depends on.

    kernels.py default             the release of linux-image-amd64 (the Makefile's KVER)
    kernels.py packages            the Debian packages of all six (make kernels)
    kernels.py check [--ci]        build, boot and test on each; print the table
                                   (make check-kernels; --ci: the RT and cloud
                                   flavours run the end-to-end and event-source
                                   tests only)
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Kernel:
    name: str             # what the table calls it
    image: str            # Debian metapackage of the image
    headers: str          # ... and of its headers
    full_in_ci: bool      # CI runs the whole VM suite on it (else QUICK_TESTS)

    def release(self) -> str | None:
        """The installed release (`uname -r`) the metapackage points at, if installed."""
        probe = subprocess.run(["dpkg-query", "-W", "-f=${Status}|${Depends}", self.image],
                               capture_output=True, text=True, check=False)
        status, _, depends = probe.stdout.partition("|")
        if probe.returncode != 0 or not status.endswith(" installed"):
            return None
        m = re.search(r"linux-image-(\S+)", depends)
        return m[1] if m else None


KERNELS = (
    Kernel("6.1", "linux-image-amd64", "linux-headers-amd64", True),
    Kernel("6.1 PREEMPT_RT", "linux-image-rt-amd64", "linux-headers-rt-amd64", False),
    Kernel("6.1 cloud", "linux-image-cloud-amd64", "linux-headers-cloud-amd64", False),
    Kernel("6.12", "linux-image-6.12-amd64", "linux-headers-6.12-amd64", True),
    Kernel("6.12 PREEMPT_RT", "linux-image-6.12-rt-amd64", "linux-headers-6.12-rt-amd64",
           False),
    Kernel("6.12 cloud", "linux-image-6.12-cloud-amd64", "linux-headers-6.12-cloud-amd64",
           False),
)

# What CI runs on the RT and cloud flavours: the end-to-end path (both daemons) and
# every event source.
QUICK_TESTS = (
    "test_end_to_end.py", "test_stock_daemons.py", "test_catalogue.py",
    "test_syscalls.py", "test_probes.py", "test_uprobes.py", "test_sched_probes.py",
    "test_statedump.py", "test_reference_metadata.py",
)


def default_release() -> str:
    release = KERNELS[0].release()
    if release is None:
        sys.exit("kernels: linux-image-amd64 is not installed: run `make deps`")
    return release


@dataclass
class Row:
    kernel: str
    release: str
    build: str = "not run"
    passed: int = 0
    tests: int = 0
    dmesg: str = "not run"
    listed: str = "-"
    seconds: float = 0.0

    def green(self) -> bool:
        return (self.build == "clean" and self.tests > 0 and self.passed == self.tests
                and self.dmesg == "clean")


def build(kver: str, log: Path) -> str:
    """make sparse: the module at W=1 with -Werror, every file through sparse."""
    with open(log, "w") as out:
        rc = subprocess.run(["make", "-C", str(SRC), "sparse", f"KVER={kver}"],
                            stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    return "clean" if rc == 0 else f"FAILED ({log})"


def junit_counts(junit: Path) -> tuple[int, int]:
    """(passed, collected) from pytest's junit XML; skipped tests do not pass."""
    if not junit.exists():
        return 0, 0
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    total = int(suite.get("tests", 0))
    bad = sum(int(suite.get(k, 0)) for k in ("failures", "errors", "skipped"))
    return total - bad, total


def catalogue(out: Path) -> str:
    """'listed / tracefs' as test_catalogue.py recorded them in the guest."""
    path = out / "catalogue.json"
    if not path.exists():
        return "-"
    counts = json.loads(path.read_text())
    return f"{counts['listed']} / {counts['tracefs']}"


def check_one(kernel: Kernel, quick: bool, out_root: Path) -> Row:
    release = kernel.release()
    if release is None:
        return Row(kernel.name, f"{kernel.image} not installed (make kernels)")
    row = Row(kernel.name, release)
    started = time.monotonic()
    out = out_root / release
    out.mkdir(parents=True, exist_ok=True)
    row.build = build(release, out_root / f"build-{release}.log")
    if row.build != "clean":
        return row
    tests = [str(SRC / "tests" / "vm" / t) for t in QUICK_TESTS] if quick else []
    cmd = [sys.executable, str(SRC / "tests" / "vm" / "runner.py"), "check",
           "--kver", release, "--out", str(out), "--", *tests]
    with open(out_root / f"vm-{release}.log", "w") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    row.passed, row.tests = junit_counts(out / "junit.xml")
    verdict = out / "dmesg-verdict.txt"
    row.dmesg = verdict.read_text().strip() if verdict.exists() else "no result"
    row.listed = catalogue(out)
    row.seconds = time.monotonic() - started
    return row


def table(rows: list[Row], quick_names: set[str]) -> str:
    lines = ["| kernel | release | build (W=1, sparse) | VM tests passed | guest dmesg | "
             "tracepoints listed / tracefs | time |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        suite = " (quick)" if r.kernel in quick_names else ""
        lines.append(f"| {r.kernel} | {r.release} | {r.build} | {r.passed} / {r.tests}{suite} "
                     f"| {r.dmesg} | {r.listed} | {r.seconds:.0f} s |")
    return "\n".join(lines)


def check(ci: bool, out_root: Path) -> int:
    out_root.mkdir(parents=True, exist_ok=True)
    rows = []
    quick_names = {k.name for k in KERNELS if ci and not k.full_in_ci}
    for kernel in KERNELS:
        print(f"kernels: {kernel.name}", flush=True)
        rows.append(check_one(kernel, kernel.name in quick_names, out_root))
        print(table(rows[-1:], quick_names).splitlines()[-1], flush=True)
    text = table(rows, quick_names)
    (out_root / "table.md").write_text(text + "\n")
    print(text)
    # Leave the default kernel's module in kmod/, as plain `make` would.
    subprocess.run(["make", "-C", str(SRC), "modules", f"KVER={default_release()}"],
                   stdout=subprocess.DEVNULL, check=False)
    return 0 if all(r.green() for r in rows) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["default", "packages", "check"])
    parser.add_argument("--ci", action="store_true")
    parser.add_argument("--out", type=Path, default=SRC / "build" / "kernels")
    args = parser.parse_args()
    if args.mode == "default":
        print(default_release())
        return 0
    if args.mode == "packages":
        print(" ".join(p for k in KERNELS for p in (k.image, k.headers)))
        return 0
    return check(args.ci, args.out.resolve())


if __name__ == "__main__":
    sys.exit(main())
