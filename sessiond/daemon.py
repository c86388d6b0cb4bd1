"""The session daemon proper: one trio nursery that owns every task."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass

import trio

from .admission import TracingGroup
from .client_server import bind_client_socket, serve_clients
from .config_values import LoadError
from .consumer import Consumer
from .consumer_link import ConsumerError
from .context import DaemonContext
from .daemonize import Readiness
from .dispatch import Dispatcher
from .errors import CommandError
from .kernel_session import destroy_kernel_session, stop_kernel_session
from .modprobe import TracerLoader
from .paths import RunPaths
from .session import SessionRegistry
from .session_autoload import load_sessions

log = logging.getLogger("pylttng.sessiond")


class AlreadyRunning(Exception):
    """Another session daemon already serves this rundir."""


class LoadFailed(Exception):
    """A session configuration loaded at start failed: the daemon stops (main.c)."""


@dataclass(frozen=True)
class Config:
    paths: RunPaths
    no_kernel: bool = False
    consumerd_cmd: Sequence[str] | None = None
    group: str = "tracing"  # -g/--group: who may use the root daemon's client socket
    verbose_consumer: bool = False
    load_path: str | None = None  # -l/--load; None: the `auto` folders


def prepare_rundir(paths: RunPaths) -> int:
    """Create the rundir, take the lock file (lttng-sessiond.lck), write the pid file."""
    os.makedirs(paths.rundir, mode=0o755, exist_ok=True)
    lock_fd = os.open(paths.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        fcntl.lockf(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock_fd)
        raise AlreadyRunning(paths.rundir) from None
    with open(paths.pid_file, "w") as pid_file:
        pid_file.write(f"{os.getpid()}\n")
    return lock_fd


async def _exit_on_signals(cancel: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async for signum in signals:
            log.info("received %s, shutting down", signal.Signals(signum).name)
            cancel.cancel()
            return


async def run(config: Config, readiness: Readiness) -> None:
    paths = config.paths
    lock_fd = prepare_rundir(paths)
    load_failure = ""
    try:
        listener = await bind_client_socket(paths.client_socket)
        admission = None
        if os.geteuid() == 0:
            admission = TracingGroup.lookup(config.group)
            if admission.gid is not None:
                os.chown(paths.client_socket, 0, admission.gid)
        async with trio.open_nursery() as nursery:
            # spawn_consumerd(): --verbose-consumer passes --verbose on.
            verbosity = ["--verbose"] if config.verbose_consumer else []
            consumer = Consumer(nursery, paths.consumerd_socket, config.consumerd_cmd, verbosity)
            tracer = TracerLoader(no_kernel=config.no_kernel)
            ctx = DaemonContext(
                sessions=SessionRegistry(), tracer=tracer, consumer=consumer, nursery=nursery
            )
            dispatcher = Dispatcher(ctx, is_root=os.geteuid() == 0)
            nursery.start_soon(_exit_on_signals, nursery.cancel_scope)
            nursery.start_soon(serve_clients, listener, dispatcher, nursery, admission)
            log.info("listening on %s", paths.client_socket)
            try:
                load_failure = await _load(dispatcher, config.load_path)
                if load_failure:
                    nursery.cancel_scope.cancel()
                else:
                    readiness.ready()
                    if os.geteuid() == 0 and not config.no_kernel:
                        # The stock sessiond spawns its C consumer at the first kernel
                        # session; ours is a Python process that takes a while to start,
                        # so it starts now and the first `lttng start` finds it ready.
                        consumer.start_soon()
                    await trio.sleep_forever()
            finally:
                with trio.CancelScope(shield=True):
                    await _teardown(ctx)
    finally:
        for path in (paths.client_socket, paths.pid_file):
            try:
                os.unlink(path)
            except OSError:
                pass
        os.close(lock_fd)
    if load_failure:
        raise LoadFailed(load_failure)


async def _load(dispatcher: Dispatcher, path: str | None) -> str:
    """The sessions to load at start; what went wrong, if anything."""
    try:
        await load_sessions(dispatcher, path)
    except (LoadError, CommandError) as exc:
        return str(exc)
    return ""


async def _teardown(ctx: DaemonContext) -> None:
    """Destroy every session (stop tracing, drain the consumer) before exiting."""
    with trio.move_on_after(10):
        for session in ctx.sessions.all():
            try:
                if session.active:
                    await stop_kernel_session(ctx, session)
                await destroy_kernel_session(ctx, session)
            except (CommandError, ConsumerError, OSError) as exc:  # tear the others down
                log.error("teardown of session %s failed: %s", session.name, exc)
        await ctx.consumer.aclose()
