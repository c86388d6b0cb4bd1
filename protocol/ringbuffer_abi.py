"""ioctl numbers of the LTTng-modules ring-buffer reader ABI (stream file descriptors).

Facts from lttng-modules 2.13 ``include/ringbuffer/vfs.h`` (0x00-0x12) and
``include/lttng/abi.h`` (0x20-0x28, the per-packet accessors); the numbers are computed
here with the kernel's ``_IOC`` encoding instead of being written as magic constants, so
they follow the architecture's ``_IOC`` layout and its ``sizeof(unsigned long)``.

Pure data: nothing here opens a file or issues an ioctl.
"""

from __future__ import annotations

import platform
import struct
from typing import Final

# The generic _IOC layout (x86, arm, arm64, riscv, s390 ...): nr 8 bits, type 8 bits,
# size 14 bits, dir 2 bits; NONE=0, WRITE=1, READ=2.  powerpc, mips, sparc and alpha
# use a 13-bit size, a 3-bit dir and NONE=1, READ=2, WRITE=4 (asm/ioctl.h of those archs).
_LEGACY_IOC_MACHINES: Final = ("ppc", "powerpc", "mips", "sparc", "alpha")


def _uses_legacy_ioc(machine: str) -> bool:
    return machine.lower().startswith(_LEGACY_IOC_MACHINES)


_LEGACY: Final = _uses_legacy_ioc(platform.machine())

IOC_NRBITS: Final = 8
IOC_TYPEBITS: Final = 8
IOC_SIZEBITS: Final = 13 if _LEGACY else 14
IOC_NRSHIFT: Final = 0
IOC_TYPESHIFT: Final = IOC_NRSHIFT + IOC_NRBITS
IOC_SIZESHIFT: Final = IOC_TYPESHIFT + IOC_TYPEBITS
IOC_DIRSHIFT: Final = IOC_SIZESHIFT + IOC_SIZEBITS
IOC_NONE: Final = 1 if _LEGACY else 0
IOC_WRITE: Final = 4 if _LEGACY else 1
IOC_READ: Final = 2


def ioc(direction: int, type_: int, nr: int, size: int) -> int:
    """The kernel's ``_IOC(dir, type, nr, size)``."""
    if not 0 <= nr < 1 << IOC_NRBITS or not 0 <= type_ < 1 << IOC_TYPEBITS:
        raise ValueError(f"ioctl type/nr out of range: {type_:#x}/{nr:#x}")
    if not 0 <= size < 1 << IOC_SIZEBITS:
        raise ValueError(f"ioctl argument size out of range: {size}")
    return (
        (direction << IOC_DIRSHIFT)
        | (type_ << IOC_TYPESHIFT)
        | (nr << IOC_NRSHIFT)
        | (size << IOC_SIZESHIFT)
    )


def io(type_: int, nr: int) -> int:
    """``_IO(type, nr)``: no argument."""
    return ioc(IOC_NONE, type_, nr, 0)


def ior(type_: int, nr: int, size: int) -> int:
    """``_IOR(type, nr, T)``: the kernel writes a ``T`` (of ``size`` bytes) to user space."""
    return ioc(IOC_READ, type_, nr, size)


def iow(type_: int, nr: int, size: int) -> int:
    """``_IOW(type, nr, T)``: the kernel reads a ``T`` from user space."""
    return ioc(IOC_WRITE, type_, nr, size)


# Argument types as the kernel sees them in a native (non-compat) process.
ULONG_FORMAT: Final = "L"  # C unsigned long, native size (8 on LP64)
U64_FORMAT: Final = "Q"  # uint64_t
U32_FORMAT: Final = "I"  # uint32_t
SIZEOF_ULONG: Final = struct.calcsize(ULONG_FORMAT)
SIZEOF_U64: Final = 8
SIZEOF_U32: Final = 4

LTTNG_IOCTL_TYPE: Final = 0xF6

