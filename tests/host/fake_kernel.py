"""pylttng-sessiond over a recording fake of the kernel tracer layer (KernelTracer) and of
the consumer daemon (Consumer, ConsumerLink), so that the kernel-domain command handlers
run on a host without the module.

The one fake of the host tests: test_sessiond_protocol.py and the tests built on its
Harness start the daemon in-process (start_daemon); test_sessiond_fuzz.py and
capture_cli_requests.py run it as a process (`python fake_kernel.py SOCKET`) in a sandbox,
because fuzzed requests name arbitrary paths and a root daemon would create them.
test_sessiond_protocol.py checks that each fake offers the methods of what it stands for.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

import trio
from pylttng.consumerd.fs_identity import Owner
from pylttng.protocol import kernel_abi as abi
from pylttng.protocol.consumer import RelaydRotation
from pylttng.sessiond.client_server import bind_client_socket, serve_clients
from pylttng.sessiond.consumer_link import OpenedRelaydSession, SnapshotCopied
from pylttng.sessiond.context import DaemonContext
from pylttng.sessiond.dispatch import Dispatcher
from pylttng.sessiond.kernel_tracer import KernelTracerError
from pylttng.sessiond.modprobe import TracerLoader
from pylttng.sessiond.session import SessionRegistry

TRACEPOINTS = ["sched_switch", "sched_wakeup", "irq_handler_entry"]
SYSCALLS = [abi.SyscallListEntry(0, "read", 64), abi.SyscallListEntry(1, "write", 64)]


class FakeTracer:
    """Records the tracer-layer calls; hands out real fds (of /dev/null) as the module would,
    so the daemon's bookkeeping of fds (closing, passing to the consumer) is exercised."""

    def __init__(self, ncpus: int = 2) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._streams: dict[int, int] = {}
        self.ncpus = ncpus
        self.destroy_gate: threading.Event | None = None
        self.destroy_entered = threading.Event()
        self.destroy_gate_timed_out = False
        self.refuse_tracking: int | None = None  # an errno for the tracker ioctls

    def answers(self) -> bool:
        return True

    def _fd(self) -> int:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)

    def _new_buffer(self, streams: int) -> int:
        fd = self._fd()
        self._streams[fd] = streams  # fd numbers are reused: reset the count
        return fd

    # --- tracer fd ---------------------------------------------------------------------
    async def wait_quiescent(self) -> None:
        pass

    async def list_syscalls(self) -> list[abi.SyscallListEntry]:
        self.calls.append(("SYSCALL_LIST",))
        return list(SYSCALLS)

    async def list_tracepoints(self) -> list[str]:
        self.calls.append(("TRACEPOINT_LIST",))
        return list(TRACEPOINTS)

    async def create_session(self) -> int:
        self.calls.append(("SESSION",))
        return self._fd()

    # --- session fd --------------------------------------------------------------------
    def session_set_name(self, session_fd: int, name: str) -> None:
        self.calls.append(("SESSION_SET_NAME", name))

    def session_set_creation_time(self, session_fd: int, timestamp: int) -> None:
        self.calls.append(("SESSION_SET_CREATION_TIME",))

    async def create_channel(
        self,
        session_fd: int,
        *,
        subbuf_size: int,
        num_subbuf: int,
        switch_timer_us: int,
        read_timer_us: int,
        mmap_output: bool,
        overwrite: bool,
    ) -> int:
        self.calls.append(("CHANNEL", subbuf_size, num_subbuf, int(overwrite)))
        return self._new_buffer(self.ncpus)

    async def open_metadata(self, session_fd: int, *, subbuf_size: int, num_subbuf: int) -> int:
        self.calls.append(("METADATA",))
        return self._new_buffer(1)

    async def start_session(self, session_fd: int) -> None:
        self.calls.append(("SESSION_START",))

    async def stop_session(self, session_fd: int) -> None:
        self.calls.append(("SESSION_STOP",))

    async def statedump(self, session_fd: int) -> None:
        self.calls.append(("SESSION_STATEDUMP",))

    async def set_tracked(
        self, session_fd: int, tracker: abi.TrackerType, id_: int, *, tracked: bool
    ) -> None:
        if self.refuse_tracking is not None:
            raise KernelTracerError(self.refuse_tracking, os.strerror(self.refuse_tracking))
        self.calls.append(("TRACK" if tracked else "UNTRACK", int(tracker), id_))

    async def regenerate_metadata(self, session_fd: int) -> None:
        self.calls.append(("SESSION_METADATA_REGEN",))

    async def destroy_session(self, session_fd: int) -> None:
        """Closes the fd; with a gate, first waits (at most 5 s) until the test opens it,
        as pylttng.ko's teardown waits for its tracepoints to be unhooked."""
        self.calls.append(("SESSION_CLOSE",))
        if self.destroy_gate is not None:
            gate = self.destroy_gate

            def wait() -> bool:
                self.destroy_entered.set()
                return gate.wait(5)

            self.destroy_gate_timed_out = not await trio.to_thread.run_sync(wait)
        os.close(session_fd)

    # --- channel fd --------------------------------------------------------------------
    def create_stream(self, channel_fd: int) -> int | None:
        if not self._streams.get(channel_fd):
            return None
        self._streams[channel_fd] -= 1
        self.calls.append(("STREAM",))
        return self._fd()

    def channel_stats(self, channel_fd: int) -> tuple[int, int]:
        return 0, 0

    async def create_event(
        self,
        channel_fd: int,
        name: str,
        instrumentation: abi.Instrumentation,
        *,
        probe: abi.ProbeLocation | None = None,
        uprobe_fd: int = -1,
    ) -> int:
        self.calls.append(("EVENT", name, int(instrumentation)))
        return self._fd()

    async def add_context(
        self,
        channel_fd: int,
        context: abi.ContextType,
        *,
        perf_type: int = 0,
        perf_config: int = 0,
        perf_name: str = "",
    ) -> None:
        self.calls.append(("CONTEXT", int(context)))

    # --- stream fd ---------------------------------------------------------------------
    async def flush_buffer(self, stream_fd: int) -> None:
        self.calls.append(("FLUSH",))

    async def clear_buffer(self, stream_fd: int) -> None:
        self.calls.append(("CLEAR",))

    # --- event fd ----------------------------------------------------------------------
    async def add_callsite(self, event_fd: int, offset: int) -> None:
        self.calls.append(("ADD_CALLSITE", offset))

    # --- event / channel / session fd --------------------------------------------------
    async def enable(self, fd: int) -> None:
        self.calls.append(("ENABLE",))

    async def disable(self, fd: int) -> None:
        self.calls.append(("DISABLE",))


