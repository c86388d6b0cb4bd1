"""Rotation and clear commands of pylttng-sessiond over the fake tracer and a fake consumer
link that rotates when told: trace chunk folders and names, rotation states, the replies'
bytes, schedules (lttng-sessiond 2.13: cmd.c, rotate.c, clear.c, trace-chunk.c)."""

from __future__ import annotations

import os
import pathlib
import re
import struct
from collections.abc import AsyncIterator

import pytest
import trio
from pylttng.protocol.client import structs
from pylttng.protocol.client.constants import Command, ErrorCode, RotationState
from pylttng.protocol.client.messages import Channel, Reply
from pylttng.sessiond import rotation
from pylttng.sessiond.client_server import bind_client_socket, serve_clients
from pylttng.sessiond.context import DaemonContext
from pylttng.sessiond.dispatch import Dispatcher
from pylttng.sessiond.modprobe import TracerLoader
from pylttng.sessiond.session import SessionRegistry
from test_sessiond_protocol import FakeConsumer, FakeLink, FakeTracer, Harness

ISO = r"\d{8}T\d{6}[+-]\d{4}"
PERIODIC, SIZE = 1, 0


class RotatingLink(FakeLink):
    """FakeLink with the rotation requests: a rotation stays pending while ``hold`` is
    set; consumed_size answers ``consumed``."""

    def __init__(self) -> None:
        super().__init__()
        self.rotations: list[str] = []
        self.cleared = 0
        self.hold = False
        self.consumed = 0

    async def rotate_session(self, session_id: int, trace_dir: str) -> None:
        assert not trace_dir or os.path.isdir(trace_dir)  # the new chunk's folder exists
        self.rotations.append(trace_dir)

    async def rotation_pending(self, session_id: int) -> bool:
        return self.hold

    async def clear_session(self, session_id: int) -> None:
        self.cleared += 1

    async def consumed_size(self, session_id: int) -> int:
        return self.consumed


@pytest.fixture
async def harness(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
                  ) -> AsyncIterator[Harness]:
    monkeypatch.setattr(rotation, "ROTATE_PENDING_CHECK_S", 0.01)
    monkeypatch.setattr(rotation, "IDLE_POLL_S", 0.01)
    path = str(tmp_path / "client-lttng-sessiond")
    tracer = FakeTracer()
    consumer = FakeConsumer()
    consumer.the_link = RotatingLink()
    loader = TracerLoader(no_kernel=False, tracer=tracer)  # type: ignore[arg-type]
    listener = await bind_client_socket(path)
    async with trio.open_nursery() as nursery:
        ctx = DaemonContext(sessions=SessionRegistry(), tracer=loader,
                            consumer=consumer, nursery=nursery)  # type: ignore[arg-type]
        nursery.start_soon(serve_clients, listener, Dispatcher(ctx, is_root=True), nursery)
        yield Harness(path, tracer, consumer)
        nursery.cancel_scope.cancel()


def link(h: Harness) -> RotatingLink:
    link = h.consumer.the_link
    assert isinstance(link, RotatingLink)
    return link


def tree(folder: pathlib.Path) -> list[str]:
    """Folders under folder (no file is written: the consumer is a fake), dates as DATE."""
    return sorted(re.sub(ISO, "DATE", str(p.relative_to(folder)))
                  for p in folder.rglob("*") if p.is_dir())


async def started(h: Harness, out: str, name: str = "s") -> None:
    assert (await h.create(name, out)).ret_code == ErrorCode.OK
    assert (await h.enable_event(name, "sched_switch")).ret_code == ErrorCode.OK
    assert (await h.ask(Command.START_TRACE, name)).ret_code == ErrorCode.OK


async def rotate(h: Harness, name: str = "s") -> Reply:
    return await h.ask(Command.ROTATE_SESSION, name)


def rotation_id(reply: Reply) -> int:
    assert reply.ret_code == ErrorCode.OK, reply.ret_code
    assert len(reply.payload) == 8
    return int.from_bytes(reply.payload, "little")


async def info(h: Harness, rotation: int, name: str = "s") -> tuple[int, str]:
    reply = await h.ask(Command.ROTATION_GET_INFO, name,
                        union=structs.UnionGetRotationInfo.build({"rotation_id": rotation}))
    assert reply.ret_code == ErrorCode.OK
    assert len(reply.payload) == structs.RotationGetInfoReturn.sizeof() == 4362
    got = structs.RotationGetInfoReturn.parse(reply.payload)
    path = bytes(got.absolute_path).rstrip(b"\0").decode()
    assert got.location_type == (1 if path else 0)
    return int(got.status), path


async def completed(h: Harness, rotation: int, name: str = "s") -> str:
    with trio.fail_after(10):
        while True:
            state, path = await info(h, rotation, name)
            if state != RotationState.ONGOING:
                assert state == RotationState.COMPLETED
                return path
            await trio.sleep(0.01)


