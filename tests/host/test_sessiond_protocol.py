"""pylttng-sessiond in-process, spoken to with the codec: robustness against garbage and
the kernel-domain logic over a recording fake of the /proc/lttng tracer."""

from __future__ import annotations

import os
import pathlib
import socket
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
from pylttng.protocol.client import reader, writer
from pylttng.protocol.client.constants import (
    BufferType,
    Command,
    DomainType,
    ErrorCode,
    EventType,
    SessionDescriptorOutputType,
    SessionDescriptorType,
)
from pylttng.protocol.client.messages import Channel, Domain, Event, Reply, SessionDescriptor
from pylttng.sessiond.client_server import bind_client_socket, serve_clients
from pylttng.sessiond.context import DaemonContext
from pylttng.sessiond.dispatch import Dispatcher
from pylttng.sessiond.kernel_tracer import KernelTracerError
from pylttng.sessiond.modprobe import TracerLoader
from pylttng.sessiond.session import SessionRegistry

KERNEL = Domain(type=DomainType.KERNEL, buf_type=BufferType.GLOBAL)


class FakeTracer:
    """Records the tracer-layer calls; hands out real fds (of /dev/null) as the module would."""

    def __init__(self, ncpus: int = 2) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._streams: dict[int, int] = {}
        self.ncpus = ncpus
        self.destroy_gate: threading.Event | None = None
        self.destroy_entered = threading.Event()
        self.destroy_gate_timed_out = False
        self.refuse_tracking: int | None = None  # an errno for the tracker ioctls

    def _fd(self) -> int:
        return os.open(os.devnull, os.O_RDONLY)

    async def create_session(self) -> int:
        self.calls.append(("SESSION",))
        return self._fd()

    def session_set_name(self, fd: int, name: str) -> None:
        self.calls.append(("SESSION_SET_NAME", name))

    def session_set_creation_time(self, fd: int, ts: int) -> None:
        self.calls.append(("SESSION_SET_CREATION_TIME",))

    async def create_channel(
        self, fd: int, *, subbuf_size: int, num_subbuf: int, overwrite: bool, **_: object
    ) -> int:
        self.calls.append(("CHANNEL", subbuf_size, num_subbuf, int(overwrite)))
        return self._new_buffer(self.ncpus)

    async def open_metadata(self, fd: int, **_: object) -> int:
        self.calls.append(("METADATA",))
        return self._new_buffer(1)

    def _new_buffer(self, streams: int) -> int:
        fd = self._fd()
        self._streams[fd] = streams  # fd numbers are reused: reset the count
        return fd

    def create_stream(self, fd: int) -> int | None:
        if not self._streams.get(fd):
            return None
        self._streams[fd] -= 1
        self.calls.append(("STREAM",))
        return self._fd()

    async def create_event(self, fd: int, name: str, instrumentation: int, **_: object) -> int:
        self.calls.append(("EVENT", name, int(instrumentation)))
        return self._fd()

    async def enable(self, fd: int) -> None:
        self.calls.append(("ENABLE",))

    async def disable(self, fd: int) -> None:
        self.calls.append(("DISABLE",))

    async def start_session(self, fd: int) -> None:
        self.calls.append(("SESSION_START",))

    async def stop_session(self, fd: int) -> None:
        self.calls.append(("SESSION_STOP",))

    async def destroy_session(self, fd: int) -> None:
        """Closes the fd; with a gate, first waits (at most 5 s) until the test opens it,
        as pylttng.ko's teardown waits for its tracepoints to be unhooked."""
        self.calls.append(("SESSION_CLOSE",))
        if self.destroy_gate is not None:
            gate = self.destroy_gate

            def wait() -> bool:
                self.destroy_entered.set()
                return gate.wait(5)

            self.destroy_gate_timed_out = not await trio.to_thread.run_sync(wait)
        os.close(fd)

    async def set_tracked(self, fd: int, tracker: int, id_: int, *, tracked: bool) -> None:
        if self.refuse_tracking is not None:
            raise KernelTracerError(self.refuse_tracking, os.strerror(self.refuse_tracking))
        self.calls.append(("TRACK" if tracked else "UNTRACK", int(tracker), id_))

    async def wait_quiescent(self) -> None:
        pass

    async def flush_buffer(self, fd: int) -> None:
        self.calls.append(("FLUSH",))