class FakeLink:
    """The consumer link: records the streams handed over; a rotation stays pending while
    `hold` is set; consumed_size answers `consumed`."""

    def __init__(self) -> None:
        self.streams: list[tuple[str, str, bool]] = []
        self.snapshots: list[tuple[str, str, int]] = []
        # Each copy's file name, trace file size, count, first file number and index.
        self.snapshot_tracefiles: list[tuple[str, int, int, int, bool]] = []
        self.tracefiles: dict[str, tuple[int, int]] = {}  # file name: size, count
        self.rotations: list[str] = []
        self.closed = 0
        self.cleared = 0
        self.hold = False
        self.consumed = 0
        self.relayd_sessions: list[object] = []
        self.relayd_rotations: list[RelaydRotation] = []
        self.relayd_chunk: int | None = None  # the chunk the relay daemon is written in
        self.relayd_allows_clear = True

    async def add_stream(
        self,
        *,
        session_id: int,
        fd: int,
        trace_dir: str,
        file_name: str,
        metadata: bool,
        output: str = "mmap",
        tracefile_size: int = 0,
        tracefile_count: int = 0,
        relay_path: str = "",
        owner: Owner,
    ) -> None:
        self.streams.append((trace_dir, file_name, metadata))
        self.tracefiles[file_name] = (tracefile_size, tracefile_count)

    async def snapshot_stream(
        self,
        *,
        session_id: int,
        fd: int,
        trace_dir: str,
        file_name: str,
        metadata: bool,
        max_packets: int = 0,
        relay_path: str = "",
        owner: Owner,
        tracefile_size: int = 0,
        tracefile_count: int = 0,
        tracefile_index: int = 0,
        indexed: bool = False,
    ) -> SnapshotCopied:
        self.snapshots.append((trace_dir or f"relayd:{relay_path}", file_name, max_packets))
        self.snapshot_tracefiles.append((file_name, tracefile_size, tracefile_count,
                                         tracefile_index, indexed))
        # As a consumerd that moved to the next file once, and indexed it.
        if tracefile_size and not relay_path:
            following = tracefile_index + 1
            return SnapshotCopied(0, following % tracefile_count if tracefile_count else following,
                                  True)
        return SnapshotCopied(0)

    async def data_pending(self, session_id: int) -> bool:
        return False

    async def relayd_session(self, req: object) -> OpenedRelaydSession:
        self.relayd_sessions.append(req)
        return OpenedRelaydSession(len(self.relayd_sessions), "fake-host/fake-session",
                                   self.relayd_allows_clear)

    async def close_session(self, session_id: int) -> None:
        self.closed += 1

    async def rotate_session(self, session_id: int, trace_dir: str) -> None:
        # The sessiond creates the new chunk's folder before it tells the consumer.
        assert not trace_dir or os.path.isdir(trace_dir), trace_dir
        self.rotations.append(trace_dir)

    async def rotate_relayd_session(self, session_id: int, rotation: RelaydRotation) -> str:
        self.rotations.append(f"relayd chunk {rotation.next_chunk_id}")
        self.relayd_rotations.append(rotation)
        old, self.relayd_chunk = self.relayd_chunk, rotation.next_chunk_id
        return "" if old is None else f"fake-host/fake-session/archives/chunk-{old}"

    async def rotation_pending(self, session_id: int) -> bool:
        return self.hold

    async def clear_session(self, session_id: int) -> None:
        self.cleared += 1

    async def consumed_size(self, session_id: int) -> int:
        return self.consumed

    async def aclose(self) -> None:
        pass


