"""Frames and file descriptors over a connected unix stream socket (trio).

The codec (pylttng.protocol.consumer) splits bytes into frames; this layer moves the bytes
and the SCM_RIGHTS fds.  A sender attaches a frame's fds to the frame's first bytes, and the
kernel delivers them with those bytes, so received fds queue up in arrival order and the
request that needs one takes the oldest.  Fds that cannot be attributed (they came with a
garbage frame) are closed, never leaked or handed to the wrong request.
"""

from __future__ import annotations

import array
import os
import socket
from collections import deque
from collections.abc import Sequence

import trio
from pylttng.protocol.consumer import FrameDecoder, FrameEvent

MAX_FDS_PER_MESSAGE = 16
_RECV_SIZE = 65536
_ANCILLARY_SIZE = socket.CMSG_SPACE(MAX_FDS_PER_MESSAGE * array.array("i").itemsize)
# Plain ints: the socket module's flags are enum members, whose `&` costs ~4,000
# instructions per request in enum.py.
_RECV_FLAGS = int(socket.MSG_CMSG_CLOEXEC)
_TRUNCATED = int(socket.MSG_CTRUNC)


class ConnectionClosed(Exception):
    """The peer closed the connection (possibly in the middle of a frame)."""


class FramedSocket:
    """Frames over one connected socket (a trio socket's fd, taken over).

    The I/O calls the plain non-blocking socket and waits with trio only when the kernel
    says EAGAIN: trio's socket methods add a scheduling round trip after every call that
    succeeds at once (their cancel-shielded checkpoint), and `make bench` counts each one
    against the consumer daemon (one request costs a third of the instructions this way).
    ``receive`` always waits for readability first, so it is still a checkpoint.
    """

    def __init__(self, sock: trio.socket.SocketType) -> None:
        self._sock = socket.socket(fileno=sock.detach())
        self._sock.setblocking(False)
        self._decoder = FrameDecoder()
        self._fds: deque[int] = deque()
        self._eof = False

    async def send(self, data: bytes, fds: Sequence[int] = ()) -> None:
        """Send a whole frame; ``fds`` ride with its first byte."""
        view = memoryview(data)
        anc = []
        if fds:
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())]
        while view:
            try:
                sent = self._sock.sendmsg([view], anc)
            except BlockingIOError:
                await trio.lowlevel.wait_writable(self._sock)
                continue
            anc = []  # the fds went with the bytes just sent
            view = view[sent:]

    async def receive(self) -> FrameEvent:
        """The next frame (or bad-frame report); raises ConnectionClosed at end of stream."""
        while True:
            event = self._decoder.next_event()
            if event is not None:
                return event
            if self._eof:
                raise ConnectionClosed(
                    f"connection closed with {self._decoder.pending_bytes} bytes of a frame"
                    if self._decoder.pending_bytes
                    else "connection closed"
                )
            await trio.lowlevel.wait_readable(self._sock)
            self._receive_some()

    def _receive_some(self) -> None:
        try:
            data, ancdata, msg_flags, _ = self._sock.recvmsg(
                _RECV_SIZE, _ANCILLARY_SIZE, _RECV_FLAGS
            )
        except BlockingIOError:
            return  # woken without data after all: wait again
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
                self._fds.extend(fds)
        if msg_flags & _TRUNCATED:
            # Some fds were dropped by the kernel: the queue no longer matches the requests.
            self.discard_fds()
        if not data:
            self._eof = True
        else:
            self._decoder.feed(data)

    def take_fd(self) -> int | None:
        """The oldest received fd not yet claimed (the caller now owns it)."""
        return self._fds.popleft() if self._fds else None

    def discard_fds(self) -> None:
        """Close every queued fd (used when they cannot be matched to a request)."""
        while self._fds:
            os.close(self._fds.popleft())

    def close(self) -> None:
        self.discard_fds()
        if self._sock.fileno() >= 0:
            trio.lowlevel.notify_closing(self._sock)  # wakes a task waiting on it
        self._sock.close()


async def connect_unix(path: str) -> FramedSocket:
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        await sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return FramedSocket(sock)
