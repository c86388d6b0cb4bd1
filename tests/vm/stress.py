#!/usr/bin/env python3
"""`make stress` in the VM (issue 23): the whole VM suite in its long form (`--stress`),
the ioctl fuzzer included, on one kernel — by default the debug kernel of
`make debug-kernel`, whose KASAN, lockdep, UBSAN and kmemleak reports fail a run
(runner.py: KERNEL_TROUBLE; guest.sh scans kmemleak at the end).

Under the debug kernel the suite runs several times slower, so it is split into lanes, one
per VM slot (vm_slots.py), that run side by side: the test files are dealt out longest
first, each file's length taken from the last junit XML that timed it. A lane boots one
guest per batch of files (GUEST_TESTS_S).

The whole suite outlasts a working session, so a run resumes: OUT/record.json keeps each
guest's verdicts as it ends, and a new run runs only the files not passed yet. A test
file passes when each of its tests did, in a guest whose kernel log stayed clean and
whose kmemleak scan ran, and stays passed while the code it ran is the same: the kernel
build, the product, the VM harness, the file and the test files it imports.

    stress.py [--kernel-tree DIR] [--out DIR] [test_x.py ...]

(the named VM test files only, when given).

The module is built for that kernel (W=1, -Werror) into OUT/kmod. Prints, and writes to
OUT/stress.md, how many files passed, the suite's time (each run's lanes side by side,
summed over the runs), a line per guest (tests passed, guest kernel log, kmemleak scan,
time) and the figures the tests print under --stress (fuzzed ioctls, session cycles,
events accounted, ...). Exits 0 only once every file has passed.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import heapq
import json
import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import kernels
import vm_slots

SRC = Path(__file__).resolve().parents[2]
VM_TESTS = SRC / "tests" / "vm"
# A file that no earlier guest timed: about what one takes on the debug kernel, so that a
# first run's batches are not hours long.
UNKNOWN_FILE_S = 600.0
# A lane boots a guest for each batch of files of about this many seconds of tests: each
# guest's verdicts are kept as it ends, so a run cut short loses one batch at most.
GUEST_TESTS_S = 45 * 60
GUEST_TIMEOUT_S = 3 * 3600
# What the tests print under -rA for the closing note: a line starting with "figure: ".
FIGURE = re.compile(r"^figure: (.*)$", re.MULTILINE)


@dataclass
class Lane:
    """The test files one VM slot runs, one guest after another (guests())."""

    number: int
    files: list[str] = field(default_factory=list)
    weight: float = 0.0


@dataclass
class Guest:
    """One guest of a lane, booted for a few of its files; what it found."""

    lane: int
    files: list[str]
    counts: dict[str, list[int]] = field(default_factory=dict)  # file: [passed, tests]
    dmesg: str = "not run"
    # With kmemleak in the kernel, a leak is only reported by the scan guest.sh starts at
    # the end: a guest whose scan did not run has not shown it leaked nothing.
    leak_scan: str = "not run"
    seconds: float = 0.0
    run: int = 0  # which `make stress` run booted it (Record.runs)
    out: str = ""  # its output folder under OUT
    keys: dict[str, str] = field(default_factory=dict)  # file: what it ran (file_keys())

    def clean(self) -> bool:
        return self.dmesg == "clean" and self.leak_scan in ("done", "no kmemleak")

    def passed(self, name: str, key: str) -> bool:
        passed, tests = self.counts.get(name, [0, 0])
        return self.keys.get(name) == key and self.clean() and 0 < tests == passed


@dataclass
class Record:
    """Every guest of every run, kept in OUT/record.json as each guest ends. A test file
    has passed for good once a guest passed it with the code it runs still the same
    (file_keys()): a run cut short, or one after a change to a few test files, runs only
    the files not passed yet, and the report covers the whole suite."""

    runs: int = 0
    guests: list[Guest] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Record:
        if not path.exists():
            return cls()
        kept = json.loads(path.read_text())
        return cls(kept["runs"], [Guest(**g) for g in kept["guests"]])

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self), indent=1))
        tmp.replace(path)

    def passed(self, name: str, key: str) -> bool:
        return any(g.passed(name, key) for g in self.guests)

    def current(self, keys: dict[str, str]) -> list[Guest]:
        """The guests that ran one of these files as it is now."""
        return [g for g in self.guests if any(g.keys.get(f) == k for f, k in keys.items())]

    def seconds(self, keys: dict[str, str]) -> float:
        """The suite's time: the runs of the current guests, each run's lanes side by side
        (its longest lane), summed."""
        total = 0.0
        for run in {g.run for g in self.current(keys)}:
            lanes: dict[int, float] = {}
            for g in self.guests:
                if g.run == run:
                    lanes[g.lane] = lanes.get(g.lane, 0.0) + g.seconds
            total += max(lanes.values())
        return total


# What every VM test runs besides its own file: the product, the benchmark helpers the
# tests import, and the VM harness (tests/vm's files other than test_*.py).
SHARED = ("kmod/", "sessiond/", "consumerd/", "protocol/", "bench/", "pylttng/",
          "pyproject.toml", "Makefile", "tests/vm/")
ORCHESTRATION = "tests/vm/stress.py"  # deals the files out; runs none of them
IMPORTED_TEST = re.compile(r"^(?:from|import) (test_\w+)", re.MULTILINE)


def tracked_blobs() -> dict[str, str]:
    """Each tracked file's git blob id, of its content in the work tree."""
    def git(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(["git", "-C", str(SRC), *args], capture_output=True, text=True,
                              input=stdin, check=True).stdout

    paths = [p for p in git("ls-files").splitlines() if (SRC / p).is_file()]
    blobs = git("hash-object", "--stdin-paths", stdin="\n".join(paths) + "\n").split()
    return dict(zip(paths, blobs, strict=True))


def file_keys(files: list[str], blobs: dict[str, str], kernel: str) -> dict[str, str]:
    """What a verdict on each test file holds for: the kernel build, the shared code, the
    file and the test files it imports (their helpers), as they are now."""
    shared = hashlib.sha256(kernel.encode())
    for path in sorted(blobs):
        if (path.startswith(SHARED) and path != ORCHESTRATION
                and not Path(path).name.startswith("test_")):
            shared.update(f"{path} {blobs[path]}\n".encode())

    def own(name: str, seen: set[str]) -> set[str]:
        if name not in seen and (VM_TESTS / name).is_file():
            seen.add(name)
            for module in IMPORTED_TEST.findall((VM_TESTS / name).read_text()):
                own(f"{module}.py", seen)
        return seen

    keys = {}
    for name in files:
        digest = shared.copy()
        for dep in sorted(own(name, set())):
            digest.update(f"{dep} {blobs.get(f'tests/vm/{dep}', 'untracked')}\n".encode())
        keys[name] = digest.hexdigest()
    return keys


def kernel_build(tree: Path | None, release: str) -> str:
    """make debug-kernel's marker, which names its config fragment; else the release."""
    built = tree.parent / "built" if tree else None
    return built.read_text() if built and built.exists() else release


def file_seconds(junits: list[Path]) -> dict[str, float]:
    """Each test file's total run time in earlier guests' junit XML (classname test_x.Y),
    the newest XML's figure when several timed it."""
    seconds: dict[str, float] = {}
    for junit in sorted((j for j in junits if j.exists()), key=lambda j: j.stat().st_mtime):
        timed: dict[str, float] = {}
        for case in ET.parse(junit).getroot().iter("testcase"):
            name = test_file(case)
            if name is not None:
                timed[name] = timed.get(name, 0.0) + float(case.get("time") or 0.0)
        seconds.update(timed)
    return seconds


def file_counts(junit: Path) -> dict[str, list[int]]:
    """[passed, tests] of each test file in a junit XML; skipped tests do not pass."""
    counts: dict[str, list[int]] = {}
    if not junit.exists():
        return counts
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = test_file(case)
        if name is None:
            continue
        count = counts.setdefault(name, [0, 0])
        count[1] += 1
        if not any(case.findall(k) for k in ("failure", "error", "skipped")):
            count[0] += 1
    return counts


def test_file(case: ET.Element) -> str | None:
    modules = [p for p in (case.get("classname") or "").split(".") if p.startswith("test_")]
    return f"{modules[0]}.py" if modules else None


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


def guests(lane: Lane, seconds: dict[str, float], limit: float) -> list[list[str]]:
    """The lane's files in guests of at most ``limit`` seconds of tests each (a longer
    file alone), in the lane's order."""
    split: list[list[str]] = []
    length = 0.0
    for name in lane.files:
        took = seconds.get(name, UNKNOWN_FILE_S)
        if not split or length + took > limit:
            split.append([])
            length = 0.0
        split[-1].append(name)
        length += took
    return split


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


def run_guest(guest: Guest, tree: Path | None, kmod: Path, out: Path) -> Guest:
    boot = ["--kernel-tree", str(tree)] if tree else []
    cmd = [sys.executable, str(VM_TESTS / "runner.py"), "check", *boot, "--kmod", str(kmod),
           "--out", str(out), "--timeout", str(GUEST_TIMEOUT_S), "--", "--stress",
           *(str(VM_TESTS / name) for name in guest.files)]
    started = time.monotonic()
    with open(out.with_suffix(".log"), "w") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    guest.seconds = time.monotonic() - started
    guest.counts = file_counts(out / "junit.xml")
    guest.dmesg = kernels.dmesg_verdict(out)
    if not has_kmemleak(tree):
        guest.leak_scan = "no kmemleak"
    else:
        guest.leak_scan = "done" if (out / "kmemleak.txt").exists() else "missing"
    return guest


def figures(out_root: Path, guests: list[Guest]) -> list[str]:
    found = []
    for guest in guests:
        log = out_root / guest.out / "pytest.log"
        if log.exists():
            found += FIGURE.findall(log.read_text(errors="replace"))
    return found


def report(record: Record, keys: dict[str, str], found: list[str], release: str) -> str:
    passed = [f for f, key in keys.items() if record.passed(f, key)]
    current = record.current(keys)
    head = (f"make stress on {release}: {len(passed)} of {len(keys)} test files passed, "
            f"{record.seconds(keys):.0f} s of lanes side by side over "
            f"{len({g.run for g in current})} run(s)")
    lines = [head, "", "| run | lane | files | tests passed | guest kernel log | kmemleak scan | time |",
             "|---|---|---|---|---|---|---:|"]
    for g in current:
        ok = sum(c[0] for c in g.counts.values())
        tests = sum(c[1] for c in g.counts.values())
        lines.append(f"| {g.run} | {g.lane} | {len(g.files)} | {ok} / {tests} | {g.dmesg} | "
                     f"{g.leak_scan} | {g.seconds:.0f} s |")
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
    kept = out_root / "record.json"
    record = Record.load(kept)
    keys = file_keys(files, tracked_blobs(), kernel_build(tree, release))
    todo = [f for f in files if not record.passed(f, keys[f])]
    if len(todo) < len(files):
        print(f"stress: resuming: {len(files) - len(todo)} of {len(files)} files passed "
              "earlier with the code they run unchanged")
    record.runs += 1
    build_module(tree, out_root / "kmod", out_root / "build.log")
    seconds = file_seconds(sorted(out_root.glob("*/junit.xml")))
    lanes = deal(todo, seconds, vm_slots.count())
    lock = threading.Lock()

    def run_lane(lane: Lane) -> None:
        for index, batch in enumerate(guests(lane, seconds, GUEST_TESTS_S)):
            guest = Guest(lane.number, batch, run=record.runs,
                          out=f"run-{record.runs}-lane-{lane.number}-{index}",
                          keys={f: keys[f] for f in batch})
            print(f"stress: run {record.runs}, lane {lane.number}: {' '.join(batch)}",
                  flush=True)
            run_guest(guest, tree, out_root / "kmod", out_root / guest.out)
            with lock:
                record.guests.append(guest)
                record.save(kept)

    with ThreadPoolExecutor(max(len(lanes), 1)) as slots:
        list(slots.map(run_lane, lanes))
    text = report(record, keys, figures(out_root, record.current(keys)), release)
    (out_root / "stress.md").write_text(text + "\n")
    print(text)
    for guest in record.guests:
        if guest.run == record.runs and not all(guest.passed(f, keys[f]) for f in guest.files):
            print(f"stress: {out_root / guest.out} is not green: {' '.join(guest.files)}")
            for failure in kernels.failed_tests(out_root / guest.out / "junit.xml"):
                for line in failure.splitlines():
                    print(f"stress: lane {guest.lane}: {line}")
    return 0 if all(record.passed(f, keys[f]) for f in files) else 1


if __name__ == "__main__":
    sys.exit(main())
