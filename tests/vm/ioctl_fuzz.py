"""A fuzzer of /proc/lttng and of every fd it hands out, run as root in the test VM.

Threads share one pool of the fds pylttng.ko gave out (tracer, session, channel, metadata
channel, stream, event, list) and each issues random operations on them: the commands each
fd type knows, the commands of the other types, random command numbers; arguments that are
well-formed structs with mutated fields, truncated structs that run into an unmapped page,
NULL, read-only memory, kernel addresses and random numbers; closes racing with the other
threads' ioctls; mmap of streams at random lengths and offsets; enable/start/stop in any
order while the sessions trace.

It asserts nothing itself. The verdict belongs to the caller (tests/vm/test_ioctl_fuzz.py,
`make stress`): the kernel log stays free of oops, WARN and KASAN reports, the module's
reference count returns to where it was once every fd is closed, and this process exits
with its summary (a hung ioctl is a failure too).

Only fds from the pool are ever operated on, and nothing else is opened while the threads
run, so a number reused after a close is always another pylttng fd.

    python3 tests/vm/ioctl_fuzz.py --ops 100000 --threads 4 --seed 1
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import errno
import json
import os
import random
import select
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pylttng.protocol import kernel_abi as k
from pylttng.protocol import ringbuffer_abi as rb

PAGE = os.sysconf("SC_PAGE_SIZE")
LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
LIBC.ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)
LIBC.ioctl.restype = ctypes.c_int
LIBC.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long)
LIBC.mmap.restype = ctypes.c_void_p
LIBC.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
LIBC.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
PROT_NONE, PROT_READ, PROT_WRITE = 0, 1, 2
MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS = 1, 2, 0x20
MAP_FAILED = ctypes.c_void_p(-1).value

# Pool limits: enough objects to exercise every path, few enough that the sessions'
# buffers and enabled events stay cheap under TCG.
MAX_FDS = {"tracer": 2, "session": 4, "channel": 8, "metadata": 4, "stream": 24,
           "event": 32, "list": 4}

# Addresses no caller owns: NULL, the first page, a user address nobody mapped, the
# direct map and the kernel text, a non-canonical one.
WILD_POINTERS = (0, 8, 0x10000, 0x7FFF_DEAD_B000, 0xFFFF_8880_0000_0000,
                 0xFFFF_FFFF_8100_0000, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFF8)

# No "*": arming every tracepoint takes minutes under TCG.
TRACEPOINT_NAMES = ("sched_switch", "sched_wakeup", "sched_waking", "sched_process_fork",
                    "sched_process_exit", "sched_process_exec", "sched_migrate_task",
                    "irq_handler_entry", "irq_handler_exit", "softirq_entry", "timer_start",
                    "kmem_kmalloc", "block_rq_issue", "sched_*", "irq_*", "timer_*",
                    "no_such_event", "", "a" * 300)
SYSCALL_NAMES = ("openat", "close", "read", "*", "no_such_syscall", "")
PROBE_SYMBOLS = ("vfs_read", "do_sys_openat2", "no_such_symbol", "")


@dataclass
class Guard:
    """Per-thread memory: a writable page followed by an unmapped one, and a read-only
    page. Arguments are placed to end exactly at the writable page's end, so a short
    struct runs into the hole."""

    base: int
    readonly: int

    @classmethod
    def allocate(cls) -> Guard:
        base = LIBC.mmap(None, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0)
        readonly = LIBC.mmap(None, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if base in (None, MAP_FAILED) or readonly in (None, MAP_FAILED):
            raise OSError(ctypes.get_errno(), "mmap of the guard pages")
        LIBC.mprotect(base + PAGE, PAGE, PROT_NONE)
        return cls(base, readonly)

    def place(self, data: bytes) -> int:
        """Copy data to end at the hole; returns its address."""
        data = data[:PAGE]
        addr = self.base + PAGE - len(data)
        ctypes.memmove(addr, data, len(data))
        return addr


@dataclass
class Stats:
    ops: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    fds_created: Counter[str] = field(default_factory=Counter)
    closes: int = 0
    mmaps: int = 0


class Pool:
    """The fds pylttng.ko gave out, by type; shared by the threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fds: dict[int, str] = {}

    def pick(self, rng: random.Random, kind: str | None = None) -> tuple[int, str] | None:
        with self.lock:
            items = [(fd, t) for fd, t in self.fds.items() if kind is None or t == kind]
        return rng.choice(items) if items else None

    def count(self, kind: str) -> int:
        with self.lock:
            return sum(1 for t in self.fds.values() if t == kind)

    def add(self, fd: int, kind: str, stats: Stats) -> None:
        with self.lock:
            full = sum(1 for t in self.fds.values() if t == kind) >= MAX_FDS[kind]
            if not full:
                self.fds[fd] = kind
        if full:
            os.close(fd)
        stats.fds_created[kind] += 1

    def close(self, fd: int, stats: Stats) -> None:
        with self.lock:
            if self.fds.pop(fd, None) is None:
                return
        os.close(fd)
        stats.closes += 1

    def close_all(self) -> None:
        with self.lock:
            fds, self.fds = list(self.fds), {}
        for fd in fds:
            os.close(fd)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """Mostly the struct as built; sometimes a few bytes changed, or cut short."""
    roll = rng.random()
    if roll < 0.6:
        return data
    if roll < 0.9:
        raw = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    return data[: rng.randrange(len(data))]


