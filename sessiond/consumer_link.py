"""ConsumerLink: the sessiond's client of pylttng-consumerd.

Requests are serialised (one outstanding at a time, as the protocol requires).  If the
connection breaks, the failing call raises ConsumerError and the next call reconnects,
so a consumerd restarted by the supervisor is picked up again.
"""

from __future__ import annotations

import errno
from typing import NamedTuple

import trio
from pylttng.consumerd.fs_identity import Owner
from pylttng.consumerd.wire import ConnectionClosed, FramedSocket, connect_unix
from pylttng.protocol.consumer import (
    AddStream,
    BadFrame,
    ClearSession,
    CloseSession,
    ConsumedSize,
    DataPending,
    Output,
    ProtocolError,
    RelaydRotation,
    RelaydSession,
    Reply,
    Request,
    RotateSession,
    RotationPending,
    SnapshotStream,
    encode_request,
    parse_reply,
)

CONNECT_TIMEOUT_S = 120.0
_CONNECT_RETRY_S = 0.05
# Errors meaning "the daemon is not (yet) listening there": worth retrying.
_NOT_YET = {errno.ENOENT, errno.ECONNREFUSED, errno.EAGAIN}


class OpenedRelaydSession(NamedTuple):
    relayd_session_id: int
    output_path: str  # under the relay daemon's output folder
    clear_allowed: bool  # a 2.12+ relay daemon that does not refuse `lttng clear`


class SnapshotCopied(NamedTuple):
    """What copying a stream for a snapshot did: the packets lost (overwritten while
    read), and for a local copy, the stream's last file number and whether its files are
    indexed (where its next local snapshot starts)."""

    lost_packets: int
    tracefile_index: int = 0
    indexed: bool = False


class ConsumerError(Exception):
    """An error reply from the consumerd, or a lost/unreachable consumerd."""


async def _connect_with_retry(socket_path: str, timeout: float) -> FramedSocket:
    last: OSError | None = None
    with trio.move_on_after(timeout):
        while True:
            try:
                return await connect_unix(socket_path)
            except OSError as exc:
                if exc.errno not in _NOT_YET:
                    raise ConsumerError(
                        f"cannot connect to pylttng-consumerd at {socket_path}: "
                        f"{exc.strerror or exc}"
                    ) from None
                last = exc
            await trio.sleep(_CONNECT_RETRY_S)
    reason = last.strerror if last is not None and last.strerror else "timed out"
    raise ConsumerError(
        f"pylttng-consumerd is not listening on {socket_path} after {timeout:g} s ({reason})"
    )


