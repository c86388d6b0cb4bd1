"""One ring-buffer stream and its drain loop: sub-buffers -> trace file.

Consuming one sub-buffer (GET_NEXT_SUBBUF ... write ... PUT_NEXT_SUBBUF) is a synchronous
step with no checkpoint inside, so the drain task and request handlers (data_pending,
close) can all call it without a lock: trio never switches tasks in the middle of a step.
A sub-buffer whose write fails (full disk ...) stays held (not PUT, so the kernel keeps it)
and the step resumes that same sub-buffer next time.

A step writes the packet to the stream's current file (tracefiles.py picks it: trace file
size and count), then its entry to the index file (index.py), then releases it.  While a
session rotation is pending, each step then checks whether the stream has consumed its
old chunk and moves to the new chunk's files (rotation.py).
"""

from __future__ import annotations

import enum
import errno
import logging
import mmap
import os
import select
from collections.abc import Callable

import trio
from pylttng.protocol.consumer import Output

from . import index
from .fs_identity import ROOT
from .output import SplicePipe, Transfer, open_trace_dir, splice_to_file, write_from_mmap
from .relayd_sink import RelaydSink
from .ringbuffer import Next, SubbufReader
from .rotation import PendingRotation, consumed_position, plan_rotation, reached
from .tracefiles import StreamFiles

log = logging.getLogger("pylttng.consumerd")

# What wakes a drain task: a ready sub-buffer (POLLIN), a completely full buffer (POLLPRI:
# LTTng-modules reports that without POLLIN), a finalized stream (POLLHUP) or an error.
# trio waits for POLLIN only, so each stream has an epoll set of its own that watches its fd
# for POLLIN | POLLPRI, and trio waits for that set to be readable: no periodic re-check, an
# idle stream costs no wake-up (`make bench` counts each one against the consumer).
WAKE_EVENTS = select.EPOLLIN | select.EPOLLPRI
# After a wake-up that yielded nothing (e.g. POLLERR of a disabled channel, which epoll
# reports level-triggered), pause before waiting again instead of spinning.
SPURIOUS_WAKE_BACKOFF_S = 0.05
# How often a sub-buffer stuck on a write error is retried.
WRITE_RETRY_S = 1.0
# Sub-buffers consumed in a row before other tasks get a turn.  Each turn of trio's loop
# costs as much Python as consuming a sub-buffer (`make bench` counts the consumer's CPU
# per MB), and the caller waits (a checkpoint) as soon as nothing is ready anyway.
SUBBUFS_PER_TURN = 4
_ULONG_MASK = (1 << 64) - 1  # the kernel's positions and sequence numbers wrap at 64 bits
# How soon a packet is sent again to a relay daemon whose connection was full.
RELAY_RETRY_S = 0.01


class Step(enum.Enum):
    WROTE = "wrote"  # one sub-buffer is now in the file and released
    AGAIN = "again"  # nothing ready
    DONE = "done"  # finalized and empty, or stream closed / broken
    STUCK = "stuck"  # the held sub-buffer could not be written (see write_error)


