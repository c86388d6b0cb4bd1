"""The client socket: accept `lttng` connections, read one request each, answer it.

I/O only: decoding and encoding live in pylttng.protocol.client, meaning in dispatch.py.
"""

from __future__ import annotations

import array
import dataclasses
import logging
import os
import socket
import struct
from collections.abc import Iterable

import trio
from pylttng.consumerd.accept import accept
from pylttng.protocol.client import reader as preader
from pylttng.protocol.client.constants import ErrorCode
from pylttng.protocol.client.errors import ProtocolError
from pylttng.protocol.client.messages import Reply, Request
from pylttng.protocol.client.writer import encode_reply

from .admission import TracingGroup
from .context import Credentials
from .dispatch import Dispatcher

log = logging.getLogger("pylttng.sessiond.client")

# A client that stays silent this long is dropped (the CLI sends everything at once).
RECEIVE_TIMEOUT_S = 30.0
_RECV_CHUNK = 65536
_MAX_FDS = 253  # LTTCOMM_MAX_SEND_FDS: fds the client may attach (user-space probes)
SO_PEERGROUPS = getattr(socket, "SO_PEERGROUPS", 59)  # asm-generic/socket.h, Linux 4.13
_MAX_PEER_GROUPS = 256  # CPython's getsockopt() returns at most 1024 bytes


async def bind_client_socket(path: str) -> trio.socket.SocketType:
    """Create the listening socket, replacing a stale file left by a dead daemon."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    old_umask = os.umask(0o117)  # srw-rw----, as lttng-sessiond creates it
    try:
        await sock.bind(path)
    finally:
        os.umask(old_umask)
    sock.listen(64)  # LTTNG_SESSIOND_COMM_MAX_LISTEN
    return sock


def _peer_credentials(sock: trio.socket.SocketType) -> Credentials:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return Credentials(pid=pid, uid=uid, gid=gid, groups=_peer_groups(sock))


def _peer_groups(sock: trio.socket.SocketType) -> tuple[int, ...]:
    """The peer's supplementary groups at connect(2); the first 256 are enough to find
    the tracing group in any sane set (ERANGE beyond: none, so only the primary counts)."""
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, SO_PEERGROUPS, _MAX_PEER_GROUPS * 4)
    except OSError as exc:
        log.info("SO_PEERGROUPS: %s", exc)
        return ()
    return struct.unpack(f"{len(raw) // 4}I", raw[: len(raw) - len(raw) % 4])


def _passed_fds(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    out: list[int] = []
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
            out.extend(fds)
    return out


def _close_fds(fds: Iterable[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


async def _receive_fds(conn: trio.socket.SocketType, request: Request) -> Request | Reply:
    """The fds the client sends after the payload: one byte carrying them (unix.c)."""
    want = request.fd_count
    if want <= 0:
        return request
    if want > _MAX_FDS:
        return Reply(request.cmd_type, ErrorCode.INVALID_PROTOCOL, request.domain.pid)
    fds: list[int] = []
    with trio.move_on_after(RECEIVE_TIMEOUT_S):
        _data, ancdata, _flags, _addr = await conn.recvmsg(1, socket.CMSG_SPACE(_MAX_FDS * 4))
        fds = _passed_fds(ancdata)
    if len(fds) != want:
        log.warning("client announced %d fds, sent %d", want, len(fds))
        _close_fds(fds)
        return Reply(request.cmd_type, ErrorCode.INVALID_PROTOCOL, request.domain.pid)
    return dataclasses.replace(request, fds=tuple(fds))


async def _read_request(
    conn: trio.socket.SocketType,
) -> Request | Reply | None:
    """The whole request, an error reply for a malformed one, or None on EOF/timeout."""
    rd = preader.RequestReader()
    with trio.move_on_after(RECEIVE_TIMEOUT_S):
        while True:
            try:
                request = rd.next_request()
            except ProtocolError as exc:
                log.warning("malformed client message: %s", exc)
                return Reply(cmd_type=exc.cmd_type or 0, ret_code=ErrorCode.INVALID_PROTOCOL)
            if not isinstance(request, preader.NeedData):
                return await _receive_fds(conn, request)
            want = min(rd.bytes_wanted(), _RECV_CHUNK)
            data, ancdata, _flags, _addr = await conn.recvmsg(want, socket.CMSG_SPACE(_MAX_FDS * 4))
            _close_fds(_passed_fds(ancdata))  # fds only come after a whole request
            if not data:
                if rd.buffered:
                    log.info("incomplete message from client (%d bytes), dropped", rd.buffered)
                return None
            rd.receive_data(data)
    log.info("client sent no complete request within %g s, dropped", RECEIVE_TIMEOUT_S)
    return None


async def serve_connection(
    conn: trio.socket.SocketType,
    dispatcher: Dispatcher,
    lock: trio.Lock,
    admission: TracingGroup | None = None,
) -> None:
    with conn:
        try:
            creds = _peer_credentials(conn)
            got = await _read_request(conn)
            if got is None:
                return
            if isinstance(got, Reply):
                reply = got
            elif admission is not None and not admission.admits(creds):
                log.warning(
                    "refused client pid %d uid %d: not in the tracing group %r",
                    creds.pid,
                    creds.uid,
                    admission.name,
                )
                _close_fds(got.fds)
                reply = Reply(got.cmd_type, ErrorCode.EPERM, got.domain.pid)
            else:
                # One command at a time, like the stock daemon's single client thread.
                async with lock:
                    try:
                        reply = await dispatcher.handle(got, creds)
                    except Exception:
                        log.exception("internal error while handling command %d", got.cmd_type)
                        reply = Reply(got.cmd_type, ErrorCode.FATAL, got.domain.pid)
                    finally:
                        _close_fds(got.fds)  # commands use them while handled, keep none
            await _send_reply(conn, reply)
        except OSError as exc:
            log.info("client connection error: %s", exc)


async def _send_all(conn: trio.socket.SocketType, data: bytes) -> None:
    view = memoryview(data)
    while view:
        sent = await conn.send(view)
        view = view[sent:]


async def _send_reply(conn: trio.socket.SocketType, reply: Reply) -> None:
    """The reply's bytes, then the fds its header announces: one byte carrying them all
    (unix.c, lttcomm_send_fds_unix_sock()); the session keeps its own copies open."""
    await _send_all(conn, encode_reply(reply))
    if reply.fds:
        rights = array.array("i", reply.fds).tobytes()
        await conn.sendmsg([b"\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])


async def serve_clients(
    listener: trio.socket.SocketType,
    dispatcher: Dispatcher,
    nursery: trio.Nursery,
    admission: TracingGroup | None = None,
) -> None:
    """Serve every connection; with ``admission`` (the root daemon), only root's and the
    tracing group's."""
    while True:
        conn = await accept(listener, log)
        nursery.start_soon(serve_connection, conn, dispatcher, dispatcher.command_lock, admission)