class ConsumerLink:
    def __init__(self, socket_path: str, link: FramedSocket | None) -> None:
        self._path = socket_path
        self._link = link
        self._lock = trio.Lock()

    @classmethod
    async def connect(cls, socket_path: str, *, timeout: float = CONNECT_TIMEOUT_S) -> ConsumerLink:
        """Connect, retrying while the socket does not exist yet (up to ``timeout``)."""
        return cls(socket_path, await _connect_with_retry(socket_path, timeout))

    async def add_stream(
        self,
        *,
        session_id: int,
        fd: int,
        trace_dir: str,
        file_name: str,
        metadata: bool,
        output: Output = "mmap",
        tracefile_size: int = 0,
        tracefile_count: int = 0,
        relay_path: str = "",
        owner: Owner,
    ) -> None:
        """Hand a stream fd to the consumerd (which gets its own copy; ``fd`` stays ours);
        with ``relay_path``, drained to the session's relay daemon (relayd_session()).
        The consumerd creates the stream's files with ``owner``'s rights."""
        req = AddStream(
            session_id=session_id,
            trace_dir=trace_dir,
            file_name=file_name,
            metadata=metadata,
            output=output,
            tracefile_size=tracefile_size,
            tracefile_count=tracefile_count,
            relay_path=relay_path,
            uid=owner.uid,
            gid=owner.gid,
        )
        await self._call(req, (fd,))

    async def relayd_session(self, req: RelaydSession) -> OpenedRelaydSession:
        """Have the consumerd open the session on its relay daemon; returns the relay
        daemon's session id, the trace's path under its output folder and whether it
        allows clearing. ConsumerError with the consumerd's reason when it cannot (no
        relayd listening, refused ...)."""
        reply = await self._call(req)
        relayd_id = reply.values.get("relayd_session_id")
        path = reply.values.get("output_path")
        clear_allowed = reply.values.get("clear_allowed", False)
        if not isinstance(relayd_id, int) or isinstance(relayd_id, bool) or not isinstance(
            path, str
        ) or not isinstance(clear_allowed, bool):
            raise ConsumerError("relayd_session reply lacks relayd_session_id or output_path")
        return OpenedRelaydSession(relayd_id, path, clear_allowed)

    async def snapshot_stream(
        self,
        *,
        session_id: int,
        fd: int,
        trace_dir: str,
        file_name: str,
        metadata: bool,
        max_packets: int = 0,
        relay_path: str = "",
        owner: Owner,
        tracefile_size: int = 0,
        tracefile_count: int = 0,
        tracefile_index: int = 0,
        indexed: bool = False,
    ) -> SnapshotCopied:
        """Have the consumerd copy a stream's buffer to files created with ``owner``'s
        rights, split by the channel's trace file limits from file ``tracefile_index`` on,
        or with ``relay_path`` (``trace_dir`` ""), to the snapshot session opened on a
        relay daemon (relayd_session()). ``fd`` stays ours."""
        req = SnapshotStream(
            session_id=session_id,
            trace_dir=trace_dir,
            file_name=file_name,
            metadata=metadata,
            max_packets=max_packets,
            uid=owner.uid,
            gid=owner.gid,
            relay_path=relay_path,
            tracefile_size=tracefile_size,
            tracefile_count=tracefile_count,
            tracefile_index=tracefile_index,
            indexed=indexed,
        )
        values = (await self._call(req, (fd,))).values
        lost, last, last_indexed = (
            values.get("lost_packets", 0), values.get("tracefile_index", 0),
            values.get("indexed", False),
        )
        return SnapshotCopied(
            lost_packets=lost if isinstance(lost, int) else 0,
            tracefile_index=last if isinstance(last, int) else 0,
            indexed=last_indexed is True,
        )

    async def data_pending(self, session_id: int) -> bool:
        return self._flag(await self._call(DataPending(session_id)), "pending")

    async def close_session(self, session_id: int) -> None:
        await self._call(CloseSession(session_id))

    async def rotate_session(self, session_id: int, trace_dir: str) -> None:
        """Rotate every stream of the session to ``trace_dir`` ("": to no chunk)."""
        await self._call(RotateSession(session_id, trace_dir))

    async def rotate_relayd_session(self, session_id: int, rotation: RelaydRotation) -> str:
        """Rotate a session streamed to a relay daemon (the consumerd creates the next chunk
        there, rotates the streams and closes the old chunk); returns the relay daemon's
        path of the closed chunk ("": the session had none)."""
        reply = await self._call(RotateSession(session_id, "", rotation))
        path = reply.values.get("archive_path")
        if not isinstance(path, str):
            raise ConsumerError("rotate_session reply lacks archive_path")
        return path

    async def rotation_pending(self, session_id: int) -> bool:
        return self._flag(await self._call(RotationPending(session_id)), "pending")

    async def clear_session(self, session_id: int) -> None:
        await self._call(ClearSession(session_id))

    async def consumed_size(self, session_id: int) -> int:
        size = (await self._call(ConsumedSize(session_id))).values.get("bytes")
        if not isinstance(size, int) or isinstance(size, bool):
            raise ConsumerError("consumed_size reply has no integer 'bytes'")
        return size

    @staticmethod
    def _flag(reply: Reply, name: str) -> bool:
        value = reply.values.get(name)
        if not isinstance(value, bool):
            raise ConsumerError(f"reply has no boolean {name!r}")
        return value

    async def aclose(self) -> None:
        async with self._lock:
            if self._link is not None:
                self._link.close()
                self._link = None
        await trio.lowlevel.checkpoint()

    async def _call(self, req: Request, fds: tuple[int, ...] = ()) -> Reply:
        try:
            frame = encode_request(req)
        except ProtocolError as exc:
            raise ConsumerError(f"{req.cmd}: {exc}") from None
        async with self._lock:
            if self._link is None:
                # Fresh connection; a restarting consumerd gets a short grace period.
                self._link = await _connect_with_retry(self._path, CONNECT_TIMEOUT_S)
            link = self._link
            try:
                await link.send(frame, fds)
                event = await link.receive()
            except (OSError, ConnectionClosed, trio.BrokenResourceError) as exc:
                link.close()
                self._link = None
                raise ConsumerError(
                    f"{req.cmd}: connection to pylttng-consumerd at {self._path} lost: {exc}"
                ) from None
            except BaseException:
                # Cancelled mid-request: the reply would pair with the next request.
                link.close()
                self._link = None
                raise
        if isinstance(event, BadFrame):
            raise ConsumerError(f"{req.cmd}: bad reply frame: {event.reason}")
        try:
            reply = parse_reply(event.payload)
        except ProtocolError as exc:
            raise ConsumerError(f"{req.cmd}: bad reply: {exc}") from None
        if not reply.ok:
            raise ConsumerError(reply.error)
        return reply
