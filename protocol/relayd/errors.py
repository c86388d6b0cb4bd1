"""Errors raised while decoding or encoding relayd protocol bytes."""

from __future__ import annotations


class ProtocolError(Exception):
    """Bytes (or a message to encode) that do not follow the lttng-tools 2.13 relayd
    protocol; the text says why. `cmd` is the command concerned, when known."""

    def __init__(self, message: str, cmd: int | None = None) -> None:
        super().__init__(message)
        self.cmd = cmd
