"""pylttng-consumerd end to end over its real unix socket, with real SCM_RIGHTS fd passing.

The ring-buffer ioctls need the kernel module, so the daemon binary is exercised for
everything up to them (fd passing, error replies, garbage, signals), and the full data path
runs in-process with a fake ring buffer behind the received fds.
"""

from __future__ import annotations

import functools
import os
import shlex
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgpack
import pytest
import trio
from pylttng.consumerd import daemon
from pylttng.consumerd.fs_identity import ROOT
from pylttng.consumerd.wire import connect_unix
from pylttng.protocol.consumer import DataPending, encode_request, parse_reply
from pylttng.protocol.consumer import Frame as FrameEvent
from pylttng.sessiond import consumer_supervisor
from pylttng.sessiond.consumer_link import ConsumerError, ConsumerLink
from pylttng.sessiond.consumer_supervisor import ConsumerdProcess, run_consumerd
from test_consumer_fakering import PAGE, FakeKernel, ctf_packet, page_align

DAEMON = [sys.executable, "-m", "pylttng.consumerd"]


@pytest.fixture
def sock_path(tmp_path: Path) -> str:
    return str(tmp_path / "consumerd.sock")


@pytest.fixture
def consumerd(sock_path: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([*DAEMON, "--socket", sock_path, "-v"], stderr=subprocess.PIPE)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    assert proc.stderr is not None
    proc.stderr.close()


@pytest.fixture
async def link(sock_path: str, consumerd: subprocess.Popen[bytes]) -> AsyncIterator[ConsumerLink]:
    lk = await ConsumerLink.connect(sock_path)
    yield lk
    await lk.aclose()


async def raw_request(sock_path: str, data: bytes) -> dict[str, object]:
    """Send raw bytes on a fresh connection, return the decoded reply."""
    conn = await connect_unix(sock_path)
    try:
        await conn.send(data)
        event = await conn.receive()
        assert isinstance(event, FrameEvent)
        reply = parse_reply(event.payload)
        return {"ok": reply.ok, "error": reply.error, **reply.values}
    finally:
        conn.close()


# --- the daemon binary ---------------------------------------------------------------------


async def test_fd_that_is_not_a_ring_buffer_is_refused(link: ConsumerLink, tmp_path: Path) -> None:
    r, w = os.pipe()
    try:
        with pytest.raises(ConsumerError, match="not a ring-buffer stream.*Inappropriate ioctl"):
            await link.add_stream(
                owner=ROOT,
                session_id=1,
                fd=r,
                trace_dir=str(tmp_path / "t"),
                file_name="c_0",
                metadata=False,
            )
    finally:
        os.close(r)
        os.close(w)
    assert not (tmp_path / "t").exists()  # nothing created for a refused stream
    plain = os.open(tmp_path / "plain", os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        with pytest.raises(ConsumerError, match="not a ring-buffer stream"):
            await link.add_stream(
                owner=ROOT,
                session_id=1,
                fd=plain,
                trace_dir=str(tmp_path),
                file_name="x",
                metadata=True,
            )
    finally:
        os.close(plain)
    # Unknown sessions have nothing to do, and the daemon is still serving.
    assert await link.data_pending(42) is False
    await link.close_session(42)


async def test_garbage_gets_error_replies_and_daemon_carries_on(
    sock_path: str, link: ConsumerLink
) -> None:
    await link.aclose()  # one connection at a time: make room for the raw ones
    reply = await raw_request(sock_path, struct.pack(">I", 4) + b"\xc1\xc1\xc1\xc1")
    assert reply["ok"] is False and "malformed request" in str(reply["error"])
    reply = await raw_request(sock_path, struct.pack(">I", 0xFFFFFFF0) + b"junk")
    assert reply["ok"] is False and "malformed frame" in str(reply["error"])
    bogus = msgpack.packb(
        {
            "cmd": "add_stream",
            "session_id": 1,
            "trace_dir": "/t",
            "file_name": "f",
            "metadata": False,
        }
    )
    reply = await raw_request(sock_path, struct.pack(">I", len(bogus)) + bogus)
    assert reply == {"ok": False, "error": "add_stream: no file descriptor came with the request"}
    # Several requests on one connection, after a bad one.
    conn = await connect_unix(sock_path)
    await conn.send(struct.pack(">I", 2) + b"\x92\x01" + encode_request(DataPending(1)))
    first, second = await conn.receive(), await conn.receive()
    assert isinstance(first, FrameEvent) and isinstance(second, FrameEvent)
    assert parse_reply(first.payload).ok is False
    assert parse_reply(second.payload).ok is True
    # Vanish in the middle of a frame: only this connection ends.
    await conn.send(struct.pack(">I", 100) + b"abc")
    conn.close()
    lk = await ConsumerLink.connect(sock_path)
    assert await lk.data_pending(1) is False
    await lk.aclose()


async def test_sigterm_exits_cleanly(
    sock_path: str, link: ConsumerLink, consumerd: subprocess.Popen[bytes]
) -> None:
    assert await link.data_pending(0) is False
    consumerd.send_signal(signal.SIGTERM)
    with trio.fail_after(10):
        while consumerd.poll() is None:
            await trio.sleep(0.02)
    assert consumerd.returncode == 0
    assert not os.path.exists(sock_path)
    with pytest.raises(ConsumerError, match="lost|not listening"):
        await link.data_pending(0)


async def test_connect_times_out_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConsumerError, match="not listening on .*after 0.2 s"):
        await ConsumerLink.connect(str(tmp_path / "nobody.sock"), timeout=0.2)


def test_refuses_to_steal_a_live_socket(sock_path: str, consumerd: subprocess.Popen[bytes]) -> None:
    wait_for_socket(sock_path)
    second = subprocess.run(
        [*DAEMON, "--socket", sock_path], check=False, capture_output=True, text=True, timeout=20
    )
    assert second.returncode == 1
    assert "another consumerd is listening" in second.stderr
    assert consumerd.poll() is None


def wait_for_socket(path: str) -> None:
    """Until the daemon accepts connections (its socket file exists just before listen())."""
    for _ in range(1000):
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(path)
                return
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.01)
    raise AssertionError(f"{path} never accepted a connection")


