"""The sessiond's side (ConsumerLink) asks the pylttng-consumerd binary, over its real unix
socket, to open a session on the stock lttng-relayd; and gets the consumerd's reason when
no relay daemon listens."""

from __future__ import annotations

import dataclasses
import time

import pytest
import test_consumer_daemon
import test_relayd_stock
import trio
from pylttng.protocol.consumer import RelaydRotation
from pylttng.sessiond.consumer_link import ConsumerError, ConsumerLink
from test_consumer_relayd_link import request
from test_relayd_stock import Relayd, free_port

# Fixtures: the stock lttng-relayd, the consumerd binary and a ConsumerLink to it.
relayd = test_relayd_stock.relayd
sock_path = test_consumer_daemon.sock_path
consumerd = test_consumer_daemon.consumerd
link = test_consumer_daemon.link

pytestmark = test_relayd_stock.pytestmark


async def test_relayd_session_through_the_daemon(link: ConsumerLink, relayd: Relayd) -> None:
    relayd_id, path, clear_allowed = await link.relayd_session(
        request(relayd.control_port, relayd.data_port)
    )
    assert relayd_id >= 0
    assert clear_allowed  # lttng-relayd 2.13 without --disallow-clear
    assert path.startswith("pylttng-host/streamed-")
    await link.close_session(3)
    # Closed: the same pylttng session id may stream again.
    await link.relayd_session(request(relayd.control_port, relayd.data_port))
    await link.close_session(3)


async def test_no_relayd_is_reported_with_the_reason(link: ConsumerLink) -> None:
    port = free_port()
    with pytest.raises(ConsumerError, match="cannot connect to the relayd control port"):
        await link.relayd_session(request(port, port))
    # The daemon still serves: data pending of an unknown session is simply False.
    assert await link.data_pending(99) is False


async def archived_once(link: ConsumerLink, relayd: Relayd, path: str) -> None:
    """Once session 3's rotation is done, its relay folder holds one archive, chunk 0's;
    then the session is closed."""
    with trio.fail_after(10):
        while await link.rotation_pending(3):
            await trio.sleep(0.05)
    (archive,) = (relayd.output / path / "archives").iterdir()
    assert archive.name.endswith("-0")
    await link.close_session(3)


async def test_rotation_through_the_daemon(link: ConsumerLink, relayd: Relayd) -> None:
    """RotateSession with its relayd part: the consumerd creates the next chunk on the relay
    daemon and closes the old one, which (no stream left in it) is archived at once."""
    _, path, _ = await link.relayd_session(request(relayd.control_port, relayd.data_port))
    now = int(time.time())
    with pytest.raises(ConsumerError, match="streams to a relay daemon"):
        await link.rotate_session(3, "/nowhere")
    assert await link.rotate_relayd_session(3, RelaydRotation(1, now, now)) == path
    await archived_once(link, relayd, path)


async def test_first_chunk_comes_with_the_first_rotation(link: ConsumerLink,
                                                         relayd: Relayd) -> None:
    """A session opened without a trace chunk (lttng-sessiond creates it at the first
    start) gets it with a rotation from none, which archives nothing; the next one
    archives it."""
    req = dataclasses.replace(request(relayd.control_port, relayd.data_port), chunk_id=None)
    _, path, _ = await link.relayd_session(req)
    now = int(time.time())
    assert await link.rotate_relayd_session(3, RelaydRotation(0, now, now)) == ""
    assert not await link.rotation_pending(3)
    assert await link.rotate_relayd_session(3, RelaydRotation(1, now, now)) == path
    await archived_once(link, relayd, path)
