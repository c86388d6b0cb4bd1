"""Rotation, clear and schedules of a session streamed to a relay daemon, through the fake
tracer and consumer link of fake_kernel.py: the chunk requests the consumer daemon gets
(the first at the first start, none before), the relay location of the archive in the
ROTATION_GET_INFO and destroy replies' bytes, and clear refused by a relay daemon that
does not allow it (lttng-sessiond 2.13: cmd.c, clear.c, rotate.c)."""

from __future__ import annotations

import struct

import test_sessiond_rotation
import trio
from fake_kernel import FakeLink
from pylttng.protocol.client import structs
from pylttng.protocol.client.constants import (
    Command,
    ErrorCode,
    RotationState,
    SessionDescriptorOutputType,
    SessionDescriptorType,
)
from pylttng.protocol.client.messages import SessionDescriptor
from test_sessiond_live import URIS, create
from test_sessiond_protocol import Harness, daemon  # noqa: F401  (the fixture)
from test_sessiond_rotation import PERIODIC, rotation_id, set_schedule

harness = test_sessiond_rotation.harness  # the fixture

ARCHIVE = "fake-host/fake-session/archives/chunk-{}"


def link(h: Harness) -> FakeLink:
    return h.consumer.the_link


async def streamed(h: Harness, name: str = "s") -> None:
    desc = SessionDescriptor(type=SessionDescriptorType.REGULAR,
                             output_type=SessionDescriptorOutputType.NETWORK, name=name,
                             uris=URIS)
    assert (await create(h, desc)).ret_code == ErrorCode.OK
    assert (await h.enable_event(name, "sched_switch")).ret_code == ErrorCode.OK


async def relay_info(h: Harness, rotation: int) -> tuple[int, int, str, int, int, str]:
    """ROTATION_GET_INFO until the rotation is over: its state, location type, and the
    relay location's host, ports and relative path."""
    with trio.fail_after(10):
        while True:
            reply = await h.ask(Command.ROTATION_GET_INFO, "s", union=structs.
                                UnionGetRotationInfo.build({"rotation_id": rotation}))
            assert reply.ret_code == ErrorCode.OK
            got = structs.RotationGetInfoReturn.parse(reply.payload)
            if got.status != RotationState.ONGOING:
                break
            await trio.sleep(0.01)
    union = bytes(got.absolute_path) + bytes(got._relay_rest)
    host = union[:256].rstrip(b"\0").decode()
    protocol, control, data = struct.unpack_from("<bHH", union, 256)
    assert protocol == 0  # TCP
    path = union[261:].rstrip(b"\0").decode()
    return got.status, got.location_type, host, control, data, path


async def test_streamed_rotations_go_through_the_consumer(harness: Harness) -> None:
    h = harness
    await streamed(h)
    # Connected to the relay daemon, but no chunk before the first start: the relay
    # daemon makes no session folder for a session never started.
    [opened] = link(h).relayd_sessions
    assert getattr(opened, "chunk_id", "?") is None
    assert link(h).relayd_rotations == []
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    [first] = link(h).relayd_rotations
    assert first.next_chunk_id == 0

    link(h).hold = True
    rot = rotation_id(await h.ask(Command.ROTATE_SESSION, "s"))
    assert rot == 0
    assert link(h).relayd_rotations[-1].next_chunk_id == 1
    assert link(h).relayd_rotations[-1].close_command == "move_to_completed"
    assert (await h.ask(Command.ROTATE_SESSION, "s")).ret_code == ErrorCode.ROTATION_PENDING
    link(h).hold = False
    assert await relay_info(h, rot) == (
        RotationState.COMPLETED, 2, "127.0.0.1", 7342, 7343, ARCHIVE.format(0))

    # Stopped: to no chunk; the next start goes on in chunk 2, quietly.
    assert (await h.ask(Command.STOP_TRACE, "s")).ret_code == ErrorCode.OK
    stopped = rotation_id(await h.ask(Command.ROTATE_SESSION, "s"))
    assert link(h).relayd_rotations[-1].next_chunk_id is None
    await relay_info(h, stopped)
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    assert link(h).relayd_rotations[-1].next_chunk_id == 2

    # Destroy of a rotated session archives its last chunk and says where, on the relay.
    reply = await h.ask(Command.DESTROY_SESSION, "s")
    assert reply.ret_code == ErrorCode.OK
    assert link(h).relayd_rotations[-1].next_chunk_id is None
    assert structs.DestroyCommandHeader.parse(reply.cmd_header).rotation_state == 2
    kind, host_len, protocol, control, data, path_len = struct.unpack_from(
        "<bIbHHI", reply.payload)
    assert (kind, protocol, control, data) == (2, 0, 7342, 7343)
    strings = reply.payload[14:]
    assert strings == b"127.0.0.1\0" + ARCHIVE.format(2).encode() + b"\0"
    assert (host_len, path_len) == (10, len(ARCHIVE.format(2)) + 1)


async def test_streamed_clear_deletes_the_chunk_on_the_relay(harness: Harness) -> None:
    h = harness
    await streamed(h)
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    assert (await h.ask(Command.CLEAR_SESSION, "s")).ret_code == ErrorCode.OK
    assert link(h).cleared == 1
    last = link(h).relayd_rotations[-1]
    assert (last.next_chunk_id, last.close_command) == (1, "delete")
    # Nothing archived: a destroy afterwards rotates no more.
    reply = await h.ask(Command.DESTROY_SESSION, "s")
    assert reply.ret_code == ErrorCode.OK and reply.payload == b""
    assert len(link(h).relayd_rotations) == 2


async def test_clear_refused_by_the_relay_daemon(harness: Harness) -> None:
    h = harness
    link(h).relayd_allows_clear = False  # lttng-relayd --disallow-clear, or before 2.12
    await streamed(h)
    assert (await h.ask(Command.CLEAR_SESSION, "s")).ret_code == ErrorCode.OK  # not started
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    reply = await h.ask(Command.CLEAR_SESSION, "s")
    assert reply.ret_code == ErrorCode.CLEAR_NOT_AVAILABLE_RELAY
    assert link(h).cleared == 0 and len(link(h).relayd_rotations) == 1


async def test_streamed_schedules_are_set(harness: Harness) -> None:
    h = harness
    await streamed(h)
    assert await set_schedule(h, PERIODIC, 50_000) == ErrorCode.OK
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    with trio.fail_after(10):
        while len(link(h).relayd_rotations) < 3:  # the first chunk, then the timer's
            await trio.sleep(0.01)
    assert [r.next_chunk_id for r in link(h).relayd_rotations[:3]] == [0, 1, 2]