class Stream:
    """A stream fd adopted from the sessiond, and where it is drained to: its files, or
    (``files`` None) the session's relay daemon through ``relay`` (relayd_sink.py)."""

    def __init__(
        self,
        reader: SubbufReader,
        *,
        stream_fd: int,
        files: StreamFiles | None,
        metadata: bool,
        output: Output,
        max_subbuf_size: int,
        relay: RelaydSink | None = None,
    ) -> None:
        if (files is None) == (relay is None) or (relay is not None and output != "mmap"):
            raise ValueError("a stream goes to its files or, from the mmap, to a relay daemon")
        self.reader = reader
        self.files = files
        self.relay = relay
        self.metadata = metadata
        self.output = output
        self._stream_fd = stream_fd
        self._map: mmap.mmap | None = None
        self._area: memoryview | None = None
        self._pipe: SplicePipe | None = None
        self._held: Transfer | None = None
        self._metadata_version: int | None = None
        # The held packet's index entry, and how much of it is written: allocated once,
        # for `make bench` counts the consumer's instructions per packet.
        self._entry = bytearray(index.ENTRY.size)
        self._entry_view = memoryview(self._entry)
        self._entry_progress = Transfer(offset=0, size=index.ENTRY.size)
        self.rotation: PendingRotation | None = None
        # Live metadata is sent only once coherent (relayd_sink.py): ask the tracer.
        self._metadata_check = metadata and relay is not None and relay.live
        self._coherent = True  # of the held metadata sub-buffer
        self.closed = False
        self.bytes_written = 0
        self.write_error: str | None = None  # set while a held sub-buffer cannot be written
        self.fatal_error: str | None = None  # set when the stream broke (ioctl failure ...)
        self.cancel_scope = trio.CancelScope()
        self.finished = trio.Event()
        if output == "mmap":
            self._map = reader.map()
            self._area = memoryview(self._map)
        else:
            self._pipe = SplicePipe(max_subbuf_size)
        self._wakeup = select.epoll()
        self._wakeup.register(reader.fd, WAKE_EVENTS)

    @property
    def path(self) -> str:
        """The file written now."""
        if self.relay is not None:
            return f"relayd:{self.relay.path}"
        assert self.files is not None
        return self.files.path

    # --- one step -----------------------------------------------------------------------

    def step(self) -> Step:
        """Consume at most one sub-buffer.  Never awaits."""
        if self.closed or self.fatal_error is not None:
            return Step.DONE
        if self.files is not None and self.files.data_fd < 0:
            return Step.AGAIN  # rotated while stopped: no trace chunk until the next start
        try:
            if self._held is None:
                if self._metadata_check:
                    got, self._coherent = self.reader.get_next_subbuf_metadata_check()
                else:
                    got = self.reader.get_next_subbuf()
                if got is Next.AGAIN:
                    return Step.AGAIN
                if got is Next.NODATA:
                    return Step.DONE
                if self.metadata:
                    self._follow_metadata_version()
                self._held = self._describe_held()
            return self._write_held()
        except OSError as exc:
            self.fatal_error = f"stream {self.path}: ring-buffer operation failed: {exc}"
            log.error("%s", self.fatal_error)
            return Step.DONE

    def _follow_metadata_version(self) -> None:
        """`lttng regenerate metadata` makes the tracer write the whole text again under a
        new version: start the file over, as lttng-consumerd does (kernel-consumer.c,
        metadata_stream_check_version())."""
        version = self.reader.metadata_version()
        if version != self._metadata_version:
            if self._metadata_version is not None:
                if self.files is None:
                    # RESET_METADATA is not sent yet: never let the relay daemon append
                    # a second metadata text to the first.
                    raise OSError(errno.ENOTSUP, "metadata regenerated while streaming")
                self.files.start_over()
                log.info(
                    "metadata of %s regenerated (version %d): file started over", self.path, version
                )
            self._metadata_version = version

    def _describe_held(self) -> Transfer:
        # lttng-consumerd writes the padded size to local files, for data *and* metadata
        # streams (consumer.c: "No streaming; we have to write the full padding"): the
        # packet header's packet_size counts that padding, so a reader needs it on disk.
        size = self.reader.padded_subbuf_size()
        offset = self.reader.mmap_read_offset() if self.output == "mmap" else 0
        return Transfer(offset=offset, size=size)

    def _write_held(self) -> Step:
        held = self._held
        assert held is not None
        if self.relay is not None:
            return self._send_held(held, self.relay)
        before = held.done
        files = self.files
        assert files is not None
        try:
            if held.file_offset < 0:
                held.file_offset = files.place(held.size)
            if self._area is not None:
                write_from_mmap(files.data_fd, self._area, held)
            else:
                assert self._pipe is not None
                splice_to_file(self.reader.splice_source(), self._pipe, files.data_fd, held)
            if files.index_fd is not None:
                self._write_entry(files.index_fd, held)
        except OSError as exc:
            self.bytes_written += held.done - before
            where = exc.filename or self.path
            if self.write_error is None:
                log.error(
                    "cannot write %s: %s; keeping the sub-buffer (%d of %d bytes written) "
                    "and retrying every %.0f s",
                    where,
                    exc.strerror or exc,
                    held.done,
                    held.size,
                    WRITE_RETRY_S,
                )
            self.write_error = (
                f"cannot write {where}: {exc.strerror or exc} "
                f"({held.size - held.done} bytes of a sub-buffer waiting)"
            )
            return Step.STUCK
        self.bytes_written += held.done - before
        if self.write_error is not None:
            log.warning("writing %s again after an error", self.path)
            self.write_error = None
        self._held = None
        self.reader.put_next_subbuf()
        if self.rotation is not None:
            self._rotate_if_due()
        return Step.WROTE

    def _send_held(self, held: Transfer, relay: RelaydSink) -> Step:
        """The relay daemon's side of _write_held(): same hold and release of the packet."""
        assert self._area is not None
        try:
            relay.send(
                self._area, held.offset, self.reader.subbuf_size(), held.size, self._coherent
            )
        except BlockingIOError:
            return Step.STUCK  # the connection is full: resumed from where it stopped
        except ConnectionError as exc:
            # The relay daemon is gone: this stream is broken, the others of the daemon
            # go on (lttng-consumerd marks the relayd and its streams unusable the same
            # way, consumer.c: lttng_consumer_cleanup_relayd()).
            self.fatal_error = f"stream {self.path}: {exc}"
            log.error("%s", self.fatal_error)
            return Step.DONE
        self.bytes_written += held.size
        self._held = None
        self.reader.put_next_subbuf()
        if self.rotation is not None:
            self._rotate_if_due()
        return Step.WROTE

    def _write_entry(self, index_fd: int, held: Transfer) -> None:
        """Append the held packet's index entry, once the packet is in the file and while
        it is still held (the mmap shows it); resumable, as the packet itself is.  A retry
        builds the same bytes again and writes what is left of them."""
        if self._area is not None:
            index.fill_entry(self._entry, self._area, held.offset, held.file_offset)
        else:
            # Spliced: the header is only in the file now; one small read of it there.
            assert self.files is not None
            header = os.pread(self.files.data_fd, index.PACKET_HEADER.size, held.file_offset)
            index.fill_entry(self._entry, header, 0, held.file_offset)
        progress = self._entry_progress
        write_from_mmap(index_fd, self._entry_view, progress)
        progress.done = 0  # ready for the next packet

    # --- session rotation and clear (rotation.py) ---------------------------------------

    def begin_rotation(self, trace_dir: str) -> None:
        """Sample where the current trace chunk ends and move to ``trace_dir`` (none: "")
        once consumed up to there, right now if it already is.  Raises OSError."""
        if self.closed or self.fatal_error is not None:
            return
        if self.files is None:
            raise OSError(errno.ENOTSUP, "a streamed session rotates through its relay daemon")
        if self.rotation is not None:
            self.rotation.release()  # superseded (the session daemon never overlaps them)
            self.rotation = None
        if not self.files.is_open:
            # No chunk since a rotation while stopped: nothing to close, nothing to flush
            # (lttng_consumer_rotate_channel(): "rotating from a NULL trace chunk").
            dir_fd = open_trace_dir(trace_dir, self.files.owner) if trace_dir else None
            self.rotation = PendingRotation(position=0, dir_fd=dir_fd, trace_dir=trace_dir)
            self._switch_chunk()
            return
        if self.metadata:
            while self.step() is Step.WROTE:
                pass  # all the metadata handed out so far belongs to the old chunk too
        self.rotation = plan_rotation(
            self.reader, trace_dir, metadata=self.metadata, owner=self.files.owner
        )
        if trace_dir and not self.metadata:
            self.reader.flush_empty()  # open a packet in the new chunk at the rotation
        if self._held is None:
            self._rotate_if_due()

    def begin_relay_rotation(self, chunk: str, *, from_chunk: bool = True) -> int | None:
        """begin_rotation() of a stream sent to a relay daemon, into trace chunk ``chunk``
        ("" for none: a rotation while stopped). Returns the CTF packet sequence number
        from which its packets belong to the new chunk, for ROTATE_STREAMS (None: the
        stream is closed). Raises OSError.

        As lttng_consumer_rotate_channel(): the sequence number of the packet after the
        last one consumed, plus the whole sub-buffers produced since, up to the position
        where the chunk ends. The relay daemon itself splits the files there; the
        stream only keeps the rotation pending until it has sent up to it, and a metadata
        stream then has the whole metadata dumped again for the new chunk. ``from_chunk``
        False: the stream is in no chunk now."""
        relay = self.relay
        assert relay is not None
        if self.closed or self.fatal_error is not None:
            return None
        if self.rotation is not None:
            self.rotation = None  # superseded (the session daemon never overlaps them)
        if self.metadata:
            while self.step() is Step.WROTE:
                pass  # all the metadata handed out so far belongs to the old chunk too
        # No folder here: the relay daemon writes the files.
        rotation = plan_rotation(self.reader, "", metadata=self.metadata, owner=ROOT,
                                 flush=from_chunk)
        rotation.trace_dir = chunk
        consumed = self.reader.snapshot_consumed()  # sampled with the end of the chunk
        whole = ((rotation.position - consumed) & _ULONG_MASK) // self.reader.max_subbuf_size()
        last = -1 if relay.last_packet_seq is None else relay.last_packet_seq
        self.rotation = rotation
        if not self.metadata:
            relay.rotate_at = (last + 1 + whole) & _ULONG_MASK
        # Open a packet in the new chunk at the rotation; not from no chunk (a start after
        # a rotation while stopped): the relay daemon refuses a packet of a stream without
        # a chunk, and the data connection could carry it before ROTATE_STREAMS arrives.
        if chunk and from_chunk and not self.metadata:
            self.reader.flush_empty()
        if self._held is None:
            self._rotate_if_due()
        return (last + 1 + whole) & _ULONG_MASK

    def _rotate_if_due(self) -> None:
        rotation = self.rotation
        assert rotation is not None
        try:
            due = reached(consumed_position(self.reader), rotation.position)
        except OSError as exc:
            self._rotation_failed(exc)
            return
        if due:
            self._switch_chunk()

    def _switch_chunk(self) -> None:
        rotation = self.rotation
        assert rotation is not None
        self.rotation = None
        if self.relay is not None:
            if self.metadata and rotation.trace_dir:
                try:
                    self.reader.metadata_cache_dump()  # the whole metadata again, new chunk
                except OSError as exc:
                    self._rotation_failed(exc)
                    return
            log.info("%s: now in trace chunk %s", self.path, rotation.trace_dir or "(none)")
            return
        dir_fd, rotation.dir_fd = rotation.dir_fd, None
        assert self.files is not None
        try:
            self.files.move_to(rotation.trace_dir, dir_fd)
            if self.metadata and dir_fd is not None:
                self.reader.metadata_cache_dump()  # the whole metadata again, in the new file
        except OSError as exc:
            self._rotation_failed(exc)
            return
        log.info("%s: now in trace chunk %s", self.files.base_path, rotation.trace_dir or "(none)")

    def _rotation_failed(self, exc: OSError) -> None:
        self.fatal_error = f"stream {self.path}: rotation failed: {exc.strerror or exc}"
        log.error("%s", self.fatal_error)

    def clear(self) -> None:
        """Close the current packet, then drop every packet not consumed yet (data only:
        metadata is never cleared, consumer.c: lttng_consumer_clear_channel()).
        Raises OSError."""
        if self.closed or self.fatal_error is not None or self.metadata:
            return
        self.reader.flush()
        self.reader.clear()

    # --- queries used by requests -------------------------------------------------------

    def data_pending(self) -> bool:
        """A ready sub-buffer not yet in the file (probe as lttng-consumerd does)."""
        if self.closed or self.fatal_error is not None:
            return False
        if self._held is not None:
            return True
        try:
            if self.reader.get_next_subbuf() is Next.OK:
                self.reader.put_subbuf()  # release without consuming
                return True
        except OSError as exc:
            log.error("data_pending probe of %s failed: %s", self.path, exc)
        return False

    def flush(self) -> None:
        """Close the current packet so its data becomes a ready sub-buffer."""
        if self.closed or self.fatal_error is not None or self.metadata:
            return
        try:
            self.reader.flush()
        except OSError as exc:
            self.fatal_error = f"stream {self.path}: flush failed: {exc}"
            log.error("%s", self.fatal_error)

    async def drain_ready(self) -> Step:
        """Consume every ready sub-buffer; returns the step that stopped it."""
        _, result = await self._drain_counting()
        return result

    async def push_ready(self) -> Step:
        """drain_ready(), asking the stream itself whether more is ready rather than the
        epoll set: a sub-buffer closed by a flush is ready before the drain task, woken
        by it, has had its turn."""
        _, result = await self._drain_counting(ask_stream=True)
        return result

    async def _drain_counting(self, *, ask_stream: bool = False) -> tuple[int, Step]:
        wrote = 0
        while True:
            result = self.step()
            if result is not Step.WROTE:
                return wrote, result
            wrote += 1
            if not ask_stream and not self._wakeup.poll(0):
                # Nothing more ready.  Asking the stream itself would fail with EAGAIN,
                # raised as an exception: dearer than this poll (`make bench`).
                return wrote, Step.AGAIN
            if wrote % SUBBUFS_PER_TURN == 0:
                # Let other streams and the control connection run.
                await trio.lowlevel.checkpoint()

    # --- the drain task ---------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Drain until the stream is finalized, broken, or its cancel scope is cancelled.

        Started (``nursery.start``) once the stream has been looked at and is being waited
        on: the add_stream request is answered with the stream set up, as lttng-consumerd
        answers it, not with that first look still to come while the session traces.
        """
        announced = False

        def announce() -> None:
            nonlocal announced
            if not announced:
                announced = True
                task_status.started()

        try:
            with self.cancel_scope:
                await self._drain_forever(announce)
        except Exception as exc:  # a bug in one stream must not stop the others
            log.exception("drain task of %s failed", self.path)
            self.fatal_error = f"stream {self.path}: internal error: {exc!r}"
        finally:
            self.close()
            self.finished.set()
        # Ended before its first wait (broken at once: fatal_error says why).  Not when
        # cancelled: then nursery.start raises in the request instead.
        announce()

    async def _drain_forever(self, announce: Callable[[], None]) -> None:
        woke = False
        while True:
            wrote, result = await self._drain_counting()
            announce()  # nothing awaits between here and the wait's registration below
            if result is Step.DONE:
                return
            if result is Step.STUCK:
                await trio.sleep(WRITE_RETRY_S if self.relay is None else RELAY_RETRY_S)
                continue
            if woke and wrote == 0:
                await trio.sleep(SPURIOUS_WAKE_BACKOFF_S)
            await trio.lowlevel.wait_readable(self._wakeup.fileno())
            woke = True

    def _drop_partial_packet(self, held: Transfer) -> None:
        """Readers stop at a packet cut short (a full disk): end the file at the last
        whole one."""
        files = self.files
        if files is None or not files.is_open or held.done == 0 or held.file_offset < 0:
            return
        try:
            os.ftruncate(files.data_fd, held.file_offset)
        except OSError as exc:
            log.error("cannot cut %s back to its last whole packet: %s", self.path, exc)

    def close(self) -> None:
        """Release the mapping, pipe, file and stream fd (idempotent).  Never awaits."""
        if self.closed:
            return
        self.closed = True
        if self._held is not None and self._held.done < self._held.size:
            log.error(
                "closing %s with %d bytes of a sub-buffer never written: %s",
                self.path,
                self._held.size - self._held.done,
                self.write_error,
            )
            self._drop_partial_packet(self._held)
        if self._area is not None:
            self._area.release()
        if self._map is not None:
            self._map.close()
        if self._pipe is not None:
            self._pipe.close()
        if self.rotation is not None:
            self.rotation.release()
        trio.lowlevel.notify_closing(self._wakeup.fileno())
        self._wakeup.close()
        trio.lowlevel.notify_closing(self._stream_fd)
        os.close(self._stream_fd)
        if self.files is not None:
            self.files.close()
