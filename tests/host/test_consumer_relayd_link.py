"""consumerd opens a streamed session on the stock lttng-relayd 2.13 (relayd_session):
connections, version, session and trace chunk; and reports, without hanging, a relay
daemon that does not listen or does not answer. Also: a stream meant for a relay daemon is
refused while its sink is not written, never drained to a local file instead."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
import test_relayd_stock
import trio
from pylttng.consumerd import relayd_link
from pylttng.consumerd.session import Registry
from pylttng.protocol.consumer import AddStream, RelaydEndpoint, RelaydSession
from test_relayd_stock import Relayd, free_port

relayd = test_relayd_stock.relayd  # the stock lttng-relayd fixture


def request(control: int, data: int, session_id: int = 3) -> RelaydSession:
    return RelaydSession(
        session_id=session_id,
        control=RelaydEndpoint("ipv4", "127.0.0.1", control),
        data=RelaydEndpoint("ipv4", "127.0.0.1", data),
        session_name="streamed",
        hostname="pylttng-host",
        base_path="",
        creation_time=int(time.time()),
        chunk_id=0,
    )


async def test_session_opens_on_the_stock_relayd(relayd: Relayd) -> None:
    async with trio.open_nursery() as nursery:
        registry = Registry(nursery)
        reply = await registry.relayd_session(request(relayd.control_port, relayd.data_port))
        assert reply.ok, reply.error
        assert isinstance(reply.values["relayd_session_id"], int)
        out = reply.values["output_path"]
        assert out.startswith("pylttng-host/streamed-"), out
        # A second relayd session for the same pylttng session is a sessiond bug.
        with pytest.raises(Exception, match="already streams"):
            await registry.relayd_session(request(relayd.control_port, relayd.data_port))
        # Another session on the same relay daemon is independent of the first.
        other = await registry.relayd_session(
            request(relayd.control_port, relayd.data_port, session_id=4)
        )
        assert other.ok and other.values["relayd_session_id"] != reply.values["relayd_session_id"]
        await registry.close_session(3)
        await registry.close_session(4)


async def test_no_relayd_listening_is_a_clear_error() -> None:
    async with trio.open_nursery() as nursery:
        registry = Registry(nursery)
        port = free_port()
        reply = await registry.relayd_session(request(port, port + 1))
        assert not reply.ok
        assert "cannot connect to the relayd control port" in reply.error


async def test_silent_relayd_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer that accepts but never answers (a hung relayd, a cut link with the
    connection already up) fails the request after the timeout, it does not hang."""
    monkeypatch.setattr(relayd_link, "TIMEOUT_S", 0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        async with trio.open_nursery() as nursery:
            registry = Registry(nursery)
            with trio.fail_after(5):
                reply = await registry.relayd_session(request(port, port))
    assert not reply.ok
    assert "TooSlowError" in reply.error


async def test_stream_for_a_relayd_is_refused_not_written_locally(tmp_path: Path) -> None:
    from pylttng.consumerd.server import Connection

    class NoLink:
        def take_fd(self) -> int:
            return os.open(os.devnull, os.O_RDONLY)

        def discard_fds(self) -> None:
            pass

    async with trio.open_nursery() as nursery:
        conn = Connection(NoLink(), Registry(nursery))  # type: ignore[arg-type]
        reply = await conn._dispatch(
            AddStream(3, str(tmp_path / "k"), "channel0_0", False, relay_path="kernel")
        )
    assert not reply.ok and "not supported" in reply.error
    assert not (tmp_path / "k").exists()
