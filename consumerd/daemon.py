"""The consumer daemon's task tree: one nursery owning the server and every drain task."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import AsyncIterator

import trio

from .ringbuffer import KernelStream
from .server import open_listener, serve
from .session import ReaderFactory, Registry

log = logging.getLogger("pylttng.consumerd")

# On SIGTERM/SIGINT, how long closing sessions (final flush and drain) may take.
SHUTDOWN_DRAIN_S = 10.0


async def run(
    socket_path: str,
    *,
    reader_factory: ReaderFactory = KernelStream,
    session_daemon_pid: int | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``socket_path`` until cancelled, signalled, or (with ``session_daemon_pid``)
    left without its session daemon; then drain and clean up."""
    listener = await open_listener(socket_path)
    try:
        async with trio.open_nursery() as nursery:
            registry = Registry(nursery, reader_factory)
            server_scope = trio.CancelScope()

            async def serve_in_scope(*, task_status: trio.TaskStatus[None]) -> None:
                with server_scope:
                    await serve(listener, registry, task_status=task_status)

            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                await nursery.start(serve_in_scope)
                log.info("listening on %s", socket_path)
                task_status.started()
                await _exit_requested(signals, session_daemon_pid)
            # Stop serving first, then give the sessions a bounded last drain.
            server_scope.cancel()
            with trio.move_on_after(SHUTDOWN_DRAIN_S):
                await registry.close_all()
            nursery.cancel_scope.cancel()
    finally:
        listener.close()
        try:
            os.unlink(socket_path)
        except FileNotFoundError:
            pass


async def _exit_requested(signals: AsyncIterator[int], session_daemon_pid: int | None) -> None:
    """Return on SIGTERM or SIGINT, or once the session daemon is gone: as lttng-consumerd
    quits when it loses its session daemon, rather than hold the module's buffers for ever
    (a killed sessiond sends nothing; its pidfd becomes readable)."""
    async with trio.open_nursery() as waiters:

        async def signalled() -> None:
            async for signum in signals:
                log.info("%s: closing sessions and exiting", signal.Signals(signum).name)
                break
            waiters.cancel_scope.cancel()

        waiters.start_soon(signalled)
        if session_daemon_pid is not None:
            waiters.start_soon(_session_daemon_gone, session_daemon_pid, waiters.cancel_scope)


async def _session_daemon_gone(pid: int, scope: trio.CancelScope) -> None:
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        pidfd = None  # gone already
    if pidfd is not None:
        try:
            await trio.lowlevel.wait_readable(pidfd)
        finally:
            trio.lowlevel.notify_closing(pidfd)
            os.close(pidfd)
    log.warning("the session daemon (pid %d) is gone: closing sessions and exiting", pid)
    scope.cancel()
