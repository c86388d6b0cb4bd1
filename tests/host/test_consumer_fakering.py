"""A user-space stand-in for a kernel ring-buffer stream, for host tests of the consumerd.

The stream fd handed to the consumerd is the read end of a pipe: it is readable while a
sub-buffer is ready and hangs up once the ring is finalized and empty, like the kernel's
poll.  The sub-buffers live in a temporary file that the consumerd mmaps (mmap output) or
splices from (splice output).  Ioctls are answered by FakeRing methods; the consumerd finds
the FakeRing of a received fd by the pipe's inode.
"""

from __future__ import annotations

import errno
import mmap
import os
import struct
import tempfile
from collections import deque
from dataclasses import dataclass

from pylttng.consumerd.ringbuffer import Next

PAGE = mmap.PAGESIZE


def page_align(n: int) -> int:
    return (n + PAGE - 1) // PAGE * PAGE


# A data packet's trace packet header and stream packet context as pylttng.ko writes them
# (kmod/pylttng-ringbuffer.c: struct pyl_packet_header): magic, uuid, stream_id,
# stream_instance_id, timestamp_begin, timestamp_end, content_size and packet_size (bits),
# packet_seq_num, events_discarded, cpu_id.
CTF_PACKET_HEADER = struct.Struct("=I16sIQQQQQQQI")


def ctf_packet(
    seq: int,
    size: int,
    *,
    stream_id: int = 2,
    cpu: int = 1,
    discarded: int = 0,
    body: bytes = b"",
) -> bytes:
    """Packet number ``seq`` of a stream, ``size`` bytes of content: the header, then
    ``body``, then filler; its timestamps are 1000 + 10 * seq and 5 more."""
    header = CTF_PACKET_HEADER.pack(
        0xC1FC1FC1,
        b"u" * 16,
        stream_id,
        cpu,
        1000 + 10 * seq,
        1005 + 10 * seq,
        size * 8,
        page_align(size) * 8,
        seq,
        discarded,
        cpu,
    )
    return header + body + bytes([seq % 256]) * (size - len(header) - len(body))


@dataclass
class Subbuf:
    offset: int
    content: int
    padded: int