async def test_rotations_name_and_archive_chunks_as_lttng(
    harness: Harness, tmp_path: pathlib.Path
) -> None:
    h, out = harness, tmp_path / "trace"
    assert (await h.create("s", str(out))).ret_code == ErrorCode.OK
    assert (await h.enable_event("s", "sched_switch")).ret_code == ErrorCode.OK
    assert (await rotate(h)).ret_code == ErrorCode.START_SESSION_ONCE
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    assert tree(out) == ["kernel"]  # chunk 0: the output folder itself
    assert link(h).streams[0][0] == str(out / "kernel")

    link(h).hold = True
    first = rotation_id(await rotate(h))
    assert first == 0
    assert re.fullmatch(re.escape(str(out)) + "/.tmp_new_chunk/kernel", link(h).rotations[-1])
    assert tree(out) == [".tmp_old_chunk", ".tmp_old_chunk/kernel", "DATE-1", "DATE-1/kernel"]
    assert await info(h, first) == (RotationState.ONGOING, "")
    assert (await rotate(h)).ret_code == ErrorCode.ROTATION_PENDING
    link(h).hold = False
    path = await completed(h, first)
    assert re.fullmatch(re.escape(str(out)) + f"/archives/{ISO}-{ISO}-0", path)
    assert tree(out) == ["DATE-1", "DATE-1/kernel", "archives", "archives/DATE-DATE-0",
                         "archives/DATE-DATE-0/kernel"]

    second = rotation_id(await rotate(h))
    assert second == 1
    assert await info(h, first) == (RotationState.EXPIRED, "")
    await completed(h, second)
    assert tree(out)[:2] == ["DATE-2", "DATE-2/kernel"]

    # Stopped: the chunk becomes an archive and no chunk follows until the next start.
    assert (await h.ask(Command.STOP_TRACE, "s")).ret_code == ErrorCode.OK
    link(h).hold = True
    third = rotation_id(await rotate(h))
    assert link(h).rotations[-1] == ""
    assert (await h.ask(Command.DATA_PENDING, "s")).payload == b"\1"  # wait for it
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.ROTATION_PENDING
    link(h).hold = False
    await completed(h, third)
    assert (await rotate(h)).ret_code == ErrorCode.ROTATION_MULTIPLE_AFTER_STOP
    assert [p for p in tree(out) if "/" not in p] == ["archives"]
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    assert re.fullmatch(re.escape(str(out)) + f"/{ISO}-3/kernel", link(h).rotations[-1])

    # Destroy archives the last chunk, and says where.
    reply = await h.ask(Command.DESTROY_SESSION, "s")
    assert reply.ret_code == ErrorCode.OK
    assert structs.DestroyCommandHeader.parse(reply.cmd_header).rotation_state == 2
    kind, length = struct.unpack_from("<bI", reply.payload)
    where = reply.payload[14:].decode()
    assert kind == 1 and length == len(where) and where.endswith("\0")
    assert re.fullmatch(re.escape(str(out)) + f"/archives/{ISO}-{ISO}-3\0", where)
    assert tree(out) == ["archives"] + [f"archives/DATE-DATE-{n}{k}" for n in range(4)
                                        for k in ("", "/kernel")]


async def test_destroy_of_a_session_never_rotated_archives_nothing(
    harness: Harness, tmp_path: pathlib.Path
) -> None:
    out = tmp_path / "t"
    await started(harness, str(out))
    reply = await harness.ask(Command.DESTROY_SESSION, "s")
    assert reply.ret_code == ErrorCode.OK and reply.payload == b""
    assert structs.DestroyCommandHeader.parse(reply.cmd_header).rotation_state == 0
    assert link(harness).rotations == [] and link(harness).closed == 1
    assert tree(out) == ["kernel"]


async def test_clear_deletes_the_current_chunk(harness: Harness, tmp_path: pathlib.Path) -> None:
    h, out = harness, tmp_path / "t"
    assert (await h.create("s", str(out))).ret_code == ErrorCode.OK
    assert (await h.enable_event("s", "sched_switch")).ret_code == ErrorCode.OK
    assert (await h.ask(Command.CLEAR_SESSION, "s")).ret_code == ErrorCode.OK  # not started
    assert link(h).cleared == 0
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    (out / "kernel" / "channel0_0").write_bytes(b"old")
    calls = len(h.tracer.calls)
    assert (await h.ask(Command.CLEAR_SESSION, "s")).ret_code == ErrorCode.OK
    # Stopped, cleared, rotated, started again; answered once the old chunk is gone.
    assert [c[0] for c in h.tracer.calls[calls:]] == ["SESSION_STOP"] + ["FLUSH"] * 3 + [
        "SESSION_START"]
    assert link(h).cleared == 1
    assert link(h).rotations == [str(out / ".tmp_new_chunk" / "kernel")]
    assert tree(out) == ["kernel"] and not (out / "kernel" / "channel0_0").exists()

    assert (await h.ask(Command.STOP_TRACE, "s")).ret_code == ErrorCode.OK
    assert (await h.ask(Command.CLEAR_SESSION, "s")).ret_code == ErrorCode.OK
    assert link(h).rotations[-1] == ""
    assert tree(out) == []
    assert (await h.ask(Command.CLEAR_SESSION, "s")).ret_code == ErrorCode.OK  # no effect
    assert link(h).cleared == 2
    # A clear while stopped rotates while stopped: that error comes first (cmd.c).
    assert (await rotate(h)).ret_code == ErrorCode.ROTATION_MULTIPLE_AFTER_STOP
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    assert link(h).rotations[-1] == str(out / "kernel")  # never rotated: in the output
    assert tree(out) == ["kernel"]