class FakeLink:
    def __init__(self) -> None:
        self.streams: list[tuple[str, str, bool]] = []
        self.snapshots: list[tuple[str, str, int]] = []
        self.tracefiles: dict[str, tuple[int, int]] = {}  # file name: size, count
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
        tracefile_size: int = 0,
        tracefile_count: int = 0,
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
    ) -> int:
        self.snapshots.append((trace_dir, file_name, max_packets))
        return 0

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


class Harness:
    def __init__(self, path: str, tracer: FakeTracer, consumer: FakeConsumer) -> None:
        self.path = path
        self.tracer = tracer
        self.consumer = consumer

    async def raw(self, data: bytes, *, half_close: bool = True) -> bytes:
        sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with sock:
            await sock.connect(self.path)
            out = b""
            try:
                view = memoryview(data)
                while view:
                    view = view[await sock.send(view) :]
                if half_close:
                    sock.shutdown(socket.SHUT_WR)
                while chunk := await sock.recv(65536):
                    out += chunk
            except (ConnectionResetError, BrokenPipeError):
                pass  # the daemon answered and closed before reading everything we sent
            return out

    async def ask(
        self,
        cmd: int,
        session: str = "",
        domain: Domain | None = None,
        union: bytes = b"",
        payload: bytes = b"",
    ) -> Reply:
        raw = await self.raw(writer.encode_request(cmd, session, domain, union, payload))
        return reader.parse_reply(raw)

    async def create(self, name: str, out: str, *, snapshot: bool = False) -> Reply:
        from pylttng.protocol.client.messages import Uri

        desc = writer.encode_session_descriptor(
            SessionDescriptor(
                type=SessionDescriptorType.SNAPSHOT if snapshot else SessionDescriptorType.REGULAR,
                output_type=SessionDescriptorOutputType.LOCAL,
                name=name,
                uris=(Uri(dtype=3, dst=out),),
            )
        )
        union = (0).to_bytes(2, "little") + len(desc).to_bytes(8, "little")
        return await self.ask(Command.CREATE_SESSION_EXT, union=union, payload=desc)

    async def enable_event(
        self, session: str, name: str, etype: int = EventType.TRACEPOINT, channel: str = ""
    ) -> Reply:
        payload = writer.encode_event(Event(name=name, type=etype))
        union = channel.encode().ljust(256, b"\0") + len(payload).to_bytes(4, "little")
        return await self.ask(Command.ENABLE_EVENT, session, KERNEL, union, payload)

    async def enable_channel(self, session: str, chan: Channel) -> Reply:
        payload = writer.encode_channel(chan)
        return await self.ask(
            Command.ENABLE_CHANNEL, session, KERNEL, len(payload).to_bytes(4, "little"), payload
        )


@pytest.fixture
async def daemon(tmp_path: pathlib.Path) -> AsyncIterator[Harness]:
    path = str(tmp_path / "client-lttng-sessiond")
    tracer = FakeTracer()
    consumer = FakeConsumer()
    loader = TracerLoader(no_kernel=False, tracer=tracer)  # type: ignore[arg-type]
    ctx = DaemonContext(
        sessions=SessionRegistry(), tracer=loader, consumer=consumer  # type: ignore[arg-type]
    )
    listener = await bind_client_socket(path)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_clients, listener, Dispatcher(ctx, is_root=True), nursery)
        yield Harness(path, tracer, consumer)
        nursery.cancel_scope.cancel()


async def test_garbage_never_kills_the_daemon(daemon: Harness) -> None:
    assert await daemon.raw(b"hello") == b""  # short message, then EOF: dropped
    for _ in range(20):
        await daemon.raw(os.urandom(20000))
    reply = await daemon.ask(9999)
    assert reply.ret_code == ErrorCode.UND
    reply = reader.parse_reply(
        await daemon.raw(
            writer.encode_request(
                Command.ENABLE_CHANNEL, "x", union=(1 << 31).to_bytes(4, "little")
            )
        )
    )
    assert reply.ret_code == ErrorCode.INVALID_PROTOCOL
    bad_event = writer.encode_request(
        Command.CREATE_SESSION_EXT, union=b"\0\0\x05" + b"\0" * 7, payload=b"\xff" * 5
    )
    assert reader.parse_reply(await daemon.raw(bad_event)).ret_code == ErrorCode.INVALID_PROTOCOL
    reply = await daemon.ask(Command.LIST_SESSIONS)
    assert reply.ret_code == ErrorCode.OK and reply.payload == b""