class FakeRing:
    def __init__(self, n_subbufs: int = 4, subbuf_size: int = 4 * PAGE) -> None:
        self.sb_size = subbuf_size
        self.n_subbufs = n_subbufs
        self.read_fd, self._write_fd = os.pipe2(os.O_CLOEXEC)
        self._signalled = False
        # An anonymous file holds the sub-buffers.  Like the kernel stream fd, the splice
        # source reads the held sub-buffer from offset 0: a second file holds a copy of it.
        self._store = os.open(tempfile.gettempdir(), os.O_TMPFILE | os.O_RDWR, 0o600)
        os.ftruncate(self._store, n_subbufs * subbuf_size)
        self._splice_fd = os.open(tempfile.gettempdir(), os.O_TMPFILE | os.O_RDWR, 0o600)
        self._ready: deque[Subbuf] = deque()
        self._held: Subbuf | None = None
        self._next_slot = 0
        self._partial: bytes = b""
        self.finalized = False
        self.version = 0  # of the metadata text (regenerate metadata bumps it)
        self.flushes = 0
        self.puts = 0
        self.consumed: list[bytes] = []  # content of every PUT sub-buffer, in order

    @property
    def inode(self) -> int:
        return os.fstat(self.read_fd).st_ino

    # --- producer side (the test) --------------------------------------------------------

    def produce(self, content: bytes) -> None:
        """A complete packet: ready at once."""
        self._ready.append(self._store_packet(content))
        self._signal()

    def produce_partial(self, content: bytes) -> None:
        """Data of the current packet: ready only after a flush."""
        self._partial += content

    def finalize(self) -> None:
        self.finalized = True
        self._signal()

    def _store_packet(self, content: bytes) -> Subbuf:
        assert len(content) <= self.sb_size
        if len(self._ready) + (self._held is not None) >= self.n_subbufs:
            raise RuntimeError("fake ring full")
        offset = self._next_slot * self.sb_size
        self._next_slot = (self._next_slot + 1) % self.n_subbufs
        padded = page_align(len(content))
        os.pwrite(self._store, content.ljust(padded, b"\xee"), offset)
        return Subbuf(offset, len(content), padded)

    def _signal(self) -> None:
        want = bool(self._ready)
        if self.finalized and not self._ready and self._held is None:
            if self._write_fd >= 0:
                os.close(self._write_fd)  # POLLHUP, like a finalized empty stream
                self._write_fd = -1
            return
        if want and not self._signalled:
            os.write(self._write_fd, b"!")
            self._signalled = True
        elif not want and self._signalled:
            os.read(self.read_fd, 1)
            self._signalled = False

    # --- SubbufReader ----------------------------------------------------------------------

    @property
    def fd(self) -> int:
        return self.read_fd

    def get_next_subbuf(self) -> Next:
        if self._held is not None:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
        if self._ready:
            self._held = self._ready.popleft()
            held = os.pread(self._store, self.sb_size, self._held.offset)
            os.ftruncate(self._splice_fd, 0)
            os.pwrite(self._splice_fd, held, 0)
            return Next.OK
        return Next.NODATA if self.finalized else Next.AGAIN

    def put_next_subbuf(self) -> None:
        assert self._held is not None
        held, self._held = self._held, None
        self.consumed.append(os.pread(self._store, held.content, held.offset))
        self.puts += 1
        self._signal()

    def put_subbuf(self) -> None:
        assert self._held is not None
        self._ready.appendleft(self._held)
        self._held = None

    def subbuf_size(self) -> int:
        assert self._held is not None
        return self._held.content

    def padded_subbuf_size(self) -> int:
        assert self._held is not None
        return self._held.padded

    def max_subbuf_size(self) -> int:
        return self.sb_size

    def metadata_version(self) -> int:
        return self.version

    def mmap_read_offset(self) -> int:
        assert self._held is not None
        return self._held.offset

    def flush(self, *, wake: bool = True) -> None:
        """Close the current packet; ``wake`` False: as pylttng.ko's FLUSH, which leaves
        waking the reader to the channel's read timer: GET_NEXT_SUBBUF takes the packet,
        but nothing wakes a reader waiting for one."""
        self.flushes += 1
        if self._partial:
            self._ready.append(self._store_packet(self._partial))
            self._partial = b""
            if wake:
                self._signal()

    def map(self) -> mmap.mmap:
        return mmap.mmap(
            self._store,
            self.n_subbufs * self.sb_size,
            flags=mmap.MAP_SHARED,
            prot=mmap.PROT_READ,
        )

    def splice_source(self) -> int:
        return self._splice_fd

    def close(self) -> None:
        for fd in (self.read_fd, self._write_fd, self._splice_fd, self._store):
            if fd >= 0:
                os.close(fd)


class FakeKernel:
    """reader_factory for the consumerd: finds the FakeRing behind a received fd."""

    def __init__(self) -> None:
        self.rings: dict[int, FakeRing] = {}

    def ring(self, **kwargs: int) -> FakeRing:
        ring = FakeRing(**kwargs)
        self.rings[ring.inode] = ring
        return ring

    def __call__(self, fd: int) -> FakeRing:
        ring = self.rings.get(os.fstat(fd).st_ino)
        if ring is None:
            raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))
        return ring

    def close(self) -> None:
        for ring in self.rings.values():
            ring.close()


def test_fake_ring_poll_semantics() -> None:
    import select

    ring = FakeRing()
    poller = select.poll()
    poller.register(ring.fd, select.POLLIN)
    assert poller.poll(0) == []
    ring.produce(b"abc")
    assert poller.poll(0) == [(ring.fd, select.POLLIN)]
    assert ring.get_next_subbuf() is Next.OK
    ring.put_next_subbuf()
    assert poller.poll(0) == []
    ring.finalize()
    assert poller.poll(0)[0][1] & select.POLLHUP
    assert ring.get_next_subbuf() is Next.NODATA
    assert ring.consumed == [b"abc"]
    ring.close()
