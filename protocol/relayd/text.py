"""NUL-terminated strings of the relayd protocol, the same rules for reader and writer.

Names travel as bytes with their NUL, after the fixed part of a message, each with its
length (NUL included) in that part (relayd.c: relayd_create_session_2_11(),
relayd_add_stream_2_11()). They are paths and names of a POSIX system, so bytes that are
not UTF-8 survive as surrogate escapes (os.fsdecode's convention) and round-trip.
"""

from __future__ import annotations

from .errors import ProtocolError


def encode(text: str, limit: int, what: str, cmd: int | None = None) -> bytes:
    """`text` and its NUL; at most `limit` bytes in all, no NUL inside."""
    raw = text.encode("utf-8", "surrogateescape")
    if b"\0" in raw:
        raise ProtocolError(f"{what} contains a NUL byte", cmd)
    if len(raw) + 1 > limit:
        raise ProtocolError(f"{what} is {len(raw) + 1} bytes with its NUL, at most {limit}", cmd)
    return raw + b"\0"


def decode(raw: bytes, limit: int, what: str, cmd: int | None = None) -> str:
    """A field of `len(raw)` bytes announced by its length: non-empty, within `limit`,
    ending with its only NUL (lttng-relayd checks the last byte, cmd-2-11.c, and would
    silently cut at an earlier one)."""
    if not raw:
        raise ProtocolError(f"{what} has length 0", cmd)
    if len(raw) > limit:
        raise ProtocolError(f"{what} is {len(raw)} bytes, at most {limit}", cmd)
    if raw[-1] != 0:
        raise ProtocolError(f"{what} is not NUL-terminated", cmd)
    if 0 in raw[:-1]:
        raise ProtocolError(f"{what} has a NUL byte before its end", cmd)
    return raw[:-1].decode("utf-8", "surrogateescape")