# --- the full data path, in-process, with fake ring buffers behind the passed fds ---------------


@pytest.fixture
async def fake_daemon(sock_path: str) -> AsyncIterator[FakeKernel]:
    kernel = FakeKernel()
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: daemon.run(
                sock_path, reader_factory=kernel, task_status=task_status
            )
        )
        yield kernel
        nursery.cancel_scope.cancel()
    kernel.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_session_lifecycle(sock_path: str, fake_daemon: FakeKernel, tmp_path: Path) -> None:
    kernel = fake_daemon
    trace = tmp_path / "trace" / "kernel"
    fds_before = open_fds()
    chan0, chan1, meta = kernel.ring(), kernel.ring(), kernel.ring()
    link = await ConsumerLink.connect(sock_path)
    await link.data_pending(5)  # the daemon has accepted: its end of the socket exists too
    fds_with_rings = open_fds()
    await link.add_stream(
        owner=ROOT,
        session_id=5,
        fd=chan0.fd,
        trace_dir=str(trace),
        file_name="channel0_0",
        metadata=False,
    )
    await link.add_stream(
        owner=ROOT,
        session_id=5,
        fd=chan1.fd,
        trace_dir=str(trace),
        file_name="channel0_1",
        metadata=False,
        output="splice",
    )
    await link.add_stream(
        owner=ROOT,
        session_id=5,
        fd=meta.fd,
        trace_dir=str(trace),
        file_name="metadata",
        metadata=True,
    )
    with pytest.raises(ConsumerError, match="already written by another stream"):
        await link.add_stream(
            owner=ROOT,
            session_id=6,
            fd=chan0.fd,
            trace_dir=str(trace),
            file_name="channel0_0",
            metadata=False,
        )
    assert sorted(p.name for p in trace.iterdir()) == [
        "channel0_0",
        "channel0_1",
        "index",
        "metadata",
    ]
    assert sorted(p.name for p in (trace / "index").iterdir()) == [
        "channel0_0.idx",
        "channel0_1.idx",
    ]

    meta.produce(b"/* CTF 1.8 */" * 10)
    chan0.produce(b"a" * 5000)
    chan1.produce(b"b" * 3000)
    chan1.produce_partial(b"c" * 10)
    chan0.produce_partial(b"d" * 10)
    with trio.fail_after(5):
        while chan0.puts + chan1.puts + meta.puts < 3:
            await trio.sleep(0.01)
    assert await link.data_pending(5) is False  # the open packets are not ready
    chan0.flush()  # as the session daemon does at `lttng stop`, on its own fds
    chan1.flush()
    with trio.fail_after(5):  # the drain tasks write the packets the flush made ready
        while await link.data_pending(5):
            await trio.sleep(0.01)
    assert (
        trace / "channel0_1"
    ).read_bytes() == b"b" * 3000 + b"\xee" * 1096 + b"c" * 10 + b"\xee" * 4086
    assert (trace / "channel0_0").stat().st_size == page_align(5000) + 4096
    assert await link.data_pending(5) is False

    chan0.produce_partial(b"e" * 10)
    await link.close_session(5)  # flushes and drains the last packet
    assert (trace / "channel0_0").read_bytes().endswith(b"e" * 10 + b"\xee" * 4086)
    assert chan0.consumed == [b"a" * 5000, b"d" * 10, b"e" * 10]
    assert (trace / "metadata").read_bytes().startswith(b"/* CTF 1.8 */")
    assert open_fds() == fds_with_rings  # every received fd, mapping and file is closed
    await link.aclose()
    kernel.close()
    kernel.rings.clear()
    with trio.fail_after(5):  # the daemon closes its end once it sees the EOF
        while open_fds() != fds_before:
            await trio.sleep(0.01)


