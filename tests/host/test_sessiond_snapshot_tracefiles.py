"""Trace file limits of a snapshot session, through the fake tracer and consumer link of
fake_kernel.py: each data stream's copy gets its channel's size and count, and a local
copy starts where the stream's previous local copy ended (the consumer link's answer);
a size without a count is refused with LTTNG_ERR_NOT_SUPPORTED when a snapshot is
recorded to a relay daemon, before anything is asked of the consumer daemon (lttng-relayd
2.13 dies of SIGFPE on it), and accepted for a local snapshot."""

from __future__ import annotations

import pathlib

from fake_kernel import FakeLink
from pylttng.protocol.client.constants import Command, ErrorCode, EventOutput
from pylttng.protocol.client.messages import Channel
from test_sessiond_protocol import Harness, daemon
from test_sessiond_snapshots import output_union

__all__ = ["daemon"]  # the fixture

RELAYD_URL = "net://localhost:7000"


def link(h: Harness) -> FakeLink:
    return h.consumer.the_link


async def snapshot_channel(h: Harness, out: pathlib.Path, size: int, count: int) -> None:
    assert (await h.create("snap", str(out), snapshot=True)).ret_code == ErrorCode.OK
    chan = Channel(name="c", subbuf_size=4096, num_subbuf=8, tracefile_size=size,
                   tracefile_count=count, overwrite=1, output=EventOutput.MMAP)
    assert (await h.enable_channel("snap", chan)).ret_code == ErrorCode.OK
    assert (await h.enable_event("snap", "sched_switch", channel="c")).ret_code == ErrorCode.OK
    assert (await h.ask(Command.START_TRACE, "snap")).ret_code == ErrorCode.OK


async def record(h: Harness, url: str = "") -> ErrorCode:
    reply = await h.ask(Command.SNAPSHOT_RECORD, "snap", union=output_union(url=url, wait=True))
    return ErrorCode(reply.ret_code)


async def test_local_copies_go_on_from_the_last_file(
    daemon: Harness, tmp_path: pathlib.Path
) -> None:
    await snapshot_channel(daemon, tmp_path, 8192, 3)
    assert await record(daemon) == ErrorCode.OK
    assert await record(daemon) == ErrorCode.OK
    assert await record(daemon) == ErrorCode.OK
    # The fake consumer moves each copy on by one file and indexes it.
    assert link(daemon).snapshot_tracefiles == [
        ("c_0", 8192, 3, 0, False), ("c_1", 8192, 3, 0, False), ("metadata", 0, 0, 0, False),
        ("c_0", 8192, 3, 1, True), ("c_1", 8192, 3, 1, True), ("metadata", 0, 0, 0, False),
        ("c_0", 8192, 3, 2, True), ("c_1", 8192, 3, 2, True), ("metadata", 0, 0, 0, False),
    ]


async def test_relayd_copies_get_the_limits_and_leave_the_local_files(
    daemon: Harness, tmp_path: pathlib.Path
) -> None:
    await snapshot_channel(daemon, tmp_path, 8192, 3)
    assert await record(daemon, RELAYD_URL) == ErrorCode.OK
    assert await record(daemon) == ErrorCode.OK
    assert link(daemon).snapshot_tracefiles == [
        ("c_0", 8192, 3, 0, False), ("c_1", 8192, 3, 0, False), ("metadata", 0, 0, 0, False),
        # The relay daemon's files are its own: the local copy starts at file 0.
        ("c_0", 8192, 3, 0, False), ("c_1", 8192, 3, 0, False), ("metadata", 0, 0, 0, False),
    ]


async def test_size_without_count_is_refused_to_a_relayd(
    daemon: Harness, tmp_path: pathlib.Path
) -> None:
    await snapshot_channel(daemon, tmp_path, 8192, 0)
    assert await record(daemon, RELAYD_URL) == ErrorCode.NOT_SUPPORTED
    assert link(daemon).relayd_sessions == [] and link(daemon).snapshots == []
    assert await record(daemon) == ErrorCode.OK  # locally, the files number on
    assert [s[:3] for s in link(daemon).snapshot_tracefiles] == [
        ("c_0", 8192, 0), ("c_1", 8192, 0), ("metadata", 0, 0)]
    assert (await daemon.ask(Command.DESTROY_SESSION, "snap")).ret_code == ErrorCode.OK
