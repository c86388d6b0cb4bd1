"""What every command handler works with: the sessions, the kernel tracer, the consumer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import trio

from .consumer import Consumer
from .modprobe import TracerLoader
from .session import SessionRegistry


@dataclass
class Credentials:
    """SCM_CREDENTIALS of the client connection."""

    pid: int
    uid: int
    gid: int
    groups: tuple[int, ...] = ()  # supplementary groups (SO_PEERGROUPS)


@dataclass
class DaemonContext:
    sessions: SessionRegistry
    tracer: TracerLoader
    consumer: Consumer
    # Background work (rotations completing, rotation schedules), and the lock that runs
    # client commands one at a time, which that work takes too (client_server.py).
    nursery: trio.Nursery | None = None
    command_lock: trio.Lock = field(default_factory=trio.Lock)

    def start_soon(self, fn: Callable[..., Awaitable[object]], *args: object) -> None:
        if self.nursery is None:
            raise RuntimeError("this daemon context runs no background task")
        self.nursery.start_soon(fn, *args)

    def can_access(self, creds: Credentials, uid: int) -> bool:
        # session_access_ok(): root reaches every session, others only their own.
        return creds.uid == 0 or creds.uid == uid