async def set_schedule(h: Harness, kind: int, value: int, *, on: bool = True) -> int:
    union = structs.UnionRotationSetSchedule.build({"type": kind, "set": int(on), "value": value})
    return (await h.ask(Command.ROTATION_SET_SCHEDULE, "s", union=union)).ret_code


async def schedules(h: Harness) -> tuple[int, int, int, int]:
    reply = await h.ask(Command.SESSION_LIST_ROTATION_SCHEDULES, "s")
    got = structs.ListRotationSchedulesReturn.parse(reply.payload)
    return got.periodic_set, got.periodic_value, got.size_set, got.size_value


def monitored(name: str, monitor_us: int) -> Channel:
    return Channel(name=name, subbuf_size=4096, num_subbuf=4, monitor_timer_interval=monitor_us)


async def test_schedules_set_list_and_rotate(harness: Harness, tmp_path: pathlib.Path) -> None:
    h, out = harness, tmp_path / "t"
    assert (await h.create("s", str(out))).ret_code == ErrorCode.OK
    # The consumed size is sampled at the channels' shortest monitor timer period.
    assert (await h.enable_channel("s", monitored("slow", 60_000_000))).ret_code == ErrorCode.OK
    assert (await h.enable_channel("s", monitored("channel0", 10_000))).ret_code == ErrorCode.OK
    assert (await h.enable_event("s", "sched_switch", channel="channel0")).ret_code == ErrorCode.OK
    assert await set_schedule(h, PERIODIC, 20000) == ErrorCode.OK
    assert await set_schedule(h, PERIODIC, 30000) == ErrorCode.ROTATION_SCHEDULE_SET
    assert await set_schedule(h, PERIODIC, 1 << 32) == ErrorCode.INVALID
    assert await set_schedule(h, SIZE, 4096) == ErrorCode.OK
    assert await schedules(h) == (1, 20000, 1, 4096)
    assert link(h).rotations == []  # the timer starts with the session
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    with trio.fail_after(10):
        while len(link(h).rotations) < 3:
            await trio.sleep(0.01)
    assert await set_schedule(h, PERIODIC, 30000, on=False) == ErrorCode.ROTATION_SCHEDULE_NOT_SET
    assert await set_schedule(h, PERIODIC, 20000, on=False) == ErrorCode.OK
    assert await set_schedule(h, PERIODIC, 20000, on=False) == ErrorCode.ROTATION_SCHEDULE_NOT_SET

    # Size: a rotation each time the consumer has written another 4096 bytes.
    await trio.sleep(0.1)
    before = len(link(h).rotations)
    await trio.sleep(0.1)
    assert len(link(h).rotations) == before  # nothing written: no rotation
    link(h).consumed = 5000
    with trio.fail_after(10):
        while len(link(h).rotations) == before:
            await trio.sleep(0.01)
    await trio.sleep(0.1)
    assert len(link(h).rotations) == before + 1  # the next threshold is 9096
    assert await set_schedule(h, SIZE, 4096, on=False) == ErrorCode.OK
    assert await schedules(h) == (0, 0, 0, 0)

    assert (await h.create("snap", str(tmp_path / "snap"), snapshot=True)).ret_code == ErrorCode.OK
    union = structs.UnionRotationSetSchedule.build({"type": PERIODIC, "set": 1, "value": 5})
    reply = await h.ask(Command.ROTATION_SET_SCHEDULE, "snap", union=union)
    assert reply.ret_code == ErrorCode.ROTATION_NOT_AVAILABLE
    assert (await rotate(h, "snap")).ret_code == ErrorCode.START_SESSION_ONCE


async def test_no_size_rotation_without_a_monitor_timer(harness: Harness,
                                                        tmp_path: pathlib.Path) -> None:
    """--monitor-timer 0 on every channel: no sample of the consumed size, as the stock
    notification thread never gets one; the schedule is still set and listed."""
    h = harness
    assert (await h.create("s", str(tmp_path / "t"))).ret_code == ErrorCode.OK
    assert (await h.enable_channel("s", monitored("channel0", 0))).ret_code == ErrorCode.OK
    assert (await h.enable_event("s", "sched_switch", channel="channel0")).ret_code == ErrorCode.OK
    assert await set_schedule(h, SIZE, 4096) == ErrorCode.OK
    assert (await h.ask(Command.START_TRACE, "s")).ret_code == ErrorCode.OK
    link(h).consumed = 1 << 20
    await trio.sleep(0.2)
    assert link(h).rotations == []
    assert await schedules(h) == (0, 0, 1, 4096)
