"""Errors raised while decoding client protocol bytes."""

from __future__ import annotations


class ProtocolError(Exception):
    """The bytes do not form a valid lttng-tools 2.13 client message.

    `cmd_type` is the command the message claimed to be, when that much was readable.
    """

    def __init__(self, message: str, cmd_type: int | None = None) -> None:
        super().__init__(message)
        self.cmd_type = cmd_type
