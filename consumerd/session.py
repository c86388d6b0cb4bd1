"""Sessions and their streams: what each sessiond request does.

The registry outlives control connections (a sessiond that reconnects finds its sessions
again).  Each stream's drain task runs in the daemon nursery inside the stream's own cancel
scope; closing a session cancels those scopes and waits for the tasks to finish.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import trio
from pylttng.protocol import relayd as r
from pylttng.protocol.consumer import (
    AddStream,
    RelaydSession,
    Reply,
    RotateSession,
    SnapshotStream,
)

from . import live_timer, relayd_rotation
from .fs_identity import Owner
from .relayd_link import RelaydError, RelaydLink
from .relayd_sink import RelaydSink
from .relayd_snapshot import RelaydSnapshotSource, send_snapshot
from .ringbuffer import KernelStream, SubbufReader
from .stream import RELAY_RETRY_S, Step, Stream
from .tracefiles import StreamFiles

log = logging.getLogger("pylttng.consumerd")

U64_MAX = (1 << 64) - 1
# How long a data-pending request first pushes out what the session's streams have ready:
# no longer than the stock CLI sleeps after a "pending" answer before it asks again
# (lttng-tools: DEFAULT_DATA_AVAILABILITY_WAIT_TIME_US).
PUSH_BEFORE_ANSWER_S = 0.2

ReaderFactory = Callable[[int], SubbufReader]


def _refuse_size_without_count(req: AddStream | SnapshotStream) -> None:
    """lttng-relayd 2.13 takes the next file number modulo the count: a count of 0 kills
    it (SIGFPE) at the first full file; later versions refuse the stream."""
    if req.tracefile_size and not req.tracefile_count:
        raise RequestError(f"{req.cmd}: a trace file size without a trace file count is not "
                           "supported when streaming to a relay daemon")


class RequestError(Exception):
    """A request that could not be carried out; the text goes into the error reply."""


@dataclass
class Session:
    session_id: int
    streams: list[Stream] = field(default_factory=list)
    relayd: RelaydLink | None = None  # set when the session streams to a relay daemon
    relayd_chunk_id: int | None = 0  # the trace chunk its streams write (None: none)
    relayd_archiving: int | None = None  # the chunk a rotation is moving them out of
    relayd_snapshot: bool = False  # a snapshot's session: SnapshotStream only, no streams
    live_timer_us: int = 0  # a live session's timer period (0: not live)
    live_timer: trio.CancelScope | None = None  # its task's scope (live_timer.py)

    def sync_metadata(self) -> None:
        """Push out every metadata packet ready now (a live data packet's index waits for
        it: consumer-stream.c: consumer_stream_sync_metadata_index())."""
        for s in self.streams:
            if s.metadata:
                while s.step() is Step.WROTE:
                    pass

    def errors(self) -> list[str]:
        found = []
        if self.relayd is not None and self.relayd.broken is not None:
            found.append(self.relayd.broken)
        for s in self.streams:
            if s.write_error is not None:
                found.append(s.write_error)
            if s.fatal_error is not None:
                found.append(s.fatal_error)
        return found


class Registry:
    def __init__(self, nursery: trio.Nursery, reader_factory: ReaderFactory = KernelStream):
        self._nursery = nursery
        self._reader_factory = reader_factory
        self._sessions: dict[int, Session] = {}

    def _open_paths(self) -> set[str]:
        return {
            s.files.base_path
            for sess in self._sessions.values()
            for s in sess.streams
            if not s.closed and s.files is not None
        }

    async def relayd_session(self, req: RelaydSession) -> Reply:
        """Open the session's connections to its relay daemon (relayd_link.py)."""
        session = self._sessions.setdefault(req.session_id, Session(req.session_id))
        if session.relayd is not None:
            raise RequestError(f"relayd_session: session {req.session_id} already streams")
        try:
            link, opened = await RelaydLink.open(req)
        except RelaydError as exc:
            log.warning("session %d: %s", req.session_id, exc)
            return Reply.failure(f"relayd_session: {exc}")
        session.relayd = link
        session.relayd_chunk_id = req.chunk_id
        session.relayd_snapshot = req.snapshot
        self._nursery.start_soon(link.run_control, name=f"relayd control {req.session_id}")
        if req.live_timer_us:
            session.live_timer_us = req.live_timer_us
            session.live_timer = trio.CancelScope()
            self._nursery.start_soon(
                live_timer.run,
                session.live_timer,
                link,
                lambda: session.streams,
                req.live_timer_us,
                name=f"live timer {req.session_id}",
            )
        log.info(
            "session %d: streaming to relayd session %d (%s)",
            req.session_id,
            opened.relayd_session_id,
            opened.output_path,
        )
        return Reply.success(
            relayd_session_id=opened.relayd_session_id,
            output_path=opened.output_path,
            clear_allowed=opened.clear_allowed,
        )

    async def add_stream(self, req: AddStream, fd: int) -> None:
        """Adopt ``fd`` (closed here on failure) and start draining it to the trace file."""
        try:
            if req.relay_path:
                stream = await self._open_relayd_stream(req, fd)
            else:
                stream = self._open_stream(req, fd)
        except BaseException:
            os.close(fd)
            raise
        self._sessions.setdefault(req.session_id, Session(req.session_id)).streams.append(stream)
        await self._nursery.start(stream.run, name=f"drain {stream.path}")
        log.info("session %d: draining %s (%s)", req.session_id, stream.path, req.output)

    async def _open_relayd_stream(self, req: AddStream, fd: int) -> Stream:
        """ADD_STREAM then STREAMS_SENT on the session's relay daemon, then the stream."""
        session = self._sessions.get(req.session_id)
        link = session.relayd if session is not None else None
        if session is None or link is None:
            raise RequestError(f"add_stream: session {req.session_id} streams to no relayd")
        if session.relayd_snapshot:
            raise RequestError(f"add_stream: session {req.session_id} is a snapshot's")
        if req.output != "mmap":
            raise RequestError(
                "add_stream: splice output is not supported when streaming to a relay daemon"
            )
        _refuse_size_without_count(req)
        reader = self._reader_factory(fd)
        if session.relayd_chunk_id is None:
            raise RequestError("add_stream: the session has no trace chunk on its relay daemon")
        try:
            max_subbuf = reader.max_subbuf_size()
            # The relay daemon splits the files itself (stream.c: stream_init_packet()),
            # at packet boundaries, from the data headers' sizes.
            handle = await link.add_stream(
                req.file_name,
                req.relay_path,
                session.relayd_chunk_id,
                req.tracefile_size,
                req.tracefile_count,
            )
            # lttng-consumerd sends STREAMS_SENT once a channel's streams are all added
            # (consumer.c: consumer_send_relayd_streams_sent()); one per stream publishes
            # the same streams, earlier.
            await link.streams_sent()
        except RelaydError as exc:
            raise RequestError(f"add_stream: {exc}") from None
        except OSError as exc:
            raise RequestError(
                f"add_stream: fd is not a ring-buffer stream ({exc.strerror or exc})"
            ) from None
        live = session.live_timer_us > 0
        sink = RelaydSink(
            link,
            handle,
            path=f"{req.relay_path}/{req.file_name}",
            metadata=req.metadata,
            live=live,
            sync_metadata=session.sync_metadata if live and not req.metadata else None,
        )
        return Stream(
            reader,
            stream_fd=fd,
            files=None,
            metadata=req.metadata,
            output="mmap",
            max_subbuf_size=max_subbuf,
            relay=sink,
        )

    def _open_stream(self, req: AddStream, fd: int) -> Stream:
        path = os.path.join(req.trace_dir, req.file_name)
        if path in self._open_paths():
            raise RequestError(f"add_stream: {path} is already written by another stream")
        reader = self._reader_factory(fd)
        # Ask the fd for something only a ring-buffer stream answers before creating files.
        try:
            max_subbuf = reader.max_subbuf_size()
        except OSError as exc:
            raise RequestError(
                f"add_stream: fd is not a ring-buffer stream ({exc.strerror or exc})"
            ) from None
        try:
            files = StreamFiles(
                req.trace_dir,
                req.file_name,
                indexed=not req.metadata,  # consumer-stream.c: no index for metadata
                tracefile_size=req.tracefile_size,
                tracefile_count=req.tracefile_count,
                owner=Owner(req.uid, req.gid),
            )
        except OSError as exc:
            raise RequestError(
                f"add_stream: cannot create {exc.filename or path}: {exc.strerror or exc}"
            ) from None
        try:
            return Stream(
                reader,
                stream_fd=fd,
                files=files,
                metadata=req.metadata,
                output=req.output,
                max_subbuf_size=max_subbuf,
            )
        except OSError as exc:
            files.close()
            raise RequestError(
                f"add_stream: cannot set up {req.output} output for {path}: {exc.strerror or exc}"
            ) from None

    async def rotate(self, req: RotateSession) -> Reply:
        """RotateSession: of local files (rotate_session()) or through the session's
        relay daemon (relayd_rotation.py), which the request must match."""
        session = self._sessions.get(req.session_id)
        if session is None:
            raise RequestError(f"rotate_session: no session {req.session_id}")
        if (session.relayd is None) != (req.relayd is None):
            what = "streams to a relay daemon" if session.relayd else "writes local files"
            raise RequestError(f"rotate_session: session {req.session_id} {what}")
        if req.relayd is None:
            self.rotate_session(req.session_id, req.trace_dir)
            return Reply.success()
        if session.relayd_snapshot:
            raise RequestError(f"rotate_session: session {req.session_id} is a snapshot's")
        try:
            path = await relayd_rotation.rotate(session, req.relayd)
        except relayd_rotation.RotationError as exc:
            raise RequestError(f"rotate_session: {exc}") from None
        _raise_errors(session)
        return Reply.success(archive_path=path)

    async def any_rotation_pending(self, session_id: int) -> bool:
        """RotationPending of a local or streamed session."""
        session = self._sessions.get(session_id)
        if session is None or session.relayd is None:
            return self.rotation_pending(session_id)
        _raise_errors(session)
        try:
            return await relayd_rotation.pending(session)
        except relayd_rotation.RotationError as exc:
            raise RequestError(f"rotation_pending: {exc}") from None

    def rotate_session(self, session_id: int, trace_dir: str) -> None:
        """Start a rotation in every stream of the session (rotation.py); the streams
        already caught up move to ``trace_dir`` now, the others once they are."""
        session = self._sessions.get(session_id)
        if session is None:
            raise RequestError(f"rotate_session: no session {session_id}")
        failed = []
        for s in session.streams:
            try:
                s.begin_rotation(trace_dir)
            except OSError as exc:
                failed.append(f"{s.path}: {exc.strerror or exc}")
        if failed:
            raise RequestError("rotate_session: " + "; ".join(failed))
        _raise_errors(session)

    async def snapshot_to_relayd(self, req: SnapshotStream, fd: int) -> Reply:
        """SnapshotStream to the snapshot session opened on a relay daemon
        (relayd_snapshot.py); ``fd`` is closed here."""
        try:
            session = self._sessions.get(req.session_id)
            link = session.relayd if session is not None else None
            if session is None or link is None or not session.relayd_snapshot:
                raise RequestError(
                    f"snapshot_stream: session {req.session_id} has no snapshot session "
                    "on a relay daemon"
                )
            if session.relayd_chunk_id is None:
                raise RequestError("snapshot_stream: the snapshot has no trace chunk")
            _refuse_size_without_count(req)
            # The reader of a stream fd (KernelStream) has the snapshot operations too.
            reader = cast(RelaydSnapshotSource, self._reader_factory(fd))
            try:
                result = await send_snapshot(link, session.relayd_chunk_id, req, reader)
            except RelaydError as exc:
                raise RequestError(f"snapshot_stream: {exc}") from None
        finally:
            os.close(fd)
        return Reply.success(bytes=result.bytes_written, lost_packets=result.lost_packets)

    def rotation_pending(self, session_id: int) -> bool:
        session = self._sessions.get(session_id)
        if session is None:
            return False
        _raise_errors(session)
        return any(s.rotation is not None for s in session.streams if not s.closed)

    def clear_session(self, session_id: int) -> None:
        session = self._sessions.get(session_id)
        if session is None:
            return
        for s in session.streams:
            try:
                s.clear()
            except OSError as exc:
                raise RequestError(f"clear_session: {s.path}: {exc.strerror or exc}") from None

    def consumed_size(self, session_id: int) -> int:
        session = self._sessions.get(session_id)
        if session is None:
            return 0
        return sum(s.bytes_written for s in session.streams if not s.metadata)

    async def answer_data_pending(self, session_id: int) -> bool:
        """DataPending: push out what the session's streams have ready (push_ready()),
        then whether a stream still holds data, or its relay daemon has not written all
        it was sent."""
        await self.push_ready(session_id)
        return self.data_pending(session_id) or await self.relayd_data_pending(session_id)

    async def push_ready(self, session_id: int) -> None:
        """Write or send every sub-buffer ready in the session's streams, waiting for its
        relay daemon to take them, for up to PUSH_BEFORE_ANSWER_S.

        lttng-consumerd answers once the sub-buffer its data thread is consuming is out
        (consumer_data_pending() takes each stream's lock), and that thread, woken by
        `lttng stop`, has usually sent the rest by then. The drain tasks here may not
        have had their turn yet, or be waiting out a full relayd connection
        (RELAY_RETRY_S): a "pending" answer then costs the CLI a 200 ms sleep for data
        a few milliseconds from going out."""
        session = self._sessions.get(session_id)
        if session is None:
            return
        with trio.move_on_after(PUSH_BEFORE_ANSWER_S):
            while True:
                blocked = False
                for s in session.streams:
                    if await s.push_ready() is Step.STUCK and s.relay is not None:
                        blocked = True
                if not blocked or not await _wait_for_relayd(session):
                    return

    def data_pending(self, session_id: int) -> bool:
        session = self._sessions.get(session_id)
        if session is None:
            return False
        pending = any(s.data_pending() for s in session.streams)
        _raise_errors(session)
        return pending

    async def relayd_data_pending(self, session_id: int) -> bool:
        """Whether the session's relay daemon still has to write what was sent to it."""
        session = self._sessions.get(session_id)
        if session is None or session.relayd is None:
            return False
        link = session.relayd
        sinks = [s.relay for s in session.streams if s.relay is not None and not s.closed]
        try:
            await link.drained()
            # Every data stream is asked, one that sent nothing at -1 (as u64) as
            # consumer.c: consumer_data_pending() does (next_net_seq_num - 1): lttng-relayd
            # counts a stream left out of the round as in flight (relay_end_data_pending()).
            return await link.data_pending(
                {k.handle: _u64(k.last_seq) for k in sinks if not k.metadata},
                tuple(k.handle for k in sinks if k.metadata),
            )
        except RelaydError as exc:
            raise RequestError(f"data_pending: {exc}") from None

    async def close_session(self, session_id: int) -> None:
        """Flush and drain everything, then stop the drain tasks and close every fd."""
        session = self._sessions.get(session_id)
        if session is None:
            return
        if session.live_timer is not None:
            session.live_timer.cancel()  # no beacon after the last packets
        for s in session.streams:
            s.flush()
        for s in session.streams:
            # A stream stuck on a write error gets one last try here, then is given up.
            result = await s.drain_ready()
            while result is Step.STUCK and s.relay is not None:
                # A relay daemon reading slowly: wait for it; a link that takes nothing
                # for its timeout breaks (relayd_sink.py), which ends this loop.
                await trio.sleep(RELAY_RETRY_S)
                result = await s.drain_ready()
            if result is Step.STUCK:
                log.error("session %d: closing %s with unwritten data", session_id, s.path)
        errors = session.errors()
        for s in session.streams:
            s.cancel_scope.cancel()
        for s in session.streams:
            await s.finished.wait()
        if session.relayd is not None:
            if session.relayd_snapshot and session.relayd_chunk_id is not None:
                await _close_snapshot_chunk(session.relayd, session.relayd_chunk_id, errors)
            await _close_relayd(session.relayd, session.streams, errors)
        # Forgotten only now: if this request was cancelled half-way (daemon shutdown),
        # close_all still finds the session and finishes the job.
        self._sessions.pop(session_id, None)
        log.info("session %d closed", session_id)
        if errors:
            raise RequestError("; ".join(errors))

    async def close_all(self) -> None:
        for session_id in list(self._sessions):
            try:
                await self.close_session(session_id)
            except RequestError as exc:
                log.error("session %d: %s", session_id, exc)


