"""accept() on a listening socket that outlives running out of file descriptors.

Both daemons' listening sockets use it (the sessiond's client socket, the consumerd's
control socket). When the process or the system has no fd or memory left, accept(2)
fails with the connection still queued: a daemon that let that error through would die
of a flood of idle clients, or of the fds its own sessions hold.
"""

from __future__ import annotations

import errno
import logging
import time
import weakref

import trio

# accept(2) errors that say "not now": no fd for the process (EMFILE) or the system
# (ENFILE), no memory (ENOBUFS, ENOMEM). The connection waits in the backlog meanwhile.
EXHAUSTED_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# A connection reset before it was accepted: gone, nothing to wait for.
_ABORTED_ERRNOS = frozenset({errno.ECONNABORTED, errno.EPROTO})
# How long to wait before trying again: connections already accepted are served
# meanwhile, and those closing free the fds.
BACKOFF_S = 0.1
# A flood comes and goes as its idle connections time out: say so at most this often.
WARN_INTERVAL_S = 60.0
# When each listening socket may warn again.
_quiet_until: weakref.WeakKeyDictionary[trio.socket.SocketType, float] = (
    weakref.WeakKeyDictionary()
)


async def accept(listener: trio.socket.SocketType, log: logging.Logger) -> trio.socket.SocketType:
    """The next connection on `listener`. While resources are exhausted, retries every
    BACKOFF_S, logging when that starts (at most every WARN_INTERVAL_S) and when it
    ends."""
    since: float | None = None
    while True:
        try:
            conn, _addr = await listener.accept()
        except OSError as exc:
            if exc.errno in _ABORTED_ERRNOS:
                continue
            if exc.errno not in EXHAUSTED_ERRNOS:
                raise
            if since is None:
                since = time.monotonic()
                if since >= _quiet_until.get(listener, 0.0):
                    _quiet_until[listener] = since + WARN_INTERVAL_S
                    log.warning(
                        "cannot accept connections: %s; retrying every %g s",
                        exc.strerror,
                        BACKOFF_S,
                    )
            await trio.sleep(BACKOFF_S)
            continue
        if since is not None:
            log.info("accepting connections again after %.1f s", time.monotonic() - since)
        return conn
