"""Figure 8, streaming: the consumer workload's trace sent through the stock lttng-relayd
2.13 on the guest's loopback, pylttng-consumerd (with pylttng-sessiond) against the stock
lttng-consumerd (with lttng-sessiond), both on pylttng.ko and driven by the stock CLI.

The session is the consumer step's (one channel of 8 x 4 MiB sub-buffers per CPU, getpid's
entry and exit, one producer thread on the consumer's CPU) created with
`--set-url=net://127.0.0.1:CONTROL:DATA`; the relay daemon, one for the step, shared by
both peers, writes the trace into its own folder, where the bytes it received are counted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .relayd import Relayd, loopback_up
from .tracers import Capture, Daemons, EventSet, Lttng, TracerError, cpu_seconds, pin_process
from .workloads import SyscallLoop

ADDRESS = "127.0.0.1"
PORTS = (5342, 5343, 5344)  # lttng-tools' defaults: control, data, live
# Decoding a full run's trace (4 M events) takes minutes under TCG: each peer and output
# mode has its first run's trace counted by babeltrace2, the rest by their packets.
COUNTED_RUNS = 1


def streaming_loop(binary: Path, calls: int) -> SyscallLoop:
    """The consumer step's producer: one thread on CPU 0, 2 events per call."""
    return SyscallLoop(binary, calls, 1, name="streaming")


def missing_events(events: int | None, discarded: int | None, expected: int) -> int:
    """How many of the producer's `expected` events the trace neither holds nor counts as
    discarded (0 when it accounts for all of them, or was not counted)."""
    if events is None or discarded is None:
        return 0
    return max(0, expected - events - discarded)


class StreamingLttng(Lttng):
    """An LTTng session streamed to `relayd` (started on first use, stopped by close())."""

    def __init__(self, daemons: Daemons, kind: str, output: str, relayd: Relayd,
                 expected_events: int, consumer_cpu: int) -> None:
        super().__init__(daemons, kind, output, consumer_cpu=consumer_cpu)
        self.relayd = relayd
        self.expected_events = expected_events
        self.relayd_cpu = consumer_cpu  # the relay daemon shares the consumer's CPU
        self._runs = 0
        self._name = ""
        self._session_dir: Path | None = None

    def start(self, events: EventSet, workdir: Path) -> None:
        if not self.relayd.running:
            loopback_up()
            self.relayd.start()
        assert self.relayd.proc is not None
        pin_process(self.relayd.proc.pid, {self.relayd_cpu})
        self.count = self._runs < COUNTED_RUNS
        self._runs += 1
        self._session_dir = None
        super().start(events, workdir)

    def _create(self, session: str, workdir: Path) -> None:
        self._name = session
        control, data, _ = self.relayd.ports
        self.lttng("create", session, f"--set-url=net://{self.relayd.address}:{control}:{data}")

    def _trace_dir(self) -> Path:
        """The relay daemon's folder for the session, HOST/SESSION-DATE (a path that does
        not exist until the relay daemon has made it)."""
        if self._session_dir is None:
            found = sorted(self.relayd.output.glob(f"*/{self._name}-*"))
            if len(found) > 1:
                raise TracerError(f"lttng-relayd wrote {len(found)} folders for "
                                  f"{self._name}: {found}")
            if not found:
                return self.relayd.output / "not-yet" / self._name
            self._session_dir = found[0]
        return self._session_dir

    def _relayd_cpu(self) -> float | None:
        assert self.relayd.proc is not None
        return cpu_seconds(self.relayd.proc.pid)

    def stop(self) -> Capture:
        capture = super().stop()
        missing = missing_events(capture.events, capture.discarded, self.expected_events)
        if missing:
            shutil.rmtree(capture.trace, ignore_errors=True)
            raise TracerError(f"{self.name}: the streamed trace lacks {missing} of the "
                              f"producer's {self.expected_events} events")
        return capture

    def close(self) -> None:
        super().close()
        self.relayd.stop()


def streaming_tracers(daemons: Daemons, workdir: Path, loop: SyscallLoop, consumer_cpu: int,
                      kinds: tuple[str, ...]) -> list[StreamingLttng]:
    """Both peers, each with --output mmap and splice, sharing one relay daemon."""
    relayd = Relayd(workdir / "relayd", ADDRESS, *PORTS)
    expected = 2 * loop.calls * loop.threads
    return [StreamingLttng(daemons, kind, output, relayd, expected, consumer_cpu)
            for kind in kinds for output in ("mmap", "splice")]
