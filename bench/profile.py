"""Where the time goes, for the targets `make bench` reports missed (issue 4).

Run in the test VM by `make profile` (tests/vm/runner.py profile):

- the daemons, sampled by py-spy while they work: pylttng-sessiond during create..destroy
  cycles (control plane), pylttng-consumerd draining a syscall loop's trace in mmap and in
  splice output (consumer CPU per MB);
- the producer, sampled by `perf record -a -g` (kernel stacks): the syscall loop traced by
  pylttng, and by ftrace for comparison; the loop's own samples.

Each profile is kept raw and summarised as the frames holding the most samples, by self
and by total share, in OUT/profiles/<name>.txt; the summaries are also printed.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .control import timed_cycle
from .run import CLOCKSOURCE, CONSUMER_CPU, FULL, consumer_loop, only_steps
from .tracers import Daemons, Ftrace, Lttng, Tracer
from .workloads import SyscallLoop, execute

TOP = 25  # frames shown per table


def summarize_collapsed(lines: list[str]) -> str:
    """Top frames of collapsed stacks ("outer;...;inner COUNT"), by self and total share."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    if not samples:
        return "no samples\n"
    out = [f"{samples} samples", "", "self %  frame"]
    out += [f"{100 * n / samples:6.1f}  {frame}" for frame, n in own.most_common(TOP)]
    out += ["", "total %  frame"]
    out += [f"{100 * n / samples:7.1f}  {frame}" for frame, n in total.most_common(TOP)]
    return "\n".join(out) + "\n"