class FakeConsumer:
    def __init__(self) -> None:
        self.the_link = FakeLink()

    async def link(self) -> FakeLink:
        return self.the_link

    def start_soon(self) -> None:
        pass

    @property
    def started(self) -> bool:
        return True

    async def aclose(self) -> None:
        pass


async def start_daemon(
    nursery: trio.Nursery, path: str, tracer: FakeTracer, consumer: FakeConsumer
) -> None:
    """Serve the client socket at `path` as a root daemon would, on the fakes; background
    work (rotations) runs in `nursery`."""
    loader = TracerLoader(no_kernel=False, tracer=tracer)  # type: ignore[arg-type]
    ctx = DaemonContext(
        sessions=SessionRegistry(),
        tracer=loader,
        consumer=consumer,  # type: ignore[arg-type]
        nursery=nursery,
    )
    listener = await bind_client_socket(path)
    nursery.start_soon(serve_clients, listener, Dispatcher(ctx, is_root=True), nursery)


async def _serve_forever(path: str) -> None:
    async with trio.open_nursery() as nursery:
        await start_daemon(nursery, path, FakeTracer(), FakeConsumer())
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                nursery.cancel_scope.cancel()


def main(argv: list[str]) -> int:
    """`fake_kernel.py SOCKET`: the daemon on the fakes until SIGTERM; logs on stderr."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    os.makedirs(os.path.dirname(argv[1]), exist_ok=True)
    trio.run(_serve_forever, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
