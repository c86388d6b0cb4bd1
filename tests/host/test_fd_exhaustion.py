"""Both daemons' listening sockets outlive running out of file descriptors: accept(2)
fails with EMFILE while every fd the process may open is taken, the daemon waits, keeps
serving the connections it has, and accepts the queued ones once fds are free again.
In-process, with the real kernel's EMFILE: the soft RLIMIT_NOFILE lowered and filled up.
And, as lttng-sessiond does, the root session daemon raises that limit when it starts."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import resource
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio.testing
from pylttng.consumerd import accept as accept_module
from pylttng.consumerd import daemon as consumerd
from pylttng.consumerd.accept import BACKOFF_S
from pylttng.consumerd.wire import FramedSocket, connect_unix
from pylttng.protocol.client import reader, writer
from pylttng.protocol.client.constants import Command, ErrorCode
from pylttng.protocol.consumer import DataPending, Frame, encode_request, parse_reply
from pylttng.sessiond.main import OPEN_FILES_LIMIT
from test_consumer_fakering import FakeKernel
from test_sessiond_protocol import Harness, daemon  # noqa: F401  (the fixture)


@contextlib.contextmanager
def no_fd_left() -> Iterator[None]:
    """Every fd this process may open is taken (on /dev/null) until the end of the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 16, hard))
    hogs: list[int] = []
    try:
        while True:
            try:
                hogs.append(os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC))
            except OSError as exc:
                assert exc.errno == errno.EMFILE, exc
                break
        yield
    finally:
        for fd in hogs:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def unix_socket() -> trio.socket.SocketType:
    return trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)


async def send_all(sock: trio.socket.SocketType, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[await sock.send(view) :]


async def reply_to_end(sock: trio.socket.SocketType) -> bytes:
    out = b""
    with trio.fail_after(10):
        while chunk := await sock.recv(65536):
            out += chunk
    return out


def accept_log(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name and "accept" in r.getMessage()]


async def test_sessiond_serves_on_when_out_of_fds(
    daemon: Harness, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    caplog.set_level(logging.INFO, "pylttng.sessiond.client")
    request = writer.encode_request(Command.LIST_SESSIONS)
    early, late = unix_socket(), unix_socket()  # their fds made while there are some
    with early, late:
        await early.connect(daemon.path)
        await send_all(early, request[:100])
        await trio.testing.wait_all_tasks_blocked()  # accepted: the daemon waits for the rest
        with no_fd_left():
            await late.connect(daemon.path)  # queued: no fd to accept it with
            await trio.sleep(5 * BACKOFF_S)  # the daemon retries meanwhile
            # The connection it has is served.
            await send_all(early, request[100:])
            early.shutdown(socket.SHUT_WR)
            assert reader.parse_reply(await reply_to_end(early)).ret_code == ErrorCode.OK
            assert late.getpeername()  # still queued, not refused
        # Fds free again: the queued connection is accepted and served.
        await send_all(late, request)
        late.shutdown(socket.SHUT_WR)
        assert reader.parse_reply(await reply_to_end(late)).ret_code == ErrorCode.OK
    # Logged once for the burst, not once per retry.
    logged = accept_log(caplog, "pylttng.sessiond.client")
    assert len(logged) == 2, logged
    assert logged[0].startswith(f"cannot accept connections: {os.strerror(errno.EMFILE)}")
    assert logged[1].startswith("accepting connections again after")


async def test_consumerd_serves_on_when_out_of_fds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The consumerd's fds may all be taken by its streams and trace files when the
    sessiond connects again."""
    caplog.set_level(logging.INFO, "pylttng.consumerd")
    path = str(tmp_path / "consumerd.sock")
    kernel = FakeKernel()
    request = encode_request(DataPending(5))
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: consumerd.run(
                path, reader_factory=kernel, task_status=task_status  # type: ignore[arg-type]
            )
        )
        first = await connect_unix(path)
        await first.send(request)
        assert isinstance(await first.receive(), Frame)  # accepted and served
        late = unix_socket()
        first.close()
        await trio.testing.wait_all_tasks_blocked()  # the daemon waits in accept()
        with no_fd_left():
            await late.connect(path)  # queued: no fd to accept it with
            await trio.sleep(5 * BACKOFF_S)  # the daemon retries meanwhile
        second = FramedSocket(late)
        await second.send(request)
        with trio.fail_after(10):
            event = await second.receive()
        assert isinstance(event, Frame) and parse_reply(event.payload).ok
        second.close()
        nursery.cancel_scope.cancel()
    kernel.close()
    logged = accept_log(caplog, "pylttng.consumerd")
    assert len(logged) == 2, logged
    assert logged[0].startswith(f"cannot accept connections: {os.strerror(errno.EMFILE)}")


class ScriptedListener:
    """accept() fails or succeeds as scripted: a flood that comes and goes."""

    def __init__(self, script: list[object]) -> None:
        self.script = script

    async def accept(self) -> tuple[object, None]:
        item = self.script.pop(0)
        if isinstance(item, OSError):
            raise item
        return item, None


async def test_a_flood_that_comes_and_goes_is_reported_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accept_module, "BACKOFF_S", 0.001)
    emfile = OSError(errno.EMFILE, os.strerror(errno.EMFILE))
    listener = ScriptedListener([emfile, "first", emfile, "second"])
    log = logging.getLogger("test-accept")
    with caplog.at_level(logging.INFO, logger="test-accept"):
        assert await accept_module.accept(listener, log) == "first"  # type: ignore[arg-type]
        assert await accept_module.accept(listener, log) == "second"  # type: ignore[arg-type]
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1, [r.getMessage() for r in caplog.records]
    assert sum("accepting connections again" in r.getMessage() for r in caplog.records) == 2


def test_the_root_session_daemon_raises_its_open_files_limit() -> None:
    """lttng-sessiond's set_ulimit(): 65535 open files (or the hard limit, where it may not
    be raised), for sessions with more than 1024 kernel events, each an fd. In a child,
    whose limits the test's process keeps."""
    script = (
        "import resource\n"
        "from pylttng.sessiond.main import _raise_open_files_limit\n"
        "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))\n"
        "_raise_open_files_limit()\n"
        "print(hard, *resource.getrlimit(resource.RLIMIT_NOFILE))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    was_hard, soft, hard = map(int, done.stdout.split())
    assert soft >= min(OPEN_FILES_LIMIT, was_hard) and hard >= soft, done.stdout
