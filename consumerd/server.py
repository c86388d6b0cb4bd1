"""The control socket: accept the sessiond, read requests, send one reply each.

One sessiond connection is served at a time; the next one waits in the listen backlog.  Nothing a client sends (garbage, a vanished peer)
ends more than its own connection.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import stat

import trio
from pylttng.protocol.consumer import (
    AddStream,
    BadFrame,
    ClearSession,
    CloseSession,
    ConsumedSize,
    DataPending,
    ProtocolError,
    RelaydSession,
    Reply,
    Request,
    RotateSession,
    RotationPending,
    SnapshotStream,
    encode_reply,
    parse_request,
    request_fd_count,
)

from .accept import accept
from .session import Registry, RequestError
from .snapshot import record_snapshot
from .wire import ConnectionClosed, FramedSocket

log = logging.getLogger("pylttng.consumerd")


async def open_listener(path: str) -> trio.socket.SocketType:
    """Bind ``path``, replacing a stale socket file but never a live consumerd's socket."""
    await _remove_stale_socket(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o770, exist_ok=True)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        await sock.bind(path)
        os.chmod(path, 0o660)  # sessiond and consumerd share a user or a group, nobody else
        sock.listen(8)
    except BaseException:
        sock.close()
        raise
    return sock


async def _remove_stale_socket(path: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EEXIST, f"{path} exists and is not a socket")
    probe = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        await probe.connect(path)
    except OSError:
        os.unlink(path)  # nobody listens: left over by a consumerd that died
        return
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"another consumerd is listening on {path}")


async def serve(
    listener: trio.socket.SocketType,
    registry: Registry,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve connections one after the other.

    A client that connects while another is served waits in the listen backlog until the
    first one is gone; refusing it instead would race with short-lived probes (the
    supervisor's readiness check) and make a reconnecting sessiond fail for nothing.
    """
    task_status.started()
    while True:
        conn = await accept(listener, log)
        await Connection(FramedSocket(conn), registry).run()


class Connection:
    def __init__(self, link: FramedSocket, registry: Registry) -> None:
        self._link = link
        self._registry = registry

    async def run(self) -> None:
        log.info("sessiond connected")
        try:
            while True:
                event = await self._link.receive()
                if isinstance(event, BadFrame):
                    self._link.discard_fds()
                    reply = Reply.failure(f"malformed frame: {event.reason}")
                else:
                    reply = await self._answer(event.payload)
                await self._link.send(encode_reply(reply))
        except ConnectionClosed as exc:
            log.info("sessiond disconnected: %s", exc)
        except (OSError, trio.BrokenResourceError) as exc:
            log.warning("sessiond connection lost: %s", exc)
        finally:
            self._link.close()

    async def _answer(self, payload: bytes) -> Reply:
        try:
            request = parse_request(payload)
        except ProtocolError as exc:
            self._link.discard_fds()  # whatever came with a bad request cannot be used
            return Reply.failure(f"malformed request: {exc}")
        try:
            return await self._dispatch(request)
        except RequestError as exc:
            return Reply.failure(str(exc))
        except OSError as exc:
            return Reply.failure(f"{request.cmd}: {exc}")
        except Exception as exc:  # a bug must not take the daemon down: report it
            log.exception("internal error while serving %s", request.cmd)
            return Reply.failure(f"{request.cmd}: internal error: {exc!r}")

    async def _dispatch(self, request: Request) -> Reply:
        # One request at a time: every fd queued now came with this request.
        fd = self._link.take_fd() if request_fd_count(request) else None
        self._link.discard_fds()
        if isinstance(request, SnapshotStream):
            if fd is None:
                return Reply.failure("snapshot_stream: no file descriptor came with the request")
            if request.relay_path:
                return await self._registry.snapshot_to_relayd(request, fd)
            result = await trio.to_thread.run_sync(record_snapshot, request, fd)
            return Reply.success(bytes=result.bytes_written, lost_packets=result.lost_packets,
                                 tracefile_index=result.tracefile_index, indexed=result.indexed)
        if isinstance(request, RelaydSession):
            return await self._registry.relayd_session(request)
        if isinstance(request, AddStream):
            if fd is None:
                return Reply.failure("add_stream: no file descriptor came with the request")
            await self._registry.add_stream(request, fd)
            return Reply.success()
        if isinstance(request, DataPending):
            pending = await self._registry.answer_data_pending(request.session_id)
            return Reply.success(pending=pending)
        if isinstance(request, CloseSession):
            await self._registry.close_session(request.session_id)
            return Reply.success()
        if isinstance(request, RotateSession):
            return await self._registry.rotate(request)
        if isinstance(request, RotationPending):
            pending = await self._registry.any_rotation_pending(request.session_id)
            return Reply.success(pending=pending)
        if isinstance(request, ClearSession):
            self._registry.clear_session(request.session_id)
            return Reply.success()
        if isinstance(request, ConsumedSize):
            return Reply.success(bytes=self._registry.consumed_size(request.session_id))
        raise AssertionError(f"unhandled request {request!r}")
