"""The tracers under comparison, each behind the same three calls: start, stop, close.

Every tracer gets the same per-CPU buffer space (BUFFER_BYTES_PER_CPU) and records the
same events (an EventSet), so that what differs between two runs is the tracer alone.
A Capture says what a run recorded: events, events lost, bytes written, consumer CPU.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .ctf_packets import discarded_events, event_record_bytes

SUBBUF_SIZE = 4 << 20
NUM_SUBBUF = 8
BUFFER_BYTES_PER_CPU = SUBBUF_SIZE * NUM_SUBBUF
TRACEFS = Path("/sys/kernel/tracing")
STOCK_SESSIOND = "/usr/bin/lttng-sessiond"
DAEMON_NAMES = ("pylttng-sessiond", "pylttng-consumerd", "lttng-sessiond", "lttng-consumerd")
# The peer that runs the stock lttng-sessiond and lttng-consumerd 2.13 on pylttng.ko: the
# stock daemons, not LTTng-modules (whose kernel side is pylttng.ko here as well).
STOCK_PEER = "stock-daemons-on-pylttng"


def peer_name(kind: str) -> str:
    """The tracer name of a session-daemon kind ("pylttng" or "stock")."""
    return "pylttng" if kind == "pylttng" else STOCK_PEER


class TracerError(RuntimeError):
    """A tracer failed to start, stop or account for its trace: the run is invalid."""


@dataclass(frozen=True)
class EventSet:
    """What to record: syscalls by name and tracepoints as (subsystem, event); '*' = all."""

    name: str
    syscalls: tuple[str, ...] = ()
    tracepoints: tuple[tuple[str, str], ...] = ()

    @property
    def everything(self) -> bool:
        return self.syscalls == ("*",) and self.tracepoints == (("*", "*"),)


@dataclass
class Capture:
    """What one traced run recorded; None where the tracer cannot tell."""

    events: int | None = None
    discarded: int | None = None
    bytes: int | None = None
    record_bytes: int | None = None  # LTTng: event records alone (no packet headers, padding)
    consumer_cpu_s: float | None = None  # draining: from `start` returned to `stop` returned
    consumer_setup_cpu_s: float | None = None  # the session's streams set up, during `start`
    # LTTng: what the consumer had written to the stream files while the workload ran
    # (from `start` returned to the workload's end, before `stop`), and that time.
    drained_bytes: int | None = None
    drain_s: float | None = None
    stop_s: float | None = None  # `lttng stop` (the consumer writes out the rest)
    destroy_s: float | None = None  # `lttng destroy`
    listed_discarded: int | None = None  # LTTng: what `lttng list` says was discarded
    relayd_cpu_s: float | None = None  # streaming: the relay daemon's, as consumer_cpu_s
    trace: str = ""


def run(*cmd: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run a command to completion; its stdout, or TracerError with its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          check=False)
    if proc.returncode != 0:
        raise TracerError(f"{' '.join(cmd)} exited {proc.returncode}: "
                          f"{(proc.stdout + proc.stderr)[-2000:]}")
    return proc.stdout + proc.stderr


def lttng_cli(env: dict[str, str], *args: str) -> str:
    """The stock lttng CLI, never spawning a daemon: the one we started must answer."""
    return run("lttng", "--no-sessiond", *args, env=env)


def process_cpu_clock(pid: int) -> int:
    """The clock id of another process's CPU time (what clock_getcpuclockid(3) returns):
    ~pid << 3 | CPUCLOCK_SCHED (2), include/linux/posix-timers.h."""
    return (~pid << 3) | 2


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, every thread (ended ones too), to the ns.

    /proc/PID/stat has it in clock ticks (10 ms): a tenth of what a consumer spends per
    run.
    """
    return time.clock_gettime_ns(process_cpu_clock(pid)) / 1e9


