"""The kernel tracepoint catalogue and the state dump: LIST_TRACEPOINTS, REGENERATE_STATEDUMP.

Mirrors kernel_list_events() / cmd_list_tracepoints() and cmd_regenerate_statedump() of
lttng-sessiond 2.13 (src/bin/lttng-sessiond/kernel.c, cmd.c).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re

from pylttng.protocol import kernel_abi as abi
from pylttng.protocol.client import writer
from pylttng.protocol.client.constants import ErrorCode, EventType
from pylttng.protocol.client.messages import Event

from .errors import CommandError
from .kernel_tracer import KernelTracer
from .session import Session

# kernel_list_events() scans the fd with fscanf("event { name = %m[^;]; };\n").
_TRACEPOINT_LINE = re.compile(r"event \{ name = ([^;]+); \};")


def parse_tracepoint_list(text: str) -> list[str]:
    """The names of a TRACEPOINT_LIST fd's text, stopping at the first line fscanf rejects."""
    names = []
    for line in text.splitlines():
        m = _TRACEPOINT_LINE.fullmatch(line)
        if m is None:
            break
        names.append(m[1])
    return names


def read_tracepoint_list(tracer: KernelTracer) -> list[str]:
    """kernctl_tracepoint_list(), read to the end."""
    try:
        fd = int(fcntl.ioctl(tracer.fd, abi.TRACEPOINT_LIST, 0))
    except OSError as exc:
        raise CommandError(ErrorCode.KERN_LIST_FAIL, f"tracepoint list: {exc}") from None
    with os.fdopen(fd, "rb") as f:
        text = f.read().decode(errors="replace")
    return parse_tracepoint_list(text)


def list_tracepoints(names: list[str]) -> tuple[bytes, bytes]:
    """cmd_list_tracepoints(): one zeroed lttng_event per name, enabled = -1."""
    body = b"".join(
        writer.encode_event(
            Event(name=name[: abi.SYM_NAME_LEN - 1], type=EventType.TRACEPOINT,
                  loglevel_type=0, loglevel=0, enabled=-1)
        )
        for name in names
    )
    return writer.encode_list_header(len(names)), body


def regenerate_statedump(session: Session) -> None:
    """cmd_regenerate_statedump(): the kernel session records its state dump again."""
    if not session.active:
        raise CommandError(ErrorCode.SESSION_NOT_STARTED)
    if session.kernel is None or session.kernel.fd is None:
        return
    try:
        fcntl.ioctl(session.kernel.fd, abi.SESSION_STATEDUMP, 0)
    except OSError as exc:
        code = (ErrorCode.REGEN_STATEDUMP_NOMEM if exc.errno == errno.ENOMEM
                else ErrorCode.REGEN_STATEDUMP_FAIL)
        raise CommandError(code, f"kernel statedump: {exc}") from None
