"""A session's pair of connections to a relay daemon: control (commands, answered in
order) and data (packets, unanswered).

Opening follows what lttng-tools 2.13 does for a streamed session, split there between
lttng-sessiond (cmd.c: create_connect_relayd(): connect, version check, GET_CONFIGURATION,
CREATE_SESSION) and lttng-consumerd (CREATE_TRACE_CHUNK on the chunk the session writes):
here the consumer daemon does all of it, so every relayd socket lives in one process.

Every exchange has a deadline: a relay daemon that stops answering (killed, link cut)
makes the call fail with RelaydError instead of hanging the consumer; the link is then
broken for good, as lttng-relayd closes a connection after most error replies anyway.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass

import trio
from pylttng.protocol import relayd as r
from pylttng.protocol.consumer import RelaydEndpoint, RelaydSession

# How long one connect or one command may take before the relay daemon counts as gone.
TIMEOUT_S = 10.0
# Stands for this consumer daemon in CREATE_SESSION; lttng-relayd refuses the nil UUID.
CONSUMERD_UUID = uuid.uuid4()


class RelaydError(Exception):
    """The relay daemon could not be reached, refused, or stopped answering; the text says
    which, for the sessiond's reply."""


@dataclass(frozen=True, slots=True)
class OpenedSession:
    relayd_session_id: int
    output_path: str  # relative to the relay daemon's output folder
    clear_allowed: bool = False  # RELAYD_GET_CONFIGURATION's CLEAR_ALLOWED


async def _connect(end: RelaydEndpoint, what: str) -> trio.SocketStream:
    family = socket.AF_INET if end.family == "ipv4" else socket.AF_INET6
    sock = trio.socket.socket(family, socket.SOCK_STREAM)
    try:
        with trio.fail_after(TIMEOUT_S):
            await sock.connect((end.address, end.port))
    except (OSError, trio.TooSlowError) as exc:
        sock.close()
        raise RelaydError(
            f"cannot connect to the relayd {what} port {end.address}:{end.port}: {exc!r}"
        ) from None
    return trio.SocketStream(sock)


def _why(exc: Exception) -> str:
    # A deadline that passed means a relay daemon that takes nothing any more (gone, or
    # its link down); say so rather than name trio's exception.
    if isinstance(exc, trio.TooSlowError):
        return f"no progress in {TIMEOUT_S:g} s (relay daemon or link down)"
    return repr(exc)