# --- include/ringbuffer/vfs.h ------------------------------------------------------------
RING_BUFFER_SNAPSHOT: Final = io(LTTNG_IOCTL_TYPE, 0x00)
RING_BUFFER_SNAPSHOT_GET_CONSUMED: Final = ior(LTTNG_IOCTL_TYPE, 0x01, SIZEOF_ULONG)
RING_BUFFER_SNAPSHOT_GET_PRODUCED: Final = ior(LTTNG_IOCTL_TYPE, 0x02, SIZEOF_ULONG)
RING_BUFFER_GET_SUBBUF: Final = iow(LTTNG_IOCTL_TYPE, 0x03, SIZEOF_ULONG)
RING_BUFFER_PUT_SUBBUF: Final = io(LTTNG_IOCTL_TYPE, 0x04)
RING_BUFFER_GET_NEXT_SUBBUF: Final = io(LTTNG_IOCTL_TYPE, 0x05)
RING_BUFFER_PUT_NEXT_SUBBUF: Final = io(LTTNG_IOCTL_TYPE, 0x06)
RING_BUFFER_GET_SUBBUF_SIZE: Final = ior(LTTNG_IOCTL_TYPE, 0x07, SIZEOF_ULONG)
RING_BUFFER_GET_PADDED_SUBBUF_SIZE: Final = ior(LTTNG_IOCTL_TYPE, 0x08, SIZEOF_ULONG)
RING_BUFFER_GET_MAX_SUBBUF_SIZE: Final = ior(LTTNG_IOCTL_TYPE, 0x09, SIZEOF_ULONG)
RING_BUFFER_GET_MMAP_LEN: Final = ior(LTTNG_IOCTL_TYPE, 0x0A, SIZEOF_ULONG)
RING_BUFFER_GET_MMAP_READ_OFFSET: Final = ior(LTTNG_IOCTL_TYPE, 0x0B, SIZEOF_ULONG)
RING_BUFFER_FLUSH: Final = io(LTTNG_IOCTL_TYPE, 0x0C)
RING_BUFFER_GET_METADATA_VERSION: Final = ior(LTTNG_IOCTL_TYPE, 0x0D, SIZEOF_U64)
RING_BUFFER_SNAPSHOT_SAMPLE_POSITIONS: Final = io(LTTNG_IOCTL_TYPE, 0x0E)
RING_BUFFER_FLUSH_EMPTY: Final = io(LTTNG_IOCTL_TYPE, 0x0F)
RING_BUFFER_METADATA_CACHE_DUMP: Final = io(LTTNG_IOCTL_TYPE, 0x10)
RING_BUFFER_CLEAR: Final = io(LTTNG_IOCTL_TYPE, 0x11)
RING_BUFFER_GET_NEXT_SUBBUF_METADATA_CHECK: Final = ior(LTTNG_IOCTL_TYPE, 0x12, SIZEOF_U32)

# --- include/lttng/abi.h: per-packet accessors of the current (gotten) sub-buffer -------
RING_BUFFER_GET_TIMESTAMP_BEGIN: Final = ior(LTTNG_IOCTL_TYPE, 0x20, SIZEOF_U64)
RING_BUFFER_GET_TIMESTAMP_END: Final = ior(LTTNG_IOCTL_TYPE, 0x21, SIZEOF_U64)
RING_BUFFER_GET_EVENTS_DISCARDED: Final = ior(LTTNG_IOCTL_TYPE, 0x22, SIZEOF_U64)
RING_BUFFER_GET_CONTENT_SIZE: Final = ior(LTTNG_IOCTL_TYPE, 0x23, SIZEOF_U64)
RING_BUFFER_GET_PACKET_SIZE: Final = ior(LTTNG_IOCTL_TYPE, 0x24, SIZEOF_U64)
RING_BUFFER_GET_STREAM_ID: Final = ior(LTTNG_IOCTL_TYPE, 0x25, SIZEOF_U64)
RING_BUFFER_GET_CURRENT_TIMESTAMP: Final = ior(LTTNG_IOCTL_TYPE, 0x26, SIZEOF_U64)
RING_BUFFER_GET_SEQ_NUM: Final = ior(LTTNG_IOCTL_TYPE, 0x27, SIZEOF_U64)
RING_BUFFER_INSTANCE_ID: Final = ior(LTTNG_IOCTL_TYPE, 0x28, SIZEOF_U64)