def pin_process(pid: int, cpus: set[int]) -> None:
    """Every thread of pid onto these CPUs."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), cpus)
        except ProcessLookupError:
            pass  # a thread that just ended


def pids_of(pattern: str, comm: bool = False) -> list[int]:
    """Processes whose command line contains pattern, or (comm) whose name is it."""
    how = ["-x"] if comm else ["-f"]
    found = subprocess.run(["pgrep", *how, pattern], capture_output=True, text=True,
                           check=False)
    return [int(p) for p in found.stdout.split() if int(p) != os.getpid()]


def wait_idle(pids: list[int], timeout: float = 120) -> None:
    """Until these processes use under 2 % of a CPU over half a second (or timeout)."""
    deadline = time.monotonic() + timeout
    before = sum(cpu_seconds(pid) for pid in pids)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(cpu_seconds(pid) for pid in pids)
        if now - before < 0.01:
            return
        before = now


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Tracer(Protocol):
    name: str
    # The session daemon it needs ("pylttng" or "stock"; "" for none): only one root
    # session daemon can drive pylttng.ko at a time, so runs are ordered by it.
    daemon: str

    def supports(self, events: EventSet) -> bool: ...

    def start(self, events: EventSet, workdir: Path) -> None: ...

    def stop(self) -> Capture: ...

    # Undo what start() set up, even after a failed run; cheap when nothing was started
    # since the last close (run.py closes every tracer after every step).
    def close(self) -> None: ...


class Untraced:
    """The baseline: no tracer at all."""

    name = "untraced"
    daemon = ""

    def supports(self, events: EventSet) -> bool:
        return True

    def start(self, events: EventSet, workdir: Path) -> None:
        pass

    def stop(self) -> Capture:
        return Capture()

    def close(self) -> None:
        pass


# --- ftrace -----------------------------------------------------------------------------

def ftrace_event_dirs(events: EventSet) -> list[Path]:
    if events.everything:
        return [TRACEFS / "events"]
    dirs = [TRACEFS / "events" / sub / name for sub, name in events.tracepoints]
    for call in events.syscalls:
        dirs += [TRACEFS / "events/syscalls" / f"sys_{edge}_{call}" for edge in ("enter", "exit")]
    return dirs


def ftrace_stats() -> dict[str, int]:
    """Sum of per_cpu/cpu*/stats: entries, overrun, bytes, dropped events..."""
    total: dict[str, int] = {}
    for stats in sorted(TRACEFS.glob("per_cpu/cpu*/stats")):
        for line in stats.read_text().splitlines():
            key, _, value = line.partition(":")
            if value.strip().isdigit():
                total[key.strip()] = total.get(key.strip(), 0) + int(value)
    return total


class Ftrace:
    """The kernel's own ring buffer through tracefs, in discard mode (no overwrite).

    Its trace stays in memory: `bytes` is what the ring buffer holds, not a file.
    clock: ftrace's trace_clock.  Its default, "local", reads the TSC and is not kept in
    step across CPUs; "mono" is the clock LTTng timestamps with (ktime_get_mono_fast_ns),
    which costs far more where the kernel gave up on the TSC (a TCG guest booted without
    tsc=reliable: an emulated HPET; bench/README.md).
    """

    def __init__(self, clock: str = "local") -> None:
        if not (TRACEFS / "tracing_on").exists():
            subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACEFS)], check=False)
        self.clock = clock
        self.name = "ftrace" if clock == "local" else f"ftrace-{clock}"
        self.daemon = ""
        self._dirs: list[Path] = []
        self._started = False  # tracefs holds settings of ours that close() must reset

    def supports(self, events: EventSet) -> bool:
        return True

    def _write(self, name: str | Path, value: str) -> None:
        (TRACEFS / name).write_text(value + "\n")

    def start(self, events: EventSet, workdir: Path) -> None:
        self._started = True
        self._write("tracing_on", "0")
        self._write("events/enable", "0")
        self._write("options/overwrite", "0")
        self._write("trace_clock", self.clock)
        self._write("buffer_size_kb", str(BUFFER_BYTES_PER_CPU // 1024))
        self._write("trace", "")  # empties the buffers and resets the counters
        self._dirs = ftrace_event_dirs(events)
        for event_dir in self._dirs:
            self._write(event_dir / "enable", "1")
        self._write("tracing_on", "1")

    def stop(self) -> Capture:
        self._write("tracing_on", "0")
        stats = ftrace_stats()
        for event_dir in self._dirs:
            self._write(event_dir / "enable", "0")
        return Capture(events=stats.get("entries", 0) + stats.get("overrun", 0),
                       discarded=stats.get("dropped events", 0), bytes=stats.get("bytes", 0))

    def close(self) -> None:
        # Writing events/enable takes perf's event mutex, which a tracer releasing its
        # perf events may hold for seconds: only when there is something to reset.
        if not self._started:
            return
        self._started = False
        self._write("tracing_on", "0")
        self._write("events/enable", "0")
        self._write("trace", "")
        self._write("trace_clock", "local")
        self._write("buffer_size_kb", "1408")


# --- perf -------------------------------------------------------------------------------

def perf_binary() -> str:
    """Debian's perf is versioned per kernel: /usr/bin/perf or perf_<major.minor>."""
    major_minor = ".".join(os.uname().release.split(".")[:2])
    for candidate in (f"/usr/bin/perf_{major_minor}", "/usr/bin/perf"):
        if os.access(candidate, os.X_OK):
            probe = subprocess.run([candidate, "--version"], capture_output=True, text=True,
                                   check=False)
            if probe.returncode == 0:
                return candidate
    raise TracerError("no working perf for this kernel (Debian linux-perf)")


