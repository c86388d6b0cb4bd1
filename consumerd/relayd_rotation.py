"""Rotation of a session streamed to a relay daemon, the consumer's side.

lttng-tools 2.13 splits it between lttng-sessiond (cmd.c: cmd_rotate_session(): create
the next trace chunk, rotate every channel, close the chunk being archived, then poll
rotation-thread.c: check_session_rotation_pending_on_consumers()) and lttng-consumerd
(consumer.c: lttng_consumer_create_trace_chunk(), lttng_consumer_rotate_channel(),
lttng_consumer_close_trace_chunk(), lttng_consumer_trace_chunk_exists()), which sends
each step to the relay daemon (relayd.c). Here the consumer daemon owns the relayd
connections, so one request runs the steps in lttng-sessiond's order:

1. CREATE_TRACE_CHUNK of the next chunk (none when the session is stopped);
2. each stream samples where its chunk ends (stream.py: begin_relay_rotation()) and
   one ROTATE_STREAMS gives the relay daemon every stream's first packet sequence number
   of the new chunk; both happen in one synchronous step, so the rotation command is
   queued before any index of a packet of the new chunk (relayd_link.queue_rotation());
3. CLOSE_TRACE_CHUNK of the chunk being archived with the session daemon's close
   command: with MOVE_TO_COMPLETED the relay daemon renames it to
   archives/<begin>-<end>-<index> once the last of its streams has left it.

The rotation is pending while a stream has not sent up to its end of the old chunk or
the relay daemon still has the old chunk (TRACE_CHUNK_EXISTS).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pylttng.protocol import relayd as r
from pylttng.protocol.consumer import CloseCommandName, RelaydRotation

from .relayd_link import RelaydError

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger("pylttng.consumerd")

CLOSE_COMMANDS: dict[CloseCommandName, r.TraceChunkCommand] = {
    "move_to_completed": r.TraceChunkCommand.MOVE_TO_COMPLETED,
    "no_operation": r.TraceChunkCommand.NO_OPERATION,
    "delete": r.TraceChunkCommand.DELETE,
}


class RotationError(Exception):
    """The rotation could not be carried out; the text says where it stopped."""


async def rotate(session: Session, req: RelaydRotation) -> str:
    """Rotate the streamed ``session``; returns the archived chunk's path on the relay
    daemon ("" when the session had no chunk to archive)."""
    link = session.relayd
    assert link is not None
    old = session.relayd_chunk_id
    new = req.next_chunk_id
    if session.relayd_archiving is not None:
        raise RotationError(f"chunk {session.relayd_archiving} is still being archived")
    if new is not None and new == old:
        raise RotationError(f"the session already writes trace chunk {new}")
    try:
        if new is not None:
            await link.create_trace_chunk(new, req.creation_time)
        # From here to queue_rotation(), nothing awaits: no packet is sent in between.
        positions = []
        failed = []
        for s in session.streams:
            if s.relay is None:
                continue
            try:
                at = s.begin_relay_rotation("" if new is None else f"relayd chunk {new}",
                                            from_chunk=old is not None)
            except OSError as exc:
                failed.append(f"{s.path}: {exc.strerror or exc}")
                continue
            if at is not None:
                positions.append(r.RotationPosition(s.relay.handle, at))
        if any(s.relay is not None for s in session.streams):
            # (none yet when the session's first chunk is created, at its first start)
            link.queue_rotation(r.RotateStreams(new, tuple(positions)))
        session.relayd_chunk_id = new
        await link.drained()  # ROTATE_STREAMS answered (lttng-consumerd waits as well)
        if failed:
            raise RotationError("; ".join(failed))
        if old is None:
            return ""
        session.relayd_archiving = old
        path = await link.close_trace_chunk(old, req.close_time, CLOSE_COMMANDS[req.close_command])
    except RelaydError as exc:
        raise RotationError(str(exc)) from None
    log.info("session %d: relayd chunk %d closed (%s)", session.session_id, old, path)
    return path


async def pending(session: Session) -> bool:
    """Whether the chunk being archived is still written: by a stream here that has not
    sent its last packet, or by the relay daemon that has not moved every stream out."""
    link = session.relayd
    assert link is not None
    chunk = session.relayd_archiving
    if chunk is None:
        return False
    if any(s.rotation is not None for s in session.streams if not s.closed):
        return True
    try:
        await link.drained()  # the indexes that let the relay daemon switch are sent
        if await link.trace_chunk_exists(chunk):
            return True
    except RelaydError as exc:
        raise RotationError(str(exc)) from None
    session.relayd_archiving = None
    return False
