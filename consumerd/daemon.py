"""The consumer daemon's task tree: one nursery owning the server and every drain task."""

from __future__ import annotations

import logging
import os
import signal

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
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``socket_path`` until cancelled or signalled; then drain and clean up."""
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
                async for signum in signals:
                    log.info("%s: closing sessions and exiting", signal.Signals(signum).name)
                    break
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
