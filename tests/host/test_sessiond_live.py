"""Live session descriptors in pylttng-sessiond (sessiond/live.py), over the fake kernel
and consumer: the live timer reaches the consumer daemon with the relay daemon session,
a live descriptor without URLs gets net://127.0.0.1, and what is not carried out or
not valid is refused, never accepted with the timer dropped."""

from __future__ import annotations

import pytest
from pylttng.protocol.client import writer
from pylttng.protocol.client.constants import (
    Command,
    ErrorCode,
    SessionDescriptorOutputType,
    SessionDescriptorType,
    UriDstType,
)
from pylttng.protocol.client.messages import Reply, SessionDescriptor, Uri
from pylttng.protocol.consumer import RelaydEndpoint, RelaydSession
from pylttng.sessiond.live import default_uris
from test_sessiond_protocol import Harness, daemon

__all__ = ["daemon"]  # the fixture

NETWORK = SessionDescriptorOutputType.NETWORK
URIS = (
    Uri(dtype=UriDstType.IPV4, stype=0, proto=1, port=7342, dst="127.0.0.1"),
    Uri(dtype=UriDstType.IPV4, stype=1, proto=1, port=7343, dst="127.0.0.1"),
)


async def create(d: Harness, desc: SessionDescriptor) -> Reply:
    raw = writer.encode_session_descriptor(desc)
    union = (0).to_bytes(2, "little") + len(raw).to_bytes(8, "little")
    return await d.ask(Command.CREATE_SESSION_EXT, union=union, payload=raw)


def live(
    name: str, timer: int, output: int = NETWORK, uris: tuple[Uri, ...] = URIS
) -> SessionDescriptor:
    return SessionDescriptor(
        type=SessionDescriptorType.LIVE,
        output_type=output,
        name=name,
        uris=uris,
        live_timer_us=timer,
    )


async def test_live_timer_goes_to_the_consumer_with_the_relayd_session(daemon: Harness) -> None:
    assert (await create(daemon, live("lv", 300_000))).ret_code == ErrorCode.OK
    # The relay daemon session is opened at the first kernel-domain command.
    assert (await daemon.enable_event("lv", "sched_switch")).ret_code == ErrorCode.OK
    [req] = daemon.consumer.the_link.relayd_sessions
    assert isinstance(req, RelaydSession)
    assert req.live_timer_us == 300_000 and req.session_name == "lv"
    assert req.control == RelaydEndpoint("ipv4", "127.0.0.1", 7342)


async def test_live_without_urls_streams_to_the_default_relayd(daemon: Harness) -> None:
    assert (await create(daemon, live("lv", 1_000_000, uris=()))).ret_code == ErrorCode.OK
    assert (await daemon.enable_event("lv", "sched_switch")).ret_code == ErrorCode.OK
    [req] = daemon.consumer.the_link.relayd_sessions
    assert isinstance(req, RelaydSession)
    assert (req.control, req.data) == (
        RelaydEndpoint("ipv4", "127.0.0.1", 5342),
        RelaydEndpoint("ipv4", "127.0.0.1", 5343),
    )
    assert [u.port for u in default_uris()] == [5342, 5343]


@pytest.mark.parametrize(
    "desc, code",
    [
        (live("lv", 0), ErrorCode.INVALID),
        (live("lv", 1 << 32), ErrorCode.INVALID),  # the session keeps 32 bits
        (
            live("lv", 1_000_000, SessionDescriptorOutputType.LOCAL, (Uri(dtype=3, dst="/tmp/x"),)),
            ErrorCode.INVALID,
        ),
    ],
    ids=["zero-timer", "timer-beyond-32-bits", "local-output"],
)
async def test_live_descriptors_refused(
    daemon: Harness, desc: SessionDescriptor, code: ErrorCode
) -> None:
    assert (await create(daemon, desc)).ret_code == code
    # Nothing was left behind: the name is free.
    assert (await create(daemon, live("lv", 1_000_000))).ret_code == ErrorCode.OK


async def test_live_session_without_urls_yet(daemon: Harness) -> None:
    """lttng_create_session_live(name, NULL, timer), as `lttng load` creates a live session:
    created without an output, its URLs to come with SET_CONSUMER_URI; started without
    them, it is refused rather than traced to nowhere."""
    desc = live("lv", 1_000_000, SessionDescriptorOutputType.NONE, ())
    assert (await create(daemon, desc)).ret_code == ErrorCode.OK
    assert (await daemon.enable_event("lv", "sched_switch")).ret_code == ErrorCode.OK
    assert daemon.consumer.the_link.relayd_sessions == []
    assert (await daemon.ask(Command.START_TRACE, "lv")).ret_code == ErrorCode.NOT_SUPPORTED
