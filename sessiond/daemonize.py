"""Detach from the terminal the way lttng-sessiond --daemonize does (lttng_daemonize()).

The `lttng` CLI execs the daemon with --daemonize and waits for *that* process to exit:
exit status 0 means "ready to accept commands" (lttng.c/create.c spawn_sessiond). So the
original process forks, the child becomes the daemon, and the parent stays until the child
reports readiness through a pipe (or dies: then the parent exits 1).
"""

from __future__ import annotations

import os
import sys


class Readiness:
    """The daemon child's end of the readiness pipe (no-op when not daemonized)."""

    def __init__(self, fd: int | None = None, sig_parent_pid: int | None = None) -> None:
        self._fd = fd
        self._sig_parent_pid = sig_parent_pid

    def ready(self) -> None:
        if self._fd is not None:
            try:
                os.write(self._fd, b"\1")
            finally:
                os.close(self._fd)
                self._fd = None
        if self._sig_parent_pid is not None:
            # --sig-parent: the test suites of lttng-tools wait for SIGUSR1.
            import signal

            try:
                os.kill(self._sig_parent_pid, signal.SIGUSR1)
            except ProcessLookupError:
                pass
            self._sig_parent_pid = None


def daemonize(*, close_std: bool) -> int:
    """Fork; in the parent wait for readiness and exit; in the child return the pipe fd."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid > 0:
        os.close(write_fd)
        ok = os.read(read_fd, 1) == b"\1"
        # Exit without running atexit handlers or flushing the child's inherited buffers.
        os._exit(0 if ok else 1)
    os.close(read_fd)
    os.setsid()
    os.chdir("/")
    if close_std:
        null = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        if null > 2:
            os.close(null)
    else:
        sys.stdout.flush()
    return write_fd
