"""What every command handler works with: the sessions, the kernel tracer, the consumer."""

from __future__ import annotations

from dataclasses import dataclass

from .consumer import Consumer
from .modprobe import TracerLoader
from .session import SessionRegistry


@dataclass
class Credentials:
    """SCM_CREDENTIALS of the client connection."""

    pid: int
    uid: int
    gid: int


@dataclass
class DaemonContext:
    sessions: SessionRegistry
    tracer: TracerLoader
    consumer: Consumer

    def can_access(self, creds: Credentials, uid: int) -> bool:
        # session_access_ok(): root reaches every session, others only their own.
        return creds.uid == 0 or creds.uid == uid
