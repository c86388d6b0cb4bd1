#!/usr/bin/env python3
"""`make stress` in the VM (issue 23): the whole VM suite in its long form (`--stress`),
the ioctl fuzzer included, on one kernel — by default the debug kernel of
`make debug-kernel`, whose KASAN, lockdep, UBSAN and kmemleak reports fail a run
(runner.py: KERNEL_TROUBLE; guest.sh scans kmemleak at the end).

Under the debug kernel the suite runs several times slower, so it is split into lanes, one
per VM slot (vm_slots.py), that run side by side: the test files are dealt out longest
first, each file's length taken from the last run's junit XML when there is one.

    stress.py [--kernel-tree DIR] [--out DIR] [test_x.py ...]

(the named VM test files only, when given).

The module is built for that kernel (W=1, -Werror) into OUT/kmod. Prints, and writes to
OUT/stress.md, a line per lane (tests passed, guest kernel log, time) and the figures the
tests print under --stress (fuzzed ioctls, session cycles, events accounted, ...).
Exits 0 only if every lane passed with a clean guest kernel log.
"""

from __future__ import annotations

import argparse
import heapq
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import kernels
import vm_slots

SRC = Path(__file__).resolve().parents[2]
VM_TESTS = SRC / "tests" / "vm"
UNKNOWN_FILE_S = 120.0  # a file that no earlier run timed
LANE_TIMEOUT_S = 6 * 3600
# What the tests print under -rA for the closing note: a line starting with "figure: ".
FIGURE = re.compile(r"^figure: (.*)$", re.MULTILINE)


@dataclass
class Lane:
    number: int
    files: list[str] = field(default_factory=list)
    weight: float = 0.0
    passed: int = 0
    tests: int = 0
    dmesg: str = "not run"
    # With kmemleak in the kernel, a leak is only reported by the scan guest.sh starts at
    # the end: a lane whose scan did not run has not shown it leaked nothing.
    leak_scan: str = "not run"
    seconds: float = 0.0

    def green(self) -> bool:
        return (self.tests > 0 and self.passed == self.tests and self.dmesg == "clean"
                and self.leak_scan in ("done", "no kmemleak"))


def file_seconds(junits: list[Path]) -> dict[str, float]:
    """Each test file's total run time in earlier lanes' junit XML (classname test_x.Y)."""
    seconds: dict[str, float] = {}
    for junit in junits:
        if not junit.exists():
            continue
        for case in ET.parse(junit).getroot().iter("testcase"):
            modules = [p for p in (case.get("classname") or "").split(".")
                       if p.startswith("test_")]
            if modules:
                name = f"{modules[0]}.py"
                seconds[name] = seconds.get(name, 0.0) + float(case.get("time") or 0.0)
    return seconds


def deal(files: list[str], seconds: dict[str, float], lanes: int) -> list[Lane]:
    """Longest file first, each to the lane with the least work so far."""
    dealt = [Lane(n) for n in range(lanes)]
    heap = [(0.0, n) for n in range(lanes)]
    for name in sorted(files, key=lambda f: (-seconds.get(f, UNKNOWN_FILE_S), f)):
        weight, n = heapq.heappop(heap)
        dealt[n].files.append(name)
        dealt[n].weight = weight + seconds.get(name, UNKNOWN_FILE_S)
        heapq.heappush(heap, (dealt[n].weight, n))
    return [lane for lane in dealt if lane.files]


def build_module(tree: Path | None, kmod: Path, log: Path) -> None:
    """The module for that kernel, copied to ``kmod`` (kmod/ holds one kernel's build)."""
    target = [f"KERNELDIR={tree}"] if tree else [f"KVER={kernels.default_release()}"]
    with open(log, "w") as out:
        built = subprocess.run(["make", "-C", str(SRC), "modules", *target], stdout=out,
                               stderr=subprocess.STDOUT, check=False)
    if built.returncode != 0:
        sys.exit(f"stress: the module did not build: {log}")
    kernels.copy_modules(kmod)