async def test_kernel_session_lifecycle(daemon: Harness, tmp_path: pathlib.Path) -> None:
    out = str(tmp_path / "trace")
    assert (await daemon.create("dup", out)).ret_code == ErrorCode.OK
    assert (await daemon.create("dup", out)).ret_code == ErrorCode.EXIST_SESS
    assert (await daemon.enable_event("dup", "no_such_tracepoint_xyz")).ret_code == ErrorCode.OK
    assert (await daemon.enable_event("dup", "sched_switch")).ret_code == ErrorCode.OK
    again = await daemon.enable_event("dup", "sched_switch")
    assert again.ret_code == ErrorCode.KERN_EVENT_EXIST  # CLI: warning, exit 35
    syscall = await daemon.enable_event("dup", "no_such_syscall", EventType.SYSCALL)
    assert syscall.ret_code == ErrorCode.OK
    assert daemon.tracer.calls[:5] == [
        ("SESSION",),
        ("SESSION_SET_NAME", "dup"),
        ("SESSION_SET_CREATION_TIME",),
        ("CHANNEL", 1 << 20, 4, 0),
        ("EVENT", "no_such_tracepoint_xyz", 0),
    ]

    channels = await daemon.ask(Command.LIST_CHANNELS, "dup", KERNEL)
    assert channels.cmd_header == (1).to_bytes(4, "little")
    chan, used = reader.decode_channel(channels.payload)
    assert used == len(channels.payload)
    assert (chan.name, chan.enabled, chan.overwrite, chan.subbuf_size, chan.num_subbuf) == (
        "channel0",
        False,
        0,
        1048576,
        4,
    )
    assert (chan.read_timer_interval, chan.monitor_timer_interval, chan.output) == (
        200000,
        1000000,
        0,
    )

    union = b"channel0".ljust(256, b"\0")
    events = await daemon.ask(Command.LIST_EVENTS, "dup", KERNEL, union)
    assert int.from_bytes(events.payload[:4], "little") == 3
    names, at = [], 4
    while at < len(events.payload):
        ev, used = reader.decode_event(events.payload, at)
        names.append((ev.name, ev.type, ev.loglevel, ev.enabled))
        at += used
    # Newest first, loglevel 0, as in the reference transcript.
    assert names == [
        ("no_such_syscall", 5, 0, 1),
        ("sched_switch", 0, 0, 1),
        ("no_such_tracepoint_xyz", 0, 0, 1),
    ]

    assert (await daemon.ask(Command.START_TRACE, "dup")).ret_code == ErrorCode.OK
    assert (
        await daemon.ask(Command.START_TRACE, "dup")
    ).ret_code == ErrorCode.TRACE_ALREADY_STARTED
    assert [c[0] for c in daemon.tracer.calls[-5:]] == [
        "METADATA",
        "STREAM",
        "STREAM",
        "STREAM",
        "SESSION_START",
    ]
    assert daemon.consumer.the_link.streams == [
        (out + "/kernel", "metadata", True),
        (out + "/kernel", "channel0_0", False),
        (out + "/kernel", "channel0_1", False),
    ]
    late = await daemon.enable_channel("dup", Channel(name="c2", subbuf_size=4096, num_subbuf=4))
    assert late.ret_code == ErrorCode.TRACE_ALREADY_STARTED
    assert (await daemon.ask(Command.STOP_TRACE, "dup")).ret_code == ErrorCode.OK
    # As lttng-sessiond's stop_kernel_session(): stop, then flush metadata and streams.
    assert [c[0] for c in daemon.tracer.calls[-4:]] == ["SESSION_STOP", "FLUSH", "FLUSH", "FLUSH"]
    assert (await daemon.ask(Command.STOP_TRACE, "dup")).ret_code == ErrorCode.TRACE_ALREADY_STOPPED
    pending = await daemon.ask(Command.DATA_PENDING, "dup")
    assert pending.payload == b"\0"
    destroyed = await daemon.ask(Command.DESTROY_SESSION, "dup")
    assert destroyed.ret_code == ErrorCode.OK and destroyed.cmd_header == b"\0\0\0\0"
    assert daemon.consumer.the_link.closed == 1
    assert (await daemon.ask(Command.DESTROY_SESSION, "dup")).ret_code == ErrorCode.SESS_NOT_FOUND