def tracepoint_names(events: EventSet) -> list[str]:
    names = [f"{sub}:{name}" for sub, name in events.tracepoints]
    for call in events.syscalls:
        names += [f"syscalls:sys_enter_{call}", f"syscalls:sys_exit_{call}"]
    return names


class Perf:
    """`perf record -a` of the same tracepoints, started disabled and switched on through
    its control fifo, so that its start-up time is not counted as tracing time."""

    name = "perf"
    daemon = ""

    def __init__(self) -> None:
        self.binary = perf_binary()
        self._proc: subprocess.Popen[str] | None = None
        self._ctl = self._ack = -1
        self._data = Path()

    def supports(self, events: EventSet) -> bool:
        # Thousands of tracepoints x CPUs of perf events: not how perf is used.
        return not events.everything

    def _control(self, command: str, timeout: float = 120) -> None:
        """Send a command on perf's control fifo and wait for its "ack"."""
        os.write(self._ctl, command.encode() + b"\n")
        answer = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in answer:   # perf writes "ack\n" and its NUL terminator
            ready, _, _ = select.select([self._ack], [], [], max(0, deadline - time.monotonic()))
            if not ready:
                raise TracerError(f"perf did not acknowledge {command!r} in {timeout} s")
            answer += os.read(self._ack, 64)
        if answer.strip(b"\0\n ") != b"ack":
            raise TracerError(f"perf answered {answer!r} to {command!r}")

    def start(self, events: EventSet, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        ctl, ack = workdir / "perf-ctl", workdir / "perf-ack"
        for fifo in (ctl, ack):
            fifo.unlink(missing_ok=True)
            os.mkfifo(fifo)
        self._data = workdir / "perf.data"
        # No build-id collection nor synthesis of existing tasks: tracing only.
        cmd = [self.binary, "record", "-a", "-q", "-B", "-N", "--synth=no", "-D", "-1",
               "--control",
               f"fifo:{ctl},{ack}", "-m", f"{BUFFER_BYTES_PER_CPU >> 20}M",
               "-o", str(self._data)]
        for name in tracepoint_names(events):
            cmd += ["-e", name]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True)
        # Read-write opens of a fifo do not wait for the other end (perf may fail early).
        self._ctl, self._ack = os.open(ctl, os.O_RDWR), os.open(ack, os.O_RDWR)
        self._control("enable")

    def stop(self) -> Capture:
        assert self._proc is not None
        self._control("disable")
        self._proc.send_signal(signal.SIGINT)
        output, _ = self._proc.communicate(timeout=300)
        for fd in (self._ctl, self._ack):
            os.close(fd)
        self._ctl = self._ack = -1
        if self._proc.returncode not in (0, -signal.SIGINT, 130):
            raise TracerError(f"perf record exited {self._proc.returncode}: {output[-2000:]}")
        return self._count(output)

    def _count(self, record_output: str) -> Capture:
        """Samples and lost samples from `perf report --stats` (no per-event decoding)."""
        stats = run(self.binary, "report", "--stats", "-i", str(self._data))
        samples = re.search(r"SAMPLE events:\s+(\d+)", stats)
        lost = re.search(r"LOST_SAMPLES events:\s+(\d+)", stats)
        lost_chunks = re.search(r"LOST events:\s+(\d+)", stats)
        if samples is None:
            raise TracerError(f"perf report --stats: no SAMPLE count: {stats[-1000:]}"
                              f"{record_output[-500:]}")
        discarded = (int(lost.group(1)) if lost else 0) + (
            int(lost_chunks.group(1)) if lost_chunks else 0)
        return Capture(events=int(samples.group(1)), discarded=discarded,
                       bytes=self._data.stat().st_size, trace=str(self._data))

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._ctl, self._ack):
            if fd >= 0:
                os.close(fd)
        self._ctl = self._ack = -1