def channel_arg(rng: random.Random) -> bytes:
    sane = rng.random() < 0.7
    return k.build_channel(
        subbuf_size=rng.choice((4096, 8192, 16384, 65536)) if sane else rng.choice(
            (0, 1, 3, 4095, 1 << 31, 1 << 40, (1 << 63) + 4096, (1 << 64) - 1)),
        num_subbuf=rng.choice((2, 4, 8)) if sane else rng.choice(
            (0, 1, 3, 1 << 20, 1 << 32, (1 << 64) - 1)),
        switch_timer_interval=rng.choice((0, 0, 1, 1000, 0xFFFFFFFF)),
        read_timer_interval=rng.choice((0, 200, 0xFFFFFFFF)),
        output=k.Output.MMAP if sane else rng.choice((0, 1, 2, 0xFFFFFFFF)),
        overwrite=rng.choice((0, 1)) if sane else rng.choice((-1, 2, 0x7FFFFFFF)),
    )


def event_arg(rng: random.Random, pool: Pool) -> bytes:
    kind = rng.choice(list(k.Instrumentation) + [7, 0xFFFFFFFF])
    probe = k.ProbeLocation(
        addr=rng.choice((0, 0, 0xFFFF_FFFF_8100_0001, rng.getrandbits(64))),
        offset=rng.choice((0, 0, 1, 3, 0x1000)),
        symbol_name=rng.choice(PROBE_SYMBOLS))
    if kind == k.Instrumentation.SYSCALL:
        name = rng.choice(SYSCALL_NAMES)
    elif kind in (k.Instrumentation.KPROBE, k.Instrumentation.KRETPROBE):
        name = rng.choice((f"fuzz_probe_{rng.randrange(100)}", ""))
    else:
        name = rng.choice(TRACEPOINT_NAMES)
    picked = pool.pick(rng)
    return k.build_event(
        name, kind, token=rng.getrandbits(64), syscall_entryexit=rng.randrange(4),
        syscall_abi=rng.randrange(4), probe=probe,
        # A uprobe on a pylttng fd, a closed number or a standard stream: all refused.
        uprobe_fd=rng.choice((-1, 0, 9999, picked[0] if picked else 1)))


def random_bytes(size: int) -> Callable[[random.Random], bytes]:
    return lambda rng: bytes(rng.getrandbits(8) for _ in range(size))


# What each fd type answers: command -> builder of its input struct (None: no input; a
# size: an output of that many bytes).
Builder = Callable[[random.Random], bytes] | int | None
_U64, _ULONG = rb.SIZEOF_U64, rb.SIZEOF_ULONG


def _u64_in(rng: random.Random) -> bytes:
    return rng.getrandbits(64).to_bytes(8, "little")


def _tracker_arg(rng: random.Random) -> bytes:
    return bytes(k.TrackerArgs.build({"type": rng.randrange(8),
                                      "id": rng.choice((-1, 0, 1, os.getpid(),
                                                        rng.randrange(-2**31, 2**31)))}))


def _context_arg(rng: random.Random) -> bytes:
    return k.build_context(rng.randrange(48), perf_type=rng.randrange(6),
                           perf_config=rng.choice((0, 1, rng.getrandbits(64))),
                           perf_name=rng.choice(("perf_cpu_cycles", "", "x" * 300)))


