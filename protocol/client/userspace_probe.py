"""The serialized lttng_userspace_probe_location carried by an event (userspace-probe.c).

Layout (all little-endian, packed): an int8 location type; for a function, u32 name
length and u32 binary path length, then both strings with their NULs; for an SDT
tracepoint, u32 probe, provider and path lengths, then the three strings; last, the
lookup method: an int8 type. The binary's fd travels beside the message (SCM_RIGHTS).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import ProtocolError


class LocationType(enum.IntEnum):
    """enum lttng_userspace_probe_location_type."""

    FUNCTION = 0
    TRACEPOINT = 1


class LookupMethod(enum.IntEnum):
    """enum lttng_userspace_probe_location_lookup_method_type."""

    FUNCTION_DEFAULT = 0
    FUNCTION_ELF = 1
    TRACEPOINT_SDT = 2


@dataclass(frozen=True)
class UserspaceProbeLocation:
    type: LocationType
    lookup: LookupMethod
    binary_path: str
    function_name: str = ""  # FUNCTION
    provider_name: str = ""  # TRACEPOINT
    probe_name: str = ""  # TRACEPOINT


class _Cursor:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.at = 0

    def take(self, size: int, what: str) -> bytes:
        if size < 0 or self.at + size > len(self.buf):
            raise ProtocolError(f"truncated userspace probe location ({what})")
        out = self.buf[self.at : self.at + size]
        self.at += size
        return out

    def u32(self, what: str) -> int:
        return int.from_bytes(self.take(4, what), "little")

    def s8(self, what: str) -> int:
        return int.from_bytes(self.take(1, what), "little", signed=True)

    def cstr(self, size: int, what: str) -> str:
        """A string whose length includes its NUL, which must be there."""
        raw = self.take(size, what)
        if not raw or raw[-1] != 0 or 0 in raw[:-1]:
            raise ProtocolError(f"bad {what} in userspace probe location")
        try:
            return raw[:-1].decode()
        except UnicodeDecodeError:
            raise ProtocolError(f"{what} is not UTF-8") from None


def decode_location(buf: bytes) -> UserspaceProbeLocation:
    """Decode a whole serialized location; raises ProtocolError."""
    cur = _Cursor(buf)
    kind = cur.s8("type")
    if kind == LocationType.FUNCTION:
        name_len, path_len = cur.u32("name length"), cur.u32("path length")
        function = cur.cstr(name_len, "function name")
        path = cur.cstr(path_len, "binary path")
        provider = probe = ""
    elif kind == LocationType.TRACEPOINT:
        probe_len, provider_len, path_len = (cur.u32("length") for _ in range(3))
        probe = cur.cstr(probe_len, "probe name")
        provider = cur.cstr(provider_len, "provider name")
        path = cur.cstr(path_len, "binary path")
        function = ""
    else:
        raise ProtocolError(f"unknown userspace probe location type {kind}")
    lookup = cur.s8("lookup method")
    if lookup not in set(LookupMethod):
        raise ProtocolError(f"unknown userspace probe lookup method {lookup}")
    if cur.at != len(buf):
        raise ProtocolError("trailing bytes after the userspace probe location")
    return UserspaceProbeLocation(
        type=LocationType(kind),
        lookup=LookupMethod(lookup),
        binary_path=path,
        function_name=function,
        provider_name=provider,
        probe_name=probe,
    )


def encode_location(location: UserspaceProbeLocation) -> bytes:
    """The inverse of decode_location(): lttng_userspace_probe_location_serialize()."""

    def z(text: str) -> bytes:
        return text.encode() + b"\0"

    if location.type == LocationType.FUNCTION:
        strings = [z(location.function_name), z(location.binary_path)]
    else:
        strings = [z(location.probe_name), z(location.provider_name), z(location.binary_path)]
    lengths = b"".join(len(s).to_bytes(4, "little") for s in strings)
    return (
        int(location.type).to_bytes(1, "little", signed=True)
        + lengths
        + b"".join(strings)
        + int(location.lookup).to_bytes(1, "little", signed=True)
    )