# --- trace-cmd --------------------------------------------------------------------------

class TraceCmd:
    """`trace-cmd record` of the same events: ftrace's buffer drained to a file."""

    name = "trace-cmd"
    daemon = ""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._data = Path()
        self._started = False  # ftrace may hold trace-cmd's settings: reset them

    def supports(self, events: EventSet) -> bool:
        return True

    def start(self, events: EventSet, workdir: Path) -> None:
        self._started = True
        workdir.mkdir(parents=True, exist_ok=True)
        self._data = workdir / "trace.dat"
        # File version 6: uncompressed, so its size compares with the others'.
        # stdbuf: its "Hit Ctrl^C" line must reach the pipe when printed, not at exit.
        cmd = ["stdbuf", "-oL", "trace-cmd", "record", "-b", str(BUFFER_BYTES_PER_CPU // 1024),
               "--file-version", "6", "-o", str(self._data)]
        names = ["all"] if events.everything else tracepoint_names(events)
        for name in names:
            cmd += ["-e", name]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True)
        assert self._proc.stdout is not None
        # It prints this once the events are on and its readers run.
        deadline = time.monotonic() + 120
        fd, seen = self._proc.stdout.fileno(), b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            chunk = os.read(fd, 4096) if ready else b""
            seen += chunk
            if b"Hit Ctrl^C to stop recording" in seen:
                return
            if ready and not chunk:
                break   # end of output: it exited
        raise TracerError(f"trace-cmd record not recording after 120 s: {seen[-1000:]!r}")

    def stop(self) -> Capture:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGINT)
        output, _ = self._proc.communicate(timeout=600)
        if self._proc.returncode != 0:
            raise TracerError(f"trace-cmd record exited {self._proc.returncode}: "
                              f"{output[-2000:]}")
        return self._count(output)

    def _count(self, record_output: str) -> Capture:
        """From the per-CPU ring-buffer stats that trace-cmd stores in the file: events it
        read while recording plus those still in the buffer at that moment (read at the
        end), and those the full buffer dropped."""
        stats = run("trace-cmd", "report", "--stat", "-i", str(self._data))
        if "read events:" not in stats:
            raise TracerError(f"trace-cmd report --stat: no buffer stats: {stats[-1000:]}"
                              f"{record_output[-500:]}")
        read = sum(int(n) for n in re.findall(r"read events:\s+(\d+)", stats))
        left = sum(int(n) for n in re.findall(r"^entries:\s+(\d+)", stats, re.MULTILINE))
        dropped = sum(int(n) for n in re.findall(r"dropped events:\s+(\d+)", stats))
        overrun = sum(int(n) for n in re.findall(r"^overrun:\s+(\d+)", stats, re.MULTILINE))
        return Capture(events=read + left, discarded=dropped + overrun,
                       bytes=self._data.stat().st_size, trace=str(self._data))

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._started:  # a `trace-cmd reset` costs a process start (~0.5 s under TCG)
            self._started = False
            subprocess.run(["trace-cmd", "reset"], capture_output=True, check=False)


# --- LTTng: pylttng-sessiond or the stock lttng-sessiond, both on pylttng.ko ----------

def stop_daemons() -> None:
    """End every LTTng session and consumer daemon and wait for them to go."""
    for name in DAEMON_NAMES:
        for pid in pids_of(name):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(pids_of(n) for n in DAEMON_NAMES):
        time.sleep(0.2)
    for name in DAEMON_NAMES:
        for pid in pids_of(name):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    shutil.rmtree("/var/run/lttng", ignore_errors=True)


