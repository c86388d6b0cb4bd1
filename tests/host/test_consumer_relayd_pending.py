"""Data pending of a session streamed to the stock lttng-relayd, as `lttng stop` asks it
(Registry.answer_data_pending()): what the streams have ready is pushed out before the
answer, so the first answer after a stop is "not pending" once the relay daemon holds
everything; while the data cannot reach it, the answer stays "pending"."""

from __future__ import annotations

import os
import signal

import test_relayd_stock
import trio
from test_consumer_fakering import ctf_packet, page_align
from test_consumer_relayd_link import fake_registry, stream_session
from test_relayd_stock import STREAM_PATH, Relayd, recorded_ctf

relayd = test_relayd_stock.relayd  # the stock lttng-relayd fixture
pytestmark = test_relayd_stock.pytestmark

# More than a stopped reader's loopback connection takes in (receive window and send
# buffer: a few MiB at most with Linux's defaults).
BIG = 16 << 20


async def test_first_answer_after_a_flush_is_not_pending(relayd: Relayd) -> None:
    """The flush of `lttng stop` closes the last packet without waking the drain task
    (pylttng.ko leaves that to the read timer): the request sends it, then answers."""
    metadata, packet, _ = recorded_ctf()
    async with fake_registry() as (registry, kernel):
        meta_ring, data_ring, out = await stream_session(registry, kernel, relayd)
        meta_ring.produce(metadata.data)
        data_ring.produce_partial(packet.data)
        data_ring.flush(wake=False)
        assert registry.data_pending(3)  # ready, not sent: the drain task sleeps on
        with trio.fail_after(10):
            assert not await registry.answer_data_pending(3)
        # Truthful: the relay daemon has written the packet and its metadata.
        assert (data_ring.puts, meta_ring.puts) == (1, 1)
        folder = relayd.output / out / STREAM_PATH
        padding = page_align(len(packet.data)) - len(packet.data)
        assert (folder / "c0_0").read_bytes() == packet.data + b"\0" * padding
        assert (folder / "metadata").read_bytes().startswith(metadata.data)
        await registry.close_session(3)


async def test_pending_while_the_relayd_cannot_take_the_data(relayd: Relayd) -> None:
    """A relay daemon that reads nothing (stopped): the packet cannot all go, and the
    answer is "pending" (after the push's bounded wait, not forever); once it reads
    again, the packet goes out whole and the answer turns to "not pending"."""
    packet = ctf_packet(0, BIG)
    async with fake_registry() as (registry, kernel):
        _, data_ring, out = await stream_session(registry, kernel, relayd,
                                                 subbuf_size=BIG)
        os.kill(relayd.proc.pid, signal.SIGSTOP)
        try:
            data_ring.produce_partial(packet)
            data_ring.flush(wake=False)
            with trio.fail_after(10):
                assert await registry.answer_data_pending(3)
            assert data_ring.puts == 0  # still held, partly sent
        finally:
            os.kill(relayd.proc.pid, signal.SIGCONT)
        with trio.fail_after(30):
            while await registry.answer_data_pending(3):
                await trio.sleep(0.01)
        assert data_ring.puts == 1
        written = (relayd.output / out / STREAM_PATH / "c0_0").read_bytes()
        assert written[:BIG] == packet
        await registry.close_session(3)