COMMANDS: dict[str, dict[int, Builder]] = {
    "tracer": {
        k.SESSION: None, k.TRACER_VERSION: k.TRACER_VERSION_SIZE, k.TRACEPOINT_LIST: None,
        k.WAIT_QUIESCENT: None, k.SYSCALL_LIST: None,
        k.TRACER_ABI_VERSION: k.TRACER_ABI_VERSION_SIZE,
    },
    "session": {
        k.METADATA: channel_arg, k.CHANNEL: channel_arg, k.SESSION_START: None,
        k.SESSION_STOP: None, k.SESSION_LIST_TRACKER_PIDS: None,
        k.SESSION_METADATA_REGEN: None, k.SESSION_STATEDUMP: None,
        k.SESSION_SET_NAME: random_bytes(k.SESSION_NAME_LEN),
        k.SESSION_SET_CREATION_TIME: random_bytes(k.SESSION_CREATION_TIME_ISO8601_LEN),
        k.SESSION_LIST_TRACKER_IDS: _tracker_arg, k.SESSION_TRACK_ID: _tracker_arg,
        k.SESSION_UNTRACK_ID: _tracker_arg, k.CONTEXT: _context_arg, k.ENABLE: None,
        k.DISABLE: None,
    },
    "channel": {
        k.STREAM: None, k.CHANNEL_STATS: k.CHANNEL_STATS_SIZE, k.CONTEXT: _context_arg,
        k.ENABLE: None, k.DISABLE: None,
    },
    "event": {
        k.ENABLE: None, k.DISABLE: None, k.CONTEXT: _context_arg, k.ADD_CALLSITE: _u64_in,
        rb.io(0xF6, 0x90): random_bytes(64),  # FILTER: bytecode pylttng refuses
    },
    "stream": {
        rb.RING_BUFFER_SNAPSHOT: None, rb.RING_BUFFER_SNAPSHOT_GET_CONSUMED: _ULONG,
        rb.RING_BUFFER_SNAPSHOT_GET_PRODUCED: _ULONG, rb.RING_BUFFER_GET_SUBBUF: _u64_in,
        rb.RING_BUFFER_PUT_SUBBUF: None, rb.RING_BUFFER_GET_NEXT_SUBBUF: None,
        rb.RING_BUFFER_PUT_NEXT_SUBBUF: None, rb.RING_BUFFER_GET_SUBBUF_SIZE: _ULONG,
        rb.RING_BUFFER_GET_PADDED_SUBBUF_SIZE: _ULONG,
        rb.RING_BUFFER_GET_MAX_SUBBUF_SIZE: _ULONG, rb.RING_BUFFER_GET_MMAP_LEN: _ULONG,
        rb.RING_BUFFER_GET_MMAP_READ_OFFSET: _ULONG, rb.RING_BUFFER_FLUSH: None,
        rb.RING_BUFFER_GET_METADATA_VERSION: _U64,
        rb.RING_BUFFER_SNAPSHOT_SAMPLE_POSITIONS: None, rb.RING_BUFFER_FLUSH_EMPTY: None,
        rb.RING_BUFFER_METADATA_CACHE_DUMP: None, rb.RING_BUFFER_CLEAR: None,
        rb.RING_BUFFER_GET_NEXT_SUBBUF_METADATA_CHECK: rb.SIZEOF_U32,
        rb.RING_BUFFER_GET_TIMESTAMP_BEGIN: _U64, rb.RING_BUFFER_GET_TIMESTAMP_END: _U64,
        rb.RING_BUFFER_GET_EVENTS_DISCARDED: _U64, rb.RING_BUFFER_GET_CONTENT_SIZE: _U64,
        rb.RING_BUFFER_GET_PACKET_SIZE: _U64, rb.RING_BUFFER_GET_STREAM_ID: _U64,
        rb.RING_BUFFER_GET_CURRENT_TIMESTAMP: _U64,
        rb.ior(0xF6, 0x27, _U64): _U64, rb.ior(0xF6, 0x28, _U64): _U64,  # seq num, instance
    },
    "list": {},
}
COMMANDS["metadata"] = COMMANDS["channel"]
ALL_COMMANDS: dict[int, Builder] = {cmd: b for table in COMMANDS.values()
                                    for cmd, b in table.items()}
# The commands whose success returns a new fd, and what that fd is.
MAKES_FD: dict[tuple[str, int], str] = {
    ("tracer", k.SESSION): "session", ("tracer", k.TRACEPOINT_LIST): "list",
    ("tracer", k.SYSCALL_LIST): "list", ("session", k.CHANNEL): "channel",
    ("session", k.METADATA): "metadata", ("session", k.SESSION_LIST_TRACKER_PIDS): "list",
    ("session", k.SESSION_LIST_TRACKER_IDS): "list", ("channel", k.STREAM): "stream",
    ("metadata", k.STREAM): "stream", ("channel", k.EVENT): "event",
}
COMMANDS["channel"][k.EVENT] = None  # built per call from the pool (event_arg)