@dataclass
class Daemons:
    """Which session daemon drives pylttng.ko now: only one root sessiond can run."""

    home: Path
    current: str = ""
    env: dict[str, str] = field(default_factory=dict)
    # False for the smoke run: it checks that everything runs, not what it measures.
    warm_ups: bool = True

    def use(self, kind: str, warm_up: bool = True) -> dict[str, str]:
        """Start `kind` ("pylttng" or "stock") unless it already runs; the lttng CLI env.

        With warm_up, one throw-away session first (see warm_up()).
        """
        if kind == self.current:
            return self.env
        stop_daemons()
        subprocess.run(["modprobe", "-r", "pylttng"], capture_output=True, check=False)
        self.home.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, HOME=str(self.home), LTTNG_HOME=str(self.home))
        if kind == "pylttng":
            sessiond = shutil.which("pylttng-sessiond")
            if sessiond is None:
                raise TracerError("pylttng-sessiond is not on PATH")
            run(sessiond, "--daemonize", env=env, timeout=120)
        else:
            # No --kconsumerd-cmd: getopt reads it as --kconsumerd-cmd-sock.
            run(STOCK_SESSIOND, "--daemonize", env=env, timeout=120)
        self.current, self.env = kind, env
        if warm_up:
            self.warm_up()
        return env

    def warm_up(self) -> None:
        """Trace one throw-away kernel session, then wait until the daemons are idle.

        Both session daemons start their consumer daemon in the background (pylttng's is
        a Python process: ~10 s of CPU under TCG); without this, that start-up would be
        counted against the first run measured, as consumer CPU and as workload slowdown.
        """
        if not self.warm_ups:
            return
        trace = self.home / "warm-up"
        lttng_cli(self.env, "create", "warm-up", f"--output={trace}")
        for command in (["enable-event", "-k", "sched_switch"], ["start"], ["stop"],
                        ["destroy"]):
            lttng_cli(self.env, *command)
        shutil.rmtree(trace, ignore_errors=True)
        wait_idle([self.sessiond_pid(), *self.consumerd_pids()])

    # Match the stock daemons by process name, ours (Python scripts) by command line.
    def sessiond_pid(self) -> int:
        stock = self.current == "stock"
        pids = pids_of("lttng-sessiond", comm=True) if stock else pids_of("pylttng-sessiond")
        if not pids:
            raise TracerError(f"no {self.current} session daemon running")
        return pids[0]

    def consumerd_pids(self) -> list[int]:
        if self.current == "stock":
            return pids_of("lttng-consumerd", comm=True)
        return pids_of("pylttng-consumerd")

    def close(self) -> None:
        stop_daemons()
        self.current = ""


def lttng_event_commands(events: EventSet, channel: str | None) -> list[list[str]]:
    chan = ["-c", channel] if channel else []
    if events.everything:
        # `-a` alone means tracepoints and syscalls (a second `--syscall -a` then fails
        # with "already enabled"): spell the two halves out instead.
        return [["enable-event", "-k", *chan, "--tracepoint", "-a"],
                ["enable-event", "-k", *chan, "--syscall", "-a"]]
    commands = []
    if events.tracepoints:
        names = ",".join(name for _, name in events.tracepoints)
        commands.append(["enable-event", "-k", *chan, names])
    if events.syscalls:
        commands.append(["enable-event", "-k", *chan, "--syscall", ",".join(events.syscalls)])
    return commands


def babeltrace2_counts(trace: Path) -> tuple[int, int]:
    """(event messages, discarded-events messages) by babeltrace2's counter sink.

    sink.utils.counter counts in C without formatting events: fast on big traces.
    step=+0 (an unsigned integer): no periodic counts, only the final ones.
    """
    out = run("babeltrace2", str(trace), "-c", "sink.utils.counter", "--params=step=+0",
              timeout=1800)
    events = re.findall(r"(\d+) Event messages?", out)
    discarded = re.findall(r"(\d+) Discarded event messages?", out)
    if not events:
        raise TracerError(f"babeltrace2 counter printed no event count: {out[-1000:]}")
    return int(events[-1]), int(discarded[-1]) if discarded else 0


