"""The live timer of a live session: every period, each data stream's packet so far is
closed so its events reach the relay daemon, and a stream with nothing new tells the
viewer so with a beacon (lttng-tools 2.13 consumer-timer.c: live_timer(),
consumer_flush_kernel_index()).

Per stream and tick: read the tracer's clock, flush the buffer (the drain task, woken by
the packet this makes ready, sends it with its index), then ask whether anything is left
unconsumed (RING_BUFFER_SNAPSHOT); if not, send the beacon: an index entry with only
timestamp_end (that clock reading) and the stream class id. lttng-relayd answers a
viewer's GET_NEXT_INDEX on such a stream with INACTIVE up to that time, which lets the
viewer merge the other streams' events instead of waiting for this one
(live.c: check_index_status()).

A stream that has never sent a packet gets an empty one instead of a flush: lttng-relayd
ignores beacons of a stream that has sent nothing (stream.c: stream_add_index()), and a
viewer waits for such a stream for ever. lttng-sessiond opens a packet in every stream at
each start for that reason (cmd.c: session_open_packets(), OPEN_CHANNEL_PACKETS);
pylttng-sessiond sends no such request, so the timer does it once per stream.

A tick never awaits: trio runs no drain step in the middle of it, which stands for the
stream lock lttng-consumerd takes there.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterable

import trio

from .relayd_link import RelaydLink
from .stream import Stream

log = logging.getLogger("pylttng.consumerd")


async def run(
    scope: trio.CancelScope,
    link: RelaydLink,
    streams: Callable[[], Iterable[Stream]],
    period_us: int,
) -> None:
    """Tick every ``period_us`` until ``scope`` is cancelled (the session closes) or the
    relay daemon link breaks (nothing can reach a viewer then)."""
    with scope:
        while link.broken is None:
            await trio.sleep(period_us / 1e6)
            tick(streams())


def tick(streams: Iterable[Stream]) -> None:
    for stream in streams:
        sink = stream.relay
        if sink is None or stream.metadata or stream.closed or stream.fatal_error is not None:
            continue
        try:
            flush_index(stream)
        except OSError as exc:
            # consumer-timer.c logs and goes on with the channel's next tick.
            log.error("live timer: stream %s: %s", stream.path, exc)


def flush_index(stream: Stream) -> None:
    """One stream's part of a tick. Raises OSError (a failed ioctl)."""
    sink = stream.relay
    assert sink is not None
    reader = stream.reader
    if not sink.opened_packet:
        sink.opened_packet = True
        if sink.next_seq == 0:
            reader.flush_empty()  # closes the packet being written too, as a flush does
            return
    timestamp = reader.current_timestamp()
    reader.flush()
    try:
        if reader.snapshot():
            return  # something to consume: the drain task sends it, with its index
    except OSError as exc:
        if exc.errno != errno.ENODATA:  # finalized and empty: a beacon too
            raise
    sink.send_beacon(timestamp, reader.stream_id())