async def test_event_loop_runs_while_the_kernel_tears_a_session_down(daemon: Harness) -> None:
    """Closing a kernel session's fd can take seconds (pylttng.ko waits for its tracepoints
    to be unhooked): done in a thread, as start and stop, so the daemon's other tasks (the
    consumer daemon's supervisor, new connections) keep running meanwhile."""
    assert (await daemon.create("big", "/nonexistent")).ret_code == ErrorCode.OK
    assert (await daemon.enable_event("big", "sched_switch")).ret_code == ErrorCode.OK
    gate = daemon.tracer.destroy_gate = threading.Event()
    replies: list[Reply] = []

    async def destroy() -> None:
        replies.append(await daemon.ask(Command.DESTROY_SESSION, "big"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(destroy)
        await trio.to_thread.run_sync(daemon.tracer.destroy_entered.wait, 5)
        await trio.sleep(0.05)  # this task runs while the close waits
        assert replies == []
        gate.set()
    assert not daemon.tracer.destroy_gate_timed_out, "the close blocked the event loop"
    assert [r.ret_code for r in replies] == [ErrorCode.OK]
    assert daemon.tracer.calls.count(("SESSION_CLOSE",)) == 1


async def test_named_channel_rules(daemon: Harness, tmp_path: pathlib.Path) -> None:
    await daemon.create("s", str(tmp_path / "t"))
    ok = await daemon.enable_channel(
        "s", Channel(name="c2", subbuf_size=8192, num_subbuf=8, overwrite=1, output=1)
    )
    assert ok.ret_code == ErrorCode.OK
    assert daemon.tracer.calls[-1] == ("CHANNEL", 8192, 8, 1)
    dup = await daemon.enable_channel("s", Channel(name="c2", subbuf_size=8192, num_subbuf=8))
    assert dup.ret_code == ErrorCode.KERN_CHAN_EXIST
    bad = await daemon.enable_channel(
        "s", Channel(name="c3", subbuf_size=4096, num_subbuf=1, overwrite=1)
    )
    assert bad.ret_code == ErrorCode.INVALID
    # With a named channel, events need an explicit channel name.
    assert (await daemon.enable_event("s", "x")).ret_code == ErrorCode.NEED_CHANNEL_NAME
    assert (await daemon.enable_event("s", "x", channel="c2")).ret_code == ErrorCode.OK


async def test_trace_file_size_and_count_go_to_the_consumer(
    daemon: Harness, tmp_path: pathlib.Path
) -> None:
    """Accepted as lttng-sessiond accepts them for the kernel domain (even below the
    sub-buffer size: the CLI rounds that up), and sent with each stream of the channel."""
    await daemon.create("tf", str(tmp_path / "t"))
    chan = Channel(
        name="c", subbuf_size=16384, num_subbuf=4, tracefile_size=65536, tracefile_count=3
    )
    assert (await daemon.enable_channel("tf", chan)).ret_code == ErrorCode.OK
    small = Channel(name="d", subbuf_size=16384, num_subbuf=4, tracefile_size=4096)
    assert (await daemon.enable_channel("tf", small)).ret_code == ErrorCode.OK
    assert (await daemon.enable_event("tf", "x", channel="c")).ret_code == ErrorCode.OK
    assert (await daemon.ask(Command.START_TRACE, "tf")).ret_code == ErrorCode.OK
    assert daemon.consumer.the_link.tracefiles == {
        "metadata": (0, 0),
        "c_0": (65536, 3),
        "c_1": (65536, 3),
        "d_0": (4096, 0),
        "d_1": (4096, 0),
    }