class Fuzzer:
    def __init__(self, pool: Pool, rng: random.Random, stats: Stats) -> None:
        self.pool, self.rng, self.stats = pool, rng, stats
        self.guard = Guard.allocate()

    def argument(self, builder: Builder, command: int) -> int:
        rng = self.rng
        roll = rng.random()
        if roll < 0.08:
            return rng.choice(WILD_POINTERS)
        if roll < 0.12:
            return self.guard.readonly
        if roll < 0.15:
            return rng.getrandbits(64)
        if command == k.EVENT:
            return self.guard.place(mutate(event_arg(rng, self.pool), rng))
        if callable(builder):
            return self.guard.place(mutate(builder(rng), rng))
        if isinstance(builder, int):
            return self.guard.base + PAGE - builder  # an output, ending at the hole
        return rng.choice((0, 0, 1, self.guard.base))

    def ioctl(self, fd: int, kind: str, command: int, builder: Builder) -> None:
        arg = self.argument(builder, command)
        ret = LIBC.ioctl(fd, command, arg)
        self.stats.ops += 1
        if ret < 0:
            self.stats.outcomes[errno.errorcode.get(ctypes.get_errno(), "E?")] += 1
            return
        self.stats.outcomes["ok"] += 1
        made = MAKES_FD.get((kind, command))
        if made is not None and ret > 2:
            self.pool.add(ret, made, self.stats)

    def open_tracer(self) -> None:
        if self.pool.count("tracer") < MAX_FDS["tracer"]:
            self.pool.add(os.open(k.PROC_PATH, os.O_RDWR | os.O_CLOEXEC), "tracer", self.stats)

    def map_stream(self, fd: int) -> None:
        rng = self.rng
        length = rng.choice((PAGE, 2 * PAGE, 64 * PAGE, 1 << 30))
        offset = rng.choice((0, 0, PAGE, 1 << 40))
        prot = rng.choice((PROT_READ, PROT_READ | PROT_WRITE))
        addr = LIBC.mmap(None, length, prot, MAP_SHARED, fd, offset)
        self.stats.mmaps += 1
        if addr not in (None, MAP_FAILED):
            LIBC.munmap(addr, length)

    def step(self) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.03 or not self.pool.pick(rng, "tracer"):
            self.open_tracer()
            return
        picked = self.pool.pick(rng)
        if picked is None:
            return
        fd, kind = picked
        if roll < 0.07:
            self.pool.close(fd, self.stats)
        elif roll < 0.09 and kind == "stream":
            self.map_stream(fd)
        elif roll < 0.10:
            poller = select.poll()
            poller.register(fd, select.POLLIN | select.POLLPRI)
            poller.poll(0)
        elif roll < 0.80 and COMMANDS[kind]:
            command, builder = rng.choice(list(COMMANDS[kind].items()))
            self.ioctl(fd, kind, command, builder)
        elif roll < 0.92:
            command, builder = rng.choice(list(ALL_COMMANDS.items()))
            self.ioctl(fd, kind, command, builder)
        else:
            command = rb.ioc(rng.randrange(4), rng.choice((0xF6, 0xF6, rng.randrange(256))),
                             rng.randrange(256), rng.choice((0, 4, 8, 320, 564, 0x3FFF)))
            self.ioctl(fd, kind, command, None)


def run(ops: int, threads: int, seed: int) -> dict[str, object]:
    pool = Pool()
    stats = [Stats() for _ in range(threads)]
    per_thread = -(-ops // threads)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        fuzzer = Fuzzer(pool, random.Random(seed * 1000 + index), stats[index])
        try:
            while stats[index].ops < per_thread:
                fuzzer.step()
        except OSError as exc:  # reported; the other threads go on
            errors.append(exc)

    start = time.monotonic()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    pool.close_all()
    total = Stats()
    for s in stats:
        total.ops += s.ops
        total.outcomes.update(s.outcomes)
        total.fds_created.update(s.fds_created)
        total.closes += s.closes
        total.mmaps += s.mmaps
    return {"seed": seed, "threads": threads, "ioctls": total.ops,
            "seconds": round(time.monotonic() - start, 1), "outcomes": dict(total.outcomes),
            "fds_created": dict(total.fds_created), "closes": total.closes,
            "mmaps": total.mmaps, "errors": [repr(e) for e in errors]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20000, help="ioctls in all")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    summary = run(args.ops, args.threads, args.seed)
    json.dump(summary, sys.stdout)
    print()
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