def stop_sampler(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT makes py-spy and perf write out what they sampled."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def py_spy(pids: list[int], raw: Path) -> Iterator[None]:
    """Sample these Python processes while the block runs; collapsed stacks to raw."""
    py_spy_bin = shutil.which("py-spy")
    if py_spy_bin is None:
        raise RuntimeError("py-spy is not on PATH: `make deps` installs it (bench extra)")
    procs = [subprocess.Popen([py_spy_bin, "record", "--pid", str(pid), "--rate", "200",
                               "--nonblocking", "--format", "raw",
                               "--output", f"{raw}.{pid}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for pid in pids]
    time.sleep(2)  # attached before the work starts
    try:
        yield
    finally:
        for proc in procs:
            stop_sampler(proc)
    with open(raw, "w") as merged:
        for pid in pids:
            part = Path(f"{raw}.{pid}")
            if part.exists():
                merged.write(part.read_text())
                part.unlink()


def perf_collapsed(data: Path, comm: str) -> list[str]:
    """perf's samples of the processes named comm as collapsed stacks, outer frame first."""
    script = subprocess.run(["perf", "script", "-i", str(data), "--comms", comm,
                             "-F", "comm,ip,sym"],
                            capture_output=True, text=True, timeout=1800, check=False)
    return fold_perf_script(script.stdout)


def fold_perf_script(text: str) -> list[str]:
    """Fold `perf script -F comm,ip,sym` output: a "comm" line, then one indented
    "ip sym+off" line per frame (inner first), then a blank line, per sample."""
    folded: collections.Counter[str] = collections.Counter()
    comm, frames = "", list[str]()
    for line in text.splitlines() + [""]:
        if not line.strip():
            if comm:
                folded[";".join([comm, *reversed(frames)])] += 1
            comm, frames = "", list[str]()
        elif not line.startswith((" ", "\t")):
            comm = line.split()[0]
        else:
            parts = line.split(None, 1)
            frames.append(parts[1].split("+")[0] if len(parts) > 1 else parts[0])
    return [f"{stack} {n}" for stack, n in folded.items()]


def write_summary(out: Path, name: str, title: str, lines: list[str]) -> None:
    text = f"# {title}\n\n{summarize_collapsed(lines)}"
    (out / f"{name}.txt").write_text(text)
    print(text, flush=True)


def profile_control(daemons: Daemons, out: Path, work: Path, cycles: int) -> None:
    env = daemons.use("pylttng")
    raw = out / "sessiond-control.raw"
    with py_spy([daemons.sessiond_pid()], raw):
        for i in range(cycles):
            timed_cycle(env, f"prof{i}", work)
    write_summary(out, "sessiond-control",
                  f"pylttng-sessiond, {cycles} create..destroy cycles (py-spy)",
                  raw.read_text().splitlines())


def profile_consumer(daemons: Daemons, binary: Path, calls: int, out: Path, work: Path) -> None:
    for output in ("mmap", "splice"):
        tracer = Lttng(daemons, "pylttng", output, count=False, consumer_cpu=CONSUMER_CPU)
        loop = consumer_loop(binary, calls)
        daemons.use("pylttng")
        raw = out / f"consumerd-{output}.raw"
        tracer.start(loop.events, work / output)
        try:
            with py_spy(daemons.consumerd_pids(), raw):
                loop.run()
                capture = tracer.stop()
        finally:
            tracer.close()
        mb = (capture.bytes or 0) / 1e6
        write_summary(out, f"consumerd-{output}",
                      f"pylttng-consumerd, --output {output}: {mb:.1f} MB drained, "
                      f"{capture.consumer_cpu_s} s CPU (py-spy)",
                      raw.read_text().splitlines())


def profile_producer(tracer: Tracer, name: str, binary: Path, calls: int, out: Path,
                     work: Path) -> None:
    """The syscall loop run by `perf record -a -g` (so perf is recording before the loop
    starts), traced by tracer; the loop's own samples, kernel stacks included."""
    loop = SyscallLoop(binary, calls)
    data = work / f"producer-{name}.perf.data"  # in the guest's memory, not the share
    work.mkdir(parents=True, exist_ok=True)
    tracer.start(loop.events, work / name)
    try:
        printed, _ = execute(["perf", "record", "-a", "-g", "-F", "999", "-o", str(data),
                              "--", *loop.command()])
        tracer.stop()
    finally:
        tracer.close()
    outcome = SyscallLoop.outcome(printed)
    write_summary(out, f"producer-{name}",
                  f"syscall loop traced by {name}: {outcome.cost:.0f} ns per call "
                  "(perf record -a -g, the loop's samples)",
                  perf_collapsed(data, binary.name))
    shutil.move(data, out / data.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", default="",
                        help="comma-separated profiles to take (control, consumer, "
                             "producer pylttng, producer ftrace); default: all")
    args = parser.parse_args()
    src = Path(os.environ.get("PYLTTNG_SRC", Path(__file__).resolve().parents[1]))
    binary = src / "build" / "syscall_loop"
    out = args.out / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    work = Path("/tmp/profile-work")
    daemons = Daemons(args.out / "home")
    steps: list[tuple[str, Callable[[], None]]] = [
        ("control", lambda: profile_control(daemons, out, work / "control", 5)),
        ("consumer", lambda: profile_consumer(daemons, binary, FULL.consumer_calls, out, work)),
        ("producer pylttng", lambda: profile_producer(
            Lttng(daemons, "pylttng"), "pylttng", binary, 1_000_000, out, work)),
        ("producer ftrace", lambda: profile_producer(
            Ftrace(), "ftrace", binary, 1_000_000, out, work)),
    ]
    try:
        steps = only_steps(steps, args.only)
    except ValueError as exc:
        parser.error(str(exc))
    # The clock every event reads: an emulated HPET costs far more than the TSC.
    print(f"clocksource: {(CLOCKSOURCE / 'current_clocksource').read_text().strip()} "
          f"(available: {(CLOCKSOURCE / 'available_clocksource').read_text().strip()})",
          flush=True)
    failed = False
    try:
        for name, step in steps:
            print(f"== {name}", flush=True)
            try:
                step()
            except Exception as exc:  # noqa: BLE001 (one failure must not hide the others)
                failed = True
                print(f"{name} FAILED: {exc!r}", flush=True)
    finally:
        daemons.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
