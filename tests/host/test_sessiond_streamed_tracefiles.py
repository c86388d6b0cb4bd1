"""Trace file limits of a session streamed to a relay daemon, through the fake tracer and
consumer link of fake_kernel.py: a size with a count goes with each stream to the
consumer daemon (which sends it on in RELAYD_ADD_STREAM); a size without a count is
refused at start with LTTNG_ERR_NOT_SUPPORTED, before any stream is handed over
(lttng-relayd 2.13 dies of SIGFPE on it: test_consumer_relayd_tracefiles.py)."""

from __future__ import annotations

from fake_kernel import FakeLink
from pylttng.protocol.client.constants import (
    Command,
    ErrorCode,
    SessionDescriptorOutputType,
    SessionDescriptorType,
)
from pylttng.protocol.client.messages import Channel, SessionDescriptor
from test_sessiond_live import URIS, create
from test_sessiond_protocol import Harness, daemon

__all__ = ["daemon"]  # the fixture


def link(h: Harness) -> FakeLink:
    return h.consumer.the_link


async def streamed_channel(h: Harness, size: int, count: int) -> None:
    desc = SessionDescriptor(type=SessionDescriptorType.REGULAR,
                             output_type=SessionDescriptorOutputType.NETWORK, name="s",
                             uris=URIS)
    assert (await create(h, desc)).ret_code == ErrorCode.OK
    chan = Channel(name="c", subbuf_size=16384, num_subbuf=4, tracefile_size=size,
                   tracefile_count=count)
    assert (await h.enable_channel("s", chan)).ret_code == ErrorCode.OK
    assert (await h.enable_event("s", "sched_switch", channel="c")).ret_code == ErrorCode.OK


async def test_limits_go_with_each_streamed_stream(daemon: Harness) -> None:
    await streamed_channel(daemon, 65536, 3)
    assert (await daemon.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    assert link(daemon).relayd_sessions
    assert link(daemon).tracefiles == {"metadata": (0, 0), "c_0": (65536, 3), "c_1": (65536, 3)}


async def test_size_without_count_is_refused_at_start(daemon: Harness) -> None:
    await streamed_channel(daemon, 65536, 0)
    reply = await daemon.ask(Command.START_TRACE, "s")
    assert reply.ret_code == ErrorCode.NOT_SUPPORTED
    assert link(daemon).tracefiles == {}
    # The session is left as it was: destroyed like any session never started.
    assert (await daemon.ask(Command.DESTROY_SESSION, "s")).ret_code == ErrorCode.OK