async def test_full_disk_is_reported_not_hidden(
    sock_path: str, fake_daemon: FakeKernel, tmp_path: Path
) -> None:
    ring = fake_daemon.ring()
    trace = tmp_path / "kernel"
    trace.mkdir()
    (trace / "channel0_0").symlink_to("/dev/full")  # every write fails with ENOSPC
    link = await ConsumerLink.connect(sock_path)
    await link.add_stream(
        owner=ROOT,
        session_id=1,
        fd=ring.fd,
        trace_dir=str(trace),
        file_name="channel0_0",
        metadata=False,
    )
    ring.produce(b"z" * 100)
    with pytest.raises(ConsumerError, match="channel0_0: No space left on device"):
        with trio.fail_after(5):  # pending until the drain task's write fails
            while await link.data_pending(1):
                await trio.sleep(0.01)
    with pytest.raises(ConsumerError, match="No space left on device"):
        await link.data_pending(1)
    assert ring.puts == 0  # kept in the ring buffer, not thrown away
    with pytest.raises(ConsumerError, match="No space left on device .*4096 bytes"):
        await link.close_session(1)
    assert await link.data_pending(1) is False  # the session is gone; the daemon lives on
    await link.aclose()


# --- the supervisor ----------------------------------------------------------------------------


async def test_supervisor_restarts_a_killed_consumerd(sock_path: str) -> None:
    async with trio.open_nursery() as nursery:
        handle: ConsumerdProcess = await nursery.start(run_consumerd, sock_path)
        first_pid = handle.pid
        link = await ConsumerLink.connect(sock_path)
        assert await link.data_pending(1) is False
        os.kill(first_pid, signal.SIGKILL)
        with trio.fail_after(15):
            while handle.restarts < 1:
                await trio.sleep(0.02)
        assert handle.pid != first_pid
        # The call on the dead connection fails clearly; the next one reconnects.
        with pytest.raises(ConsumerError):
            await link.data_pending(1)
        assert await link.data_pending(1) is False
        await link.aclose()
        nursery.cancel_scope.cancel()
    with pytest.raises(ProcessLookupError):
        os.kill(handle.pid, 0)


async def test_supervisor_reports_a_consumerd_that_cannot_start(sock_path: str) -> None:
    with pytest.raises(ConsumerError, match=r"exited \(exit status 3\) before listening"):
        await run_consumerd(sock_path, command=[sys.executable, "-c", "raise SystemExit(3)"])


# A stand-in consumerd: works (burns CPU) for argv[2] seconds, then listens on argv[1].
BUSY_THEN_LISTEN = """
import socket, sys, time
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    pass
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen()
time.sleep(60)
"""


