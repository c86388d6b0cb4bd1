"""User-space instructions per pylttng-consumerd operation, counted by callgrind on the host.

On the benchmark guest's instruction clock one instruction is one nanosecond, so these
counts are what the consumer daemon's Python adds to `make bench`'s consumer figure
(bench/README.md, "Where pylttng-consumerd's extra time goes"):

- ``request``: one data_pending round trip, served by a real pylttng-consumerd process;
- ``trio-wakeup``: a trio task waiting on an epoll set, as a stream's drain task does,
  woken by a byte written from outside;
- ``thread-wakeup``: the same wait done by a thread blocked in ``epoll.poll()``;
- ``step``: one 4 KiB sub-buffer consumed by a stream's ``step()`` and the readiness poll
  after it (mmap output), the ring buffer's ioctls stood in for by ioctls on a pipe
  (FIONCLEX for those without an argument, FIONREAD for those reading a value), written
  with its index entry to files in a temporary folder: the drain loop's Python and
  system-call wrappers.

Each is counted twice, over N and 4N operations: the difference / 3N leaves out start-up
and shutdown.  Needs valgrind (Debian: valgrind); run from the checkout:

    make pypath; PYTHONSAFEPATH=1 PYTHONPATH=build/pypath:. python3 -m bench.python_costs [--ops N]
"""

from __future__ import annotations

import argparse
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

# Time for valgrind to start Python and open the fifo before bytes are written, and between
# two bytes, so that each byte is a wake-up of its own.
START_S = 10.0
GAP_S = 0.02


def callgrind(out: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["valgrind", "--tool=callgrind", "-q", f"--callgrind-out-file={out}",
         sys.executable, *args]
    )


def total_instructions(out: Path) -> int:
    found = re.search(r"^totals:\s+(\d+)", out.read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"{out}: no callgrind totals")
    return int(found.group(1))


def count_requests(ops: int, work: Path) -> int:
    from pylttng.sessiond.consumer_link import ConsumerLink

    sock = str(work / f"consumerd-{ops}.sock")
    out = work / f"request-{ops}.out"
    daemon = callgrind(out, "-m", "pylttng.consumerd", "--socket", sock)

    async def drive() -> None:
        link = await ConsumerLink.connect(sock, timeout=120)
        for _ in range(ops):
            await link.data_pending(1)
        await link.aclose()

    try:
        trio.run(drive)
    finally:
        daemon.terminate()
        daemon.wait()
    return total_instructions(out)


def count_steps(ops: int, work: Path) -> int:
    out = work / f"step-{ops}.out"
    stepper = callgrind(out, "-m", "bench.python_costs", "--step", str(ops))
    if stepper.wait() != 0:
        raise RuntimeError("the step counter failed")
    return total_instructions(out)


def count_wakeups(kind: str, ops: int, work: Path) -> int:
    fifo = work / f"{kind}-{ops}.fifo"
    os.mkfifo(fifo)
    out = work / f"{kind}-{ops}.out"
    waiter = callgrind(out, "-m", "bench.python_costs", "--wait", kind, str(ops), str(fifo))
    with open(fifo, "wb", buffering=0) as pipe:  # returns once the waiter has opened it
        time.sleep(START_S)
        for _ in range(ops):
            pipe.write(b"x")
            time.sleep(GAP_S)
    if waiter.wait() != 0:
        raise RuntimeError(f"the {kind} waiter failed")
    return total_instructions(out)


# --- the waiters, run under callgrind ------------------------------------------------------


def read_ready(fd: int, ready: select.epoll) -> int:
    """What a drain step does once woken, reduced to reading the byte; -1 at end of file."""
    got = 0
    while True:
        data = os.read(fd, 1)
        if not data:
            return -1
        got += 1
        if not ready.poll(0):
            return got


def wait_in_thread(fd: int, ready: select.epoll, ops: int) -> None:
    done = 0
    while done < ops:
        ready.poll()
        got = read_ready(fd, ready)
        if got < 0:
            return
        done += got


async def wait_in_task(fd: int, ready: select.epoll, ops: int) -> None:
    done = 0
    while done < ops:
        await trio.lowlevel.wait_readable(ready.fileno())
        got = read_ready(fd, ready)
        if got < 0:
            return
        done += got


def run_waiter(kind: str, ops: int, fifo: str) -> None:
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    ready = select.epoll()
    ready.register(fd, select.EPOLLIN | select.EPOLLPRI)  # as consumerd's drain tasks
    if kind == "trio-wakeup":
        trio.run(wait_in_task, fd, ready, ops)
    else:

        async def in_thread() -> None:
            await trio.to_thread.run_sync(wait_in_thread, fd, ready, ops)

        trio.run(in_thread)  # trio's own thread idles in epoll meanwhile, as in consumerd


def run_steps(ops: int) -> None:
    import mmap
    import termios

    from pylttng.consumerd import ringbuffer
    from pylttng.consumerd.stream import Step, Stream
    from pylttng.consumerd.tracefiles import StreamFiles

    class PipeStandIn(ringbuffer.KernelStream):
        """The ring-buffer calls step() makes, each one ioctl of the same kind on a pipe."""

        def get_next_subbuf(self) -> ringbuffer.Next:
            ringbuffer._ioctl_none(self.fd, termios.FIONCLEX)
            return ringbuffer.Next.OK

        def put_next_subbuf(self) -> None:
            ringbuffer._ioctl_none(self.fd, termios.FIONCLEX)

        def padded_subbuf_size(self) -> int:
            self._read_ulong(termios.FIONREAD)
            return mmap.PAGESIZE

        def mmap_read_offset(self) -> int:
            return self._read_ulong(termios.FIONREAD)  # the pipe is empty: 0

        def map(self) -> mmap.mmap:
            return mmap.mmap(-1, mmap.PAGESIZE)

    read_fd, _ = os.pipe()
    with tempfile.TemporaryDirectory() as trace_dir:
        stream = Stream(PipeStandIn(read_fd), stream_fd=os.dup(read_fd),
                        files=StreamFiles(trace_dir, "channel0_0", indexed=True),
                        metadata=False, output="mmap", max_subbuf_size=mmap.PAGESIZE)
        for _ in range(ops):
            if stream.step() is not Step.WROTE:
                raise RuntimeError("the stand-in sub-buffer was not written")
            stream._wakeup.poll(0)  # as _drain_counting asks whether more is ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=100, help="N (default 100)")
    parser.add_argument("--wait", nargs=3, metavar=("KIND", "OPS", "FIFO"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--step", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.wait:
        run_waiter(args.wait[0], int(args.wait[1]), args.wait[2])
        return 0
    if args.step is not None:
        run_steps(args.step)
        return 0
    n = args.ops
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for kind in ("request", "trio-wakeup", "thread-wakeup", "step"):
            if kind == "request":
                low, high = count_requests(n, work), count_requests(4 * n, work)
            elif kind == "step":
                low, high = count_steps(n, work), count_steps(4 * n, work)
            else:
                low, high = count_wakeups(kind, n, work), count_wakeups(kind, 4 * n, work)
            print(f"{kind:14} {(high - low) / (3 * n):>9,.0f} user-space instructions each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