class RelaydLink:
    """Both connections of one session; ``broken`` once any exchange failed."""

    def __init__(self, control: trio.SocketStream, data: trio.SocketStream) -> None:
        self._control = control
        self._data = data
        self._conn = r.ControlConnection()
        self._lock = trio.Lock()  # one command and its reply at a time
        self._data_lock = trio.Lock()  # one packet (header + bytes) at a time
        self.broken: str | None = None
        self.relayd_session_id: int | None = None
        # The data connection as streams' synchronous steps write it (relayd_sink.py), and
        # the sink with a packet half-written there, who alone may write until done.
        self.data_fd = data.socket.fileno()
        self.data_owner: object | None = None
        # Queued by those steps for run_control(): index entries and metadata, in order.
        self._queue: list[r.SendIndex | r.SendMetadata | r.RotateStreams] = []
        self._queued = trio.Event()
        self._drained = trio.Event()
        self._drained.set()

    @classmethod
    async def open(cls, req: RelaydSession) -> tuple[RelaydLink, OpenedSession]:
        control = await _connect(req.control, "control")
        try:
            data = await _connect(req.data, "data")
        except RelaydError:
            await control.aclose()
            raise
        link = cls(control, data)
        try:
            opened = await link._handshake(req)
        except BaseException:
            await link.aclose()
            raise
        return link, opened

    async def _handshake(self, req: RelaydSession) -> OpenedSession:
        reply = await self.call(r.Version())
        if self._conn.version is None:
            raise RelaydError(f"relayd version check failed: {reply}")
        config = await self.call(r.GetConfiguration())
        session = await self.call(
            r.CreateSession(
                session_name=req.session_name,
                hostname=req.hostname,
                sessiond_uuid=CONSUMERD_UUID,
                session_id=req.session_id,
                creation_time=req.creation_time,
                base_path=req.base_path,
                live_timer=req.live_timer_us,
                snapshot=req.snapshot,
                session_name_contains_creation_time=req.session_name_contains_creation_time,
                # The stock lttng-sessiond sends none (the recorded CREATE_SESSION in
                # tests/host/data); lttng-relayd answers FATAL to a chunk id it has not
                # created yet. The chunk comes next, with CREATE_TRACE_CHUNK.
                current_chunk_id=None,
            )
        )
        if not isinstance(session, r.CreateSessionReply) or not session.ok:
            raise RelaydError(f"relayd refused the session: {session}")
        if req.chunk_id is not None:
            await self.create_trace_chunk(req.chunk_id, req.creation_time, req.chunk_name or None)
        self.relayd_session_id = session.session_id
        clear_allowed = (
            isinstance(config, r.GetConfigurationReply)
            and config.ok
            and bool(config.flags & r.ConfigurationFlag.CLEAR_ALLOWED)
        )
        return OpenedSession(session.session_id, session.output_path or "", clear_allowed)

    # --- trace chunks (rotations, snapshots) -----------------------------------------------

    async def create_trace_chunk(
        self, chunk_id: int, creation_time: int, name: str | None = None
    ) -> None:
        """CREATE_TRACE_CHUNK (relayd.c: relayd_create_trace_chunk()); ``name`` overrides
        the one the relay daemon makes up (a snapshot's "<output>-<date>-<n>")."""
        reply = await self.call(r.CreateTraceChunk(chunk_id, creation_time, name))
        if not getattr(reply, "ok", False):
            raise self._fail(f"relayd refused to create trace chunk {chunk_id}: {reply}")

    async def close_trace_chunk(
        self, chunk_id: int, close_time: int, command: r.TraceChunkCommand | None
    ) -> str:
        """CLOSE_TRACE_CHUNK; the chunk's path once closed, relative to the relay daemon's
        output folder (for MOVE_TO_COMPLETED, the archive it will be renamed to once its
        streams have left it: lttng-relayd defers the rename until then)."""
        reply = await self.call(r.CloseTraceChunk(chunk_id, close_time, command))
        if not isinstance(reply, r.CloseTraceChunkReply) or not reply.ok:
            raise self._fail(f"relayd refused to close trace chunk {chunk_id}: {reply}")
        return reply.path or ""

    async def trace_chunk_exists(self, chunk_id: int) -> bool:
        """TRACE_CHUNK_EXISTS: the relay daemon keeps a closed chunk while a stream still
        writes it (relayd.c: relayd_trace_chunk_exists())."""
        reply = await self.call(r.TraceChunkExists(chunk_id))
        if not isinstance(reply, r.TraceChunkExistsReply) or not reply.ok:
            raise self._fail(f"relayd trace chunk {chunk_id} exists: {reply}")
        return reply.exists

    def queue_rotation(self, request: r.RotateStreams) -> None:
        """ROTATE_STREAMS in the control queue, so that it reaches the relay daemon after
        every index queued before it and before every index queued after it: the packets
        the relay daemon switches at are told apart by the index entries it has seen
        (stream.c: try_rotate_stream_index())."""
        self._enqueue(request)

    # --- what the streams of the session need ------------------------------------------

    async def add_stream(
        self, channel_name: str, pathname: str, chunk_id: int, size: int = 0, count: int = 0
    ) -> int:
        """ADD_STREAM; the relay daemon's handle of the stream (relayd.c:
        relayd_add_stream()). STREAMS_SENT follows once a batch is announced."""
        reply = await self.call(r.AddStream(channel_name, pathname, chunk_id, size, count))
        if not isinstance(reply, r.AddStreamReply) or not reply.ok:
            raise self._fail(f"relayd refused stream {pathname}/{channel_name}: {reply}")
        return reply.handle

    async def streams_sent(self) -> None:
        await self._expect_ok(r.StreamsSent())

    async def send_metadata(self, handle: int, data: bytes, padding_size: int) -> None:
        """Metadata goes on the control connection and gets no reply (consumer.c:
        write_relayd_metadata_id(): "Metadata are always sent on the control socket")."""
        raw = self._conn.send_metadata_prefix(handle, padding_size, len(data))
        await self._send(self._control, self._lock, raw + data, "metadata")

    async def send_packet(self, header: r.DataHeader, data: bytes) -> None:
        """A data packet on the data connection, unanswered; without its padding, which
        lttng-relayd writes itself (consumer.c: write_relayd_stream_header())."""
        raw = r.encode_data_packet(r.DataPacket(header, data))
        await self._send(self._data, self._data_lock, raw, "packet")

    async def send_packet_view(self, header: r.DataHeader, data: memoryview) -> None:
        """send_packet() of bytes left where they are (a snapshot's held sub-buffer)."""
        if self.broken is not None:
            raise RelaydError(self.broken)
        async with self._data_lock:
            try:
                with trio.fail_after(TIMEOUT_S):
                    await self._data.send_all(r.encode_data_header(header))
                    await self._data.send_all(data)
            except (OSError, trio.BrokenResourceError, trio.TooSlowError) as exc:
                raise self._fail(f"relayd connection: sending a snapshot packet: {exc!r}") from None

    async def send_index(self, entry: r.SendIndex) -> None:
        await self._expect_ok(entry)

    async def data_pending(self, streams: dict[int, int], metadata: tuple[int, ...] = ()) -> bool:
        """Whether the relay daemon still has to write a packet of ``streams`` (handle ->
        last net_seq_num sent): one BEGIN/DATA_PENDING.../END_DATA_PENDING round, as
        consumer.c: consumer_data_pending() does for a streamed session. Metadata streams
        get QUIESCENT_CONTROL instead: END_DATA_PENDING counts any stream not checked in
        the round as in flight (main.c: relay_end_data_pending())."""
        assert self.relayd_session_id is not None
        await self._expect_ok(r.BeginDataPending(self.relayd_session_id))
        for handle in metadata:
            await self._expect_ok(r.QuiescentControl(handle))
        pending = False
        for handle, last in streams.items():
            reply = await self.call(r.DataPending(handle, last))
            if not isinstance(reply, r.PendingReply) or reply.status < 0:
                raise self._fail(f"relayd data pending on stream {handle}: {reply}")
            pending = pending or reply.pending
        end = await self.call(r.EndDataPending(self.relayd_session_id))
        if not isinstance(end, r.PendingReply) or end.status < 0:
            raise self._fail(f"relayd end of data pending: {end}")
        return pending or end.pending

    async def close_stream(self, handle: int, last_net_seq_num: int) -> None:
        await self._expect_ok(r.CloseStream(handle, last_net_seq_num))

    # --- what synchronous steps queue, sent by the link's control task ---------------------

    def queue_index(self, entry: r.SendIndex) -> None:
        self._enqueue(entry)

    def queue_metadata(self, handle: int, data: bytes, padding_size: int) -> None:
        self._enqueue(r.SendMetadata(handle, data, padding_size))

    def _enqueue(self, item: r.SendIndex | r.SendMetadata | r.RotateStreams) -> None:
        if self.broken is not None:
            # run_control() has ended or is ending: nothing queued now could be sent, and
            # whoever waits for the queue to drain must not wait for it.
            return
        self._queue.append(item)
        self._drained = trio.Event() if self._drained.is_set() else self._drained
        self._queued.set()

    async def run_control(self) -> None:
        """Send what the streams queued, in order, until the link breaks or is closed.
        A failure breaks the link (call() records why); the task just ends."""
        try:
            while self.broken is None:
                await self._queued.wait()
                self._queued = trio.Event()
                while self._queue and self.broken is None:
                    item = self._queue.pop(0)
                    if isinstance(item, r.SendMetadata):
                        await self.send_metadata(item.stream_id, item.data, item.padding_size)
                    else:
                        await self._expect_ok(item)
                self._drained.set()
        except RelaydError:
            pass
        finally:
            self._drained.set()  # nobody waits for what can no longer be sent

    async def wait_data_writable(self) -> bool:
        """Wait until the data connection takes more bytes; False if it was closed."""
        try:
            await trio.lowlevel.wait_writable(self.data_fd)
        except (trio.ClosedResourceError, trio.BusyResourceError):
            return False
        return self.broken is None

    def control_idle(self) -> bool:
        """Everything queued so far was sent and answered."""
        return self._drained.is_set() and not self._queue

    async def drained(self) -> None:
        """Wait until everything queued so far was sent (or the link broke)."""
        await self._drained.wait()
        if self.broken is not None:
            raise RelaydError(self.broken)

    def break_link(self, why: str) -> str:
        if self.broken is None:
            self.broken = why
        self._queued.set()  # wake run_control() so it ends
        return self.broken

    async def _expect_ok(self, request: r.Request) -> None:
        reply = await self.call(request)
        if not getattr(reply, "ok", False):
            raise self._fail(f"relayd refused {type(request).__name__}: {reply}")

    def _fail(self, why: str) -> RelaydError:
        # Most lttng-relayd error replies are followed by it closing the connection
        # (main.c: relay_process_control_command() returns -1): nothing more can be sent.
        return RelaydError(self.break_link(why))

    async def _send(
        self, stream: trio.SocketStream, lock: trio.Lock, raw: bytes, what: str
    ) -> None:
        if self.broken is not None:
            raise RelaydError(self.broken)
        async with lock:
            try:
                with trio.fail_after(TIMEOUT_S):
                    await stream.send_all(raw)
            except (OSError, trio.BrokenResourceError, trio.TooSlowError) as exc:
                raise self._fail(f"relayd connection: sending {what}: {_why(exc)}") from None

    async def call(self, request: r.Request) -> r.Reply:
        """Send one command and read its reply; RelaydError (and the link broken) when the
        relay daemon closes, garbles or does not answer within TIMEOUT_S."""
        if self.broken is not None:
            raise RelaydError(self.broken)
        async with self._lock:
            try:
                with trio.fail_after(TIMEOUT_S):
                    await self._control.send_all(self._conn.send(request))
                    while (reply := self._conn.next_reply()) is r.NEED_DATA:
                        data = await self._control.receive_some(65536)
                        if not data:
                            raise RelaydError("the relayd closed the control connection")
                        self._conn.receive_data(data)
            except RelaydError as exc:
                raise RelaydError(self.break_link(str(exc))) from None
            except (OSError, trio.BrokenResourceError, trio.TooSlowError, r.ProtocolError) as exc:
                why = f"relayd control connection: {type(request).__name__}: {_why(exc)}"
                raise RelaydError(self.break_link(why)) from None
        return reply

    async def aclose(self) -> None:
        self.break_link("closed")
        for stream in (self._data, self._control):
            await trio.aclose_forcefully(stream)
