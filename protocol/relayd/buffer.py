"""The receive buffer the three readers share: bytes fed in, whole pieces taken out."""

from __future__ import annotations

import enum
from typing import Final


class NeedData(enum.Enum):
    """Returned by a reader until a whole message is buffered."""

    NEED_DATA = enum.auto()


NEED_DATA: Final = NeedData.NEED_DATA


class ReceiveBuffer:
    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, data: bytes) -> None:
        self._data += data

    def __len__(self) -> int:
        return len(self._data)

    def peek(self, size: int) -> bytes | None:
        """The first `size` bytes, left in place, or None while fewer are buffered."""
        if len(self._data) < size:
            return None
        return bytes(self._data[:size])

    def take(self, size: int) -> bytes | None:
        """The first `size` bytes, removed, or None while fewer are buffered."""
        if len(self._data) < size:
            return None
        out = bytes(self._data[:size])
        del self._data[:size]
        return out