def has_kmemleak(tree: Path | None) -> bool:
    return tree is not None and "CONFIG_DEBUG_KMEMLEAK=y" in (
        (tree / ".config").read_text().splitlines())


def run_lane(lane: Lane, tree: Path | None, kmod: Path, out_root: Path) -> Lane:
    out = out_root / f"lane-{lane.number}"
    boot = ["--kernel-tree", str(tree)] if tree else []
    cmd = [sys.executable, str(VM_TESTS / "runner.py"), "check", *boot, "--kmod", str(kmod),
           "--out", str(out), "--timeout", str(LANE_TIMEOUT_S), "--", "--stress",
           *(str(VM_TESTS / name) for name in lane.files)]
    started = time.monotonic()
    with open(out_root / f"lane-{lane.number}.log", "w") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    lane.seconds = time.monotonic() - started
    lane.passed, lane.tests, _ = kernels.junit_counts(out / "junit.xml")
    lane.dmesg = kernels.dmesg_verdict(out)
    if not has_kmemleak(tree):
        lane.leak_scan = "no kmemleak"
    else:
        lane.leak_scan = "done" if (out / "kmemleak.txt").exists() else "missing"
    return lane


def figures(out_root: Path, lanes: list[Lane]) -> list[str]:
    found = []
    for lane in lanes:
        log = out_root / f"lane-{lane.number}" / "pytest.log"
        if log.exists():
            found += FIGURE.findall(log.read_text(errors="replace"))
    return found


def report(lanes: list[Lane], found: list[str], release: str, seconds: float) -> str:
    lines = [f"make stress on {release}: {seconds:.0f} s for {len(lanes)} lanes side by side",
             "", "| lane | files | tests passed | guest kernel log | kmemleak scan | time |",
             "|---|---|---|---|---|---:|"]
    for lane in lanes:
        lines.append(f"| {lane.number} | {len(lane.files)} | {lane.passed} / {lane.tests} | "
                     f"{lane.dmesg} | {lane.leak_scan} | {lane.seconds:.0f} s |")
    return "\n".join([*lines, "", *(f"- {f}" for f in found)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel-tree", type=Path, metavar="DIR",
                        help="the kernel tree to boot (make debug-kernel's); default: the "
                             "Debian default kernel")
    parser.add_argument("--out", type=Path, default=SRC / "build" / "stress")
    parser.add_argument("files", nargs="*", metavar="test_x.py",
                        help="these VM test files only (default: every one)")
    args = parser.parse_args()
    tree = args.kernel_tree.resolve() if args.kernel_tree else None
    out_root = args.out.resolve()
    out_root.mkdir(parents=True, exist_ok=True)
    release = kernels.tree_release(tree) if tree else kernels.default_release()
    files = args.files or sorted(p.name for p in VM_TESTS.glob("test_*.py"))
    if missing := [f for f in files if not (VM_TESTS / f).is_file()]:
        sys.exit(f"stress: no such VM test file: {' '.join(missing)}")
    started = time.monotonic()
    build_module(tree, out_root / "kmod", out_root / "build.log")
    seconds = file_seconds(sorted(out_root.glob("lane-*/junit.xml")))
    lanes = deal(files, seconds, vm_slots.count())
    for lane in lanes:
        print(f"stress: lane {lane.number}: {' '.join(lane.files)}", flush=True)
    with ThreadPoolExecutor(len(lanes)) as guests:
        done = list(guests.map(lambda lane: run_lane(lane, tree, out_root / "kmod", out_root),
                               lanes))
    text = report(done, figures(out_root, done), release, time.monotonic() - started)
    (out_root / "stress.md").write_text(text + "\n")
    print(text)
    for lane in done:
        if not lane.green():
            print(f"stress: lane {lane.number} is not green: {out_root}/lane-{lane.number}.log")
            for failure in kernels.failed_tests(out_root / f"lane-{lane.number}" / "junit.xml"):
                for line in failure.splitlines():
                    print(f"stress: lane {lane.number}: {line}")
    return 0 if done and all(lane.green() for lane in done) else 1


if __name__ == "__main__":
    sys.exit(main())