def _u64(seq: int | None) -> int:
    return U64_MAX if seq is None else seq


async def _wait_for_relayd(session: Session) -> bool:
    """Wait until the session's relay daemon can take more of what its streams could not
    send; False when waiting cannot help (the link is broken, or no stream of the session
    holds the data connection)."""
    link = session.relayd
    if link is None or link.broken is not None:
        return False
    if not link.control_idle():
        # Queued index entries and metadata go first: lttng-relayd serves control before
        # data, and a rotation's first packet waits for them (relayd_sink.py).
        try:
            await link.drained()
        except RelaydError:
            return False
        return True
    owner = link.data_owner
    if owner is None or not any(s.relay is owner and not s.closed for s in session.streams):
        return False
    return await link.wait_data_writable()


def _raise_errors(session: Session) -> None:
    errors = session.errors()
    if errors:
        raise RequestError("; ".join(errors))


async def _close_snapshot_chunk(link: RelaydLink, chunk_id: int, errors: list[str]) -> None:
    """A snapshot's chunk is closed as it is, under the name it was given (cmd.c:
    snapshot_record(): LTTNG_TRACE_CHUNK_COMMAND_TYPE_NO_OPERATION)."""
    try:
        await link.drained()
        await link.close_trace_chunk(
            chunk_id, int(time.time()), r.TraceChunkCommand.NO_OPERATION
        )
    except RelaydError as exc:
        errors.append(str(exc))


async def _close_relayd(link: RelaydLink, streams: list[Stream], errors: list[str]) -> None:
    """CLOSE_STREAM each stream once all it sent went out, then close both connections:
    closing the data connection also makes lttng-relayd close the session's streams
    (main.c: relay_thread_close_connection()), which covers a link already broken."""
    try:
        await link.drained()
        for s in streams:
            if s.relay is not None:
                # A metadata stream, or one that sent nothing, closes at -1 (as u64).
                await link.close_stream(s.relay.handle, _u64(s.relay.last_seq))
    except RelaydError as exc:
        if str(exc) not in errors:
            errors.append(str(exc))
    await link.aclose()