async def test_supervisor_waits_for_a_consumerd_busy_starting(
    sock_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Busy for three idle timeouts: still starting, not hung."""
    monkeypatch.setattr(consumer_supervisor, "IDLE_TIMEOUT_S", 0.5)
    command = [sys.executable, "-c", BUSY_THEN_LISTEN, sock_path, "1.5"]
    async with trio.open_nursery() as nursery:
        handle: ConsumerdProcess = await nursery.start(
            functools.partial(run_consumerd, sock_path, command=command))
        assert handle.pid > 0 and os.path.exists(sock_path)
        nursery.cancel_scope.cancel()


async def test_supervisor_gives_up_on_an_idle_consumerd(
    sock_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer_supervisor, "IDLE_TIMEOUT_S", 0.5)
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    with trio.fail_after(10), pytest.raises(ConsumerError, match=r"did not listen .* idle for"):
        await run_consumerd(sock_path, command=command)


def test_cpu_ticks_of_a_process_and_of_none() -> None:
    before = consumer_supervisor.cpu_ticks(os.getpid())
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        pass
    after = consumer_supervisor.cpu_ticks(os.getpid())
    assert before is not None and after is not None and after > before
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert consumer_supervisor.cpu_ticks(child.pid) is None


def test_socket_reachable_for_stock_clients(
    sock_path: str, consumerd: subprocess.Popen[bytes]
) -> None:
    wait_for_socket(sock_path)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock_path)
        s.sendall(encode_request(DataPending(3)))
        header = s.recv(4)
        (n,) = struct.unpack(">I", header)
        assert parse_reply(s.recv(n)).ok


async def test_add_stream_is_answered_once_the_stream_is_drained(
    sock_path: str, fake_daemon: FakeKernel, tmp_path: Path
) -> None:
    """As lttng-consumerd: the reply comes with the stream set up and its ready packets
    written, so none of that lands in the traced time that follows `lttng start`."""
    ring = fake_daemon.ring()
    ring.produce(b"m" * 100)
    link = await ConsumerLink.connect(sock_path)
    await link.add_stream(
        owner=ROOT,
        session_id=7,
        fd=ring.fd,
        trace_dir=str(tmp_path),
        file_name="metadata",
        metadata=True,
    )
    assert ring.puts == 1
    await link.close_session(7)
    await link.aclose()


async def test_trace_file_size_and_count_reach_the_stream(
    sock_path: str, fake_daemon: FakeKernel, tmp_path: Path
) -> None:
    """The sessiond's tracefile_size / tracefile_count, passed with the stream, split and
    recycle its files (test_consumer_tracefiles.py has the details)."""
    ring = fake_daemon.ring()
    trace = tmp_path / "kernel"
    link = await ConsumerLink.connect(sock_path)
    await link.add_stream(
        owner=ROOT,
        session_id=8,
        fd=ring.fd,
        trace_dir=str(trace),
        file_name="chan_0",
        metadata=False,
        tracefile_size=2 * PAGE,
        tracefile_count=2,
    )
    for seq in range(3):  # one page each: files 0, 0, 1
        ring.produce(ctf_packet(seq, 100))
        with trio.fail_after(5):
            while ring.puts <= seq:
                await trio.sleep(0.01)
    await link.close_session(8)
    await link.aclose()
    assert sorted(p.name for p in trace.iterdir()) == ["chan_0_0", "chan_0_1", "index"]
    assert sorted(p.name for p in (trace / "index").iterdir()) == [
        "chan_0_0.idx",
        "chan_0_1.idx",
    ]
    assert (trace / "chan_0_0").stat().st_size == 2 * PAGE
    assert (trace / "chan_0_1").read_bytes()[:100] == ctf_packet(2, 100)


def test_exits_when_its_session_daemon_dies(sock_path: str) -> None:
    """--session-daemon-pid: a session daemon killed by SIGKILL leaves no consumerd
    behind, however long it ran (the thread that spawned it may be long gone)."""
    command = shlex.join([*DAEMON, "--socket", sock_path]) + " --session-daemon-pid $$"
    parent = subprocess.Popen(
        ["sh", "-c", f"{command} & echo $!; wait"], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    wait_for_socket(sock_path)
    time.sleep(1)
    assert _alive(child)
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.1)
    assert not _alive(child), "the consumerd outlived its parent"
    assert not os.path.exists(sock_path)  # it cleaned up: a drained, orderly exit


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