class Lttng:
    """An LTTng session on pylttng.ko, driven by the stock lttng CLI and either daemon."""

    def __init__(self, daemons: Daemons, kind: str, output: str | None = None,
                 default_channel: bool = False, count: bool = True,
                 consumer_cpu: int | None = None, contexts: tuple[str, ...] = ()) -> None:
        self.daemons, self.kind, self.output = daemons, kind, output
        self.default_channel = default_channel
        self.contexts = contexts  # `lttng add-context -k -t` each, on every channel
        # The CPU to keep the consumer daemon on while tracing (None: anywhere).
        self.consumer_cpu = consumer_cpu
        # Counting decodes every event (babeltrace2): skipped where only bytes and
        # discarded events matter (the consumer).
        self.count = count
        suffix = f"-{output}" if output else ""  # None: the channel's default (splice)
        self.name = peer_name(kind) + suffix
        self.daemon = kind
        self._session = ""
        self._path = Path()
        self._cpu0 = 0.0
        self._relayd_cpu0: float | None = None
        self._setup_cpu = 0.0
        self._started_at = 0.0
        self._bytes_at_start = 0

    def supports(self, events: EventSet) -> bool:
        return True

    def lttng(self, *args: str) -> str:
        return lttng_cli(self.daemons.env, *args)

    def _consumer_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.daemons.consumerd_pids())

    def _pin_consumer(self, cpus: set[int]) -> None:
        for pid in self.daemons.consumerd_pids():
            pin_process(pid, cpus)

    def _create(self, session: str, workdir: Path) -> None:
        """`lttng create` of the session, its trace written locally under workdir."""
        self._path = workdir / "lttng"
        shutil.rmtree(self._path, ignore_errors=True)
        self.lttng("create", session, f"--output={self._path}")

    def _trace_dir(self) -> Path:
        """The folder of the session's trace (holding kernel/)."""
        return self._path

    def _relayd_cpu(self) -> float | None:
        """The relay daemon's CPU time so far (None: the trace is not streamed)."""
        return None

    def _streams(self) -> list[Path]:
        """The session's stream files (not the metadata, not the index files)."""
        return [f for f in (self._trace_dir() / "kernel").glob("*_[0-9]*") if f.is_file()]

    def _stream_bytes(self) -> int:
        return sum(f.stat().st_size for f in self._streams())

    def start(self, events: EventSet, workdir: Path) -> None:
        self.daemons.use(self.kind)
        self._session = f"bench{int(time.monotonic() * 1000)}"
        self._create(self._session, workdir)
        channel = None
        if not self.default_channel:
            channel = "bench"
            output = [f"--output={self.output}"] if self.output else []
            self.lttng("enable-channel", "-k", f"--subbuf-size={SUBBUF_SIZE}",
                       f"--num-subbuf={NUM_SUBBUF}", *output, channel)
        for command in lttng_event_commands(events, channel):
            self.lttng(*command)
        for context in self.contexts:
            self.lttng("add-context", "-k", "-t", context)
        if self.consumer_cpu is not None:
            self._pin_consumer({self.consumer_cpu})
        # The consumer's CPU per MB counts the drain; setting up the session's streams
        # (during `start`) is a cost per session, reported apart.
        before_start = self._consumer_cpu()
        self.lttng("start")
        self._cpu0 = self._consumer_cpu()
        self._relayd_cpu0 = self._relayd_cpu()
        self._setup_cpu = self._cpu0 - before_start
        self._started_at = time.monotonic()
        self._bytes_at_start = self._stream_bytes()

    def stop(self) -> Capture:
        # The workload has just ended: what the consumer wrote while it ran.
        drain_s = time.monotonic() - self._started_at
        drained = self._stream_bytes() - self._bytes_at_start
        begin = time.monotonic()
        self.lttng("stop")  # waits until the consumer has written everything out
        stop_s = time.monotonic() - begin
        cpu = self._consumer_cpu() - self._cpu0
        relayd_cpu = self._relayd_cpu()
        if relayd_cpu is not None and self._relayd_cpu0 is not None:
            relayd_cpu -= self._relayd_cpu0
        if self.consumer_cpu is not None:
            self._pin_consumer(set(range(os.cpu_count() or 1)))
        listed = self.lttng("list", self._session)
        begin = time.monotonic()
        self.lttng("destroy", self._session)
        destroy_s = time.monotonic() - begin
        self._session = ""  # nothing left for close() to destroy
        trace = self._trace_dir()
        events = babeltrace2_counts(trace)[0] if self.count else None
        listed_discarded = re.findall(r"Discarded events:\s+(\d+)", listed)
        streams = self._streams()
        # Discarded events as the trace tells them (its packets' events_discarded), as
        # babeltrace2 reports them; `lttng list`'s count is kept beside it.
        return Capture(events=events, discarded=discarded_events(streams),
                       bytes=sum(f.stat().st_size for f in streams),
                       record_bytes=event_record_bytes(streams),
                       consumer_cpu_s=cpu, consumer_setup_cpu_s=self._setup_cpu,
                       drained_bytes=drained, drain_s=drain_s, stop_s=stop_s,
                       destroy_s=destroy_s, relayd_cpu_s=relayd_cpu,
                       listed_discarded=sum(int(n) for n in listed_discarded)
                       if listed_discarded else None,
                       trace=str(trace))

    def close(self) -> None:
        if self._session:  # a run that failed before its destroy
            self._session = ""
            subprocess.run(["lttng", "destroy", "-a"], env=self.daemons.env,
                           capture_output=True, check=False)
