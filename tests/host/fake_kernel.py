"""pylttng-sessiond over a recording fake of the /proc/lttng tracer and of the consumer
daemon, so that the kernel-domain command handlers run on a host without the module.

Shared by test_sessiond_protocol.py (in-process) and test_sessiond_fuzz.py, which runs it
as a process (`python fake_kernel.py SOCKET`) in a sandbox: the fuzzed requests name
arbitrary paths and a root daemon would create them.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

import trio
from pylttng.protocol import kernel_abi as abi
from pylttng.sessiond.client_server import bind_client_socket, serve_clients
from pylttng.sessiond.context import DaemonContext
from pylttng.sessiond.dispatch import Dispatcher
from pylttng.sessiond.kernel_domain import KernelDomain
from pylttng.sessiond.session import SessionRegistry


class FakeTracer:
    """Records the ioctl-level calls; hands out real fds (of /dev/null) as the module would."""

    def __init__(self, ncpus: int = 2) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._streams: dict[int, int] = {}
        self.ncpus = ncpus
        self.destroy_gate: threading.Event | None = None
        self.destroy_entered = threading.Event()
        self.destroy_gate_timed_out = False
        # The tracer control fd: the handlers that ioctl it directly get ENOTTY.
        self.fd = self._fd()

    def _fd(self) -> int:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)

    def wait_quiescent(self) -> None:
        pass

    def list_syscalls(self) -> list[abi.SyscallListEntry]:
        self.calls.append(("SYSCALL_LIST",))
        return [abi.SyscallListEntry(0, "read", 64), abi.SyscallListEntry(1, "write", 64)]

    def create_session(self) -> int:
        self.calls.append(("SESSION",))
        return self._fd()

    def session_set_name(self, fd: int, name: str) -> None:
        self.calls.append(("SESSION_SET_NAME", name))

    def session_set_creation_time(self, fd: int, ts: int) -> None:
        self.calls.append(("SESSION_SET_CREATION_TIME",))

    def create_channel(self, fd: int, raw: bytes) -> int:
        chan = abi.Channel.parse(raw)
        self.calls.append(("CHANNEL", chan.subbuf_size, chan.num_subbuf, chan.overwrite))
        return self._fd()

    def open_metadata(self, fd: int, raw: bytes) -> int:
        self.calls.append(("METADATA",))
        return self._fd()

    def create_stream(self, fd: int) -> int | None:
        n = self._streams.get(fd, 0)
        limit = 1 if ("METADATA",) == self.calls[-1] else self.ncpus
        if n >= limit:
            return None
        self._streams[fd] = n + 1
        self.calls.append(("STREAM",))
        return self._fd()

    def channel_stats(self, fd: int) -> tuple[int, int]:
        return 0, 0

    def create_event(self, fd: int, raw: bytes) -> int:
        ev = abi.Event.parse(raw)
        name = bytes(ev.name).rstrip(b"\0").decode()
        self.calls.append(("EVENT", name, int(ev.instrumentation)))
        return self._fd()

    def add_context(self, fd: int, raw: bytes) -> None:
        self.calls.append(("CONTEXT",))

    def add_callsite(self, fd: int, raw: bytes) -> None:
        self.calls.append(("ADD_CALLSITE",))

    def enable(self, fd: int) -> None:
        self.calls.append(("ENABLE",))

    def disable(self, fd: int) -> None:
        self.calls.append(("DISABLE",))

    def start_session(self, fd: int) -> None:
        self.calls.append(("SESSION_START",))

    def stop_session(self, fd: int) -> None:
        self.calls.append(("SESSION_STOP",))

    def destroy_session(self, fd: int) -> None:
        """Closes the fd; with a gate, first waits (at most 5 s) until the test opens it,
        as pylttng.ko's teardown waits for its tracepoints to be unhooked."""
        self.calls.append(("SESSION_CLOSE",))
        if self.destroy_gate is not None:
            self.destroy_entered.set()
            self.destroy_gate_timed_out = not self.destroy_gate.wait(5)
        os.close(fd)

    def flush_buffer(self, fd: int) -> None:
        self.calls.append(("FLUSH",))


class FakeLink:
    def __init__(self) -> None:
        self.streams: list[tuple[str, str, bool]] = []
        self.closed = 0

    async def add_stream(
        self,
        *,
        session_id: int,
        fd: int,
        trace_dir: str,
        file_name: str,
        metadata: bool,
        output: str = "mmap",
    ) -> None:
        self.streams.append((trace_dir, file_name, metadata))

    async def data_pending(self, session_id: int) -> bool:
        return False

    async def close_session(self, session_id: int) -> None:
        self.closed += 1


class FakeConsumer:
    def __init__(self) -> None:
        self.the_link = FakeLink()

    async def link(self) -> FakeLink:
        return self.the_link

    def start_soon(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


async def start_daemon(
    nursery: trio.Nursery, path: str, tracer: FakeTracer, consumer: FakeConsumer
) -> None:
    """Serve the client socket at `path` as a root daemon would, on the fakes."""
    kernel = KernelDomain(consumer, no_kernel=False, tracer=tracer)  # type: ignore[arg-type]
    ctx = DaemonContext(sessions=SessionRegistry(), kernel=kernel)
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
