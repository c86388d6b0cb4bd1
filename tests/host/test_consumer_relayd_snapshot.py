"""Snapshots recorded to the stock lttng-relayd 2.13 (relayd_snapshot.py): each record
opens a snapshot session there whose one trace chunk is named "<output>-<date>-<n>",
sends what the overwrite-mode rings hold (the newest packets, ``max_packets`` of them when
asked) and closes it; babeltrace2 reads each snapshot folder alone."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import test_relayd_stock
import trio
from ctf_synth import data_packet, metadata_packet
from pylttng.consumerd.session import Registry, RequestError
from pylttng.protocol.consumer import (
    RelaydRotation,
    RotateSession,
    SnapshotStream,
    encode_request,
    parse_request,
)
from test_consumer_fakering import FakeKernel
from test_consumer_relayd_link import request
from test_consumer_relayd_rotation import read_alone
from test_relayd_stock import Relayd
from test_snapshot import SB, OverwriteRing

relayd = test_relayd_stock.relayd  # the stock lttng-relayd fixture

SESSION = 5


class SnapRing(OverwriteRing):
    """An overwrite ring of CTF packets (ctf_synth) numbered from 0, three ticks each,
    numbered ``first`` on; or a metadata ring holding the whole TSDL."""

    def __init__(self, n: int, written: int, *, cpu: int = 0, first: int = 0) -> None:
        super().__init__(n, written)
        self.cpu = cpu
        self.contents: dict[int, int] = {}
        self.numbers: dict[int, list[int]] = {}  # packet -> its ticks
        for i in range(max(0, written - n), written):
            numbers = [first + 3 * i + k for k in range(3)]
            packet = data_packet(cpu, i, numbers)
            slot = self._slot(self.base + i * SB)
            os.pwrite(self._fd, packet.ljust(SB, b"\0"), slot * SB)
            self.contents[slot] = len(packet)
            self.numbers[i] = numbers
        self.metadata = [metadata_packet()]

    def as_metadata(self) -> SnapRing:
        self.contents = {0: len(metadata_packet())}
        return self

    @property
    def inode(self) -> int:
        return os.fstat(self._fd).st_ino

    def subbuf_size(self) -> int:
        assert self.held is not None
        return self.contents[self._slot(self.held)]

    def close(self) -> None:
        os.close(self._fd)

    def ticks_of(self, packets: range) -> list[int]:
        return [n for i in packets for n in self.numbers[i]]


async def record(
    registry: Registry, relayd: Relayd, kernel: FakeKernel, name: str, chunk_id: int,
    rings: dict[str, tuple[SnapRing, int]], limits: tuple[int, int] = (0, 0),
) -> Path:
    """One snapshot record: its session on the relay daemon, every stream (the data ones
    with the trace file size and count ``limits``), the close."""
    req = dataclasses.replace(
        request(relayd.control_port, relayd.data_port, SESSION),
        snapshot=True, chunk_id=chunk_id, chunk_name=name,
    )
    reply = await registry.relayd_session(req)
    assert reply.ok, reply.error
    for file_name, (ring, max_packets) in rings.items():
        kernel.rings[ring.inode] = ring  # type: ignore[assignment]
        metadata = file_name == "metadata"
        size, count = (0, 0) if metadata else limits
        snap = SnapshotStream(SESSION, "", file_name, metadata, max_packets,
                              relay_path="kernel", tracefile_size=size, tracefile_count=count)
        done = await registry.snapshot_to_relayd(snap, os.dup(ring._fd))
        assert done.ok, done.error
        assert ring.held is None, "a sub-buffer was left held"
    await registry.close_session(SESSION)
    return relayd.output / str(reply.values["output_path"]) / name


async def test_two_snapshots_to_the_stock_relayd(relayd: Relayd) -> None:
    kernel = FakeKernel()
    async with trio.open_nursery() as nursery:
        registry = Registry(nursery, kernel)
        first = {
            "metadata": (SnapRing(1, 0).as_metadata(), 0),
            "chan_0": (SnapRing(4, 6, cpu=0), 0),  # packets 2-5 left; all of them
            "chan_1": (SnapRing(4, 3, cpu=1, first=1000), 2),  # 0-2 left; the newest 2
        }
        one = await record(registry, relayd, kernel, "snapshot-1-20261206-031500-0", 1, first)
        second = {
            "metadata": (SnapRing(1, 0).as_metadata(), 0),
            "chan_0": (SnapRing(4, 9, cpu=0, first=2000), 0),  # 5-8
            "chan_1": (SnapRing(4, 0, cpu=1), 0),  # nothing written
        }
        two = await record(registry, relayd, kernel, "snapshot-1-20261206-031501-1", 2, second)
    kernel.close()
    for folder in (one, two):
        assert folder.is_dir(), sorted(str(p) for p in relayd.output.rglob("*"))
        assert sorted(p.name for p in (folder / "kernel").iterdir()) == [
            "chan_0", "chan_1", "metadata"
        ]
    # Only the snapshots are in the session's folder: nothing written at its top.
    assert sorted(p.name for p in one.parent.iterdir()) == sorted([one.name, two.name])
    assert sorted(await read_alone(one)) == sorted(
        first["chan_0"][0].ticks_of(range(2, 6)) + first["chan_1"][0].ticks_of(range(1, 3))
    )
    assert sorted(await read_alone(two)) == sorted(second["chan_0"][0].ticks_of(range(5, 9)))
    # The whole packet, padding included, is in the file: the relay daemon wrote the zeros.
    assert (one / "kernel" / "chan_0").stat().st_size == 4 * SB


async def test_the_relayd_splits_a_snapshot_by_the_channel_limits(relayd: Relayd) -> None:
    """lttng-relayd splits what consumer_send_relayd_stream() announced with the channel's
    size and count: from file 0, round modulo the count, without an index (a snapshot
    session has none: main.c: session_streams_have_index())."""
    kernel = FakeKernel()
    async with trio.open_nursery() as nursery:
        registry = Registry(nursery, kernel)
        ring = SnapRing(8, 8, cpu=0)
        rings = {"metadata": (SnapRing(1, 0).as_metadata(), 0), "chan_0": (ring, 0)}
        folder = await record(registry, relayd, kernel, "snapshot-1-20261206-031500-0", 1,
                              rings, limits=(2 * SB, 3))
    kernel.close()
    kernel_dir = folder / "kernel"
    assert sorted(p.name for p in kernel_dir.iterdir()) == [
        "chan_0_0", "chan_0_1", "chan_0_2", "metadata"]
    # Two whole packets to a file; the fourth pair went round to file 0.
    assert [(kernel_dir / f"chan_0_{n}").stat().st_size for n in range(3)] == [2 * SB] * 3
    assert sorted(await read_alone(folder)) == sorted(ring.ticks_of(range(2, 8)))


async def test_a_size_without_a_count_is_not_sent(relayd: Relayd) -> None:
    """lttng-relayd 2.13 would die of SIGFPE at the first full file."""
    kernel = FakeKernel()
    ring = SnapRing(4, 2)
    kernel.rings[ring.inode] = ring  # type: ignore[assignment]
    async with trio.open_nursery() as nursery:
        registry = Registry(nursery, kernel)
        req = dataclasses.replace(
            request(relayd.control_port, relayd.data_port, SESSION), snapshot=True,
            chunk_id=1, chunk_name="s-1",
        )
        assert (await registry.relayd_session(req)).ok
        snap = SnapshotStream(SESSION, "", "chan_0", False, relay_path="kernel",
                              tracefile_size=SB)
        with pytest.raises(RequestError, match="without a trace file count is not supported"):
            await registry.snapshot_to_relayd(snap, os.dup(ring._fd))
        await registry.close_session(SESSION)
    kernel.close()
    assert relayd.proc.poll() is None  # never asked to split by a count of 0


async def test_snapshot_needs_a_snapshot_session(relayd: Relayd, tmp_path: Path) -> None:
    kernel = FakeKernel()
    ring = SnapRing(4, 2)
    kernel.rings[ring.inode] = ring  # type: ignore[assignment]
    async with trio.open_nursery() as nursery:
        registry = Registry(nursery, kernel)
        snap = SnapshotStream(SESSION, "", "chan_0", False, relay_path="kernel")
        with pytest.raises(RequestError, match="no snapshot session"):
            await registry.snapshot_to_relayd(snap, os.dup(ring._fd))
        # A streamed session is no snapshot session either.
        reply = await registry.relayd_session(
            request(relayd.control_port, relayd.data_port, SESSION)
        )
        assert reply.ok, reply.error
        with pytest.raises(RequestError, match="no snapshot session"):
            await registry.snapshot_to_relayd(snap, os.dup(ring._fd))
        await registry.close_session(SESSION)
        # And a snapshot session is neither streamed nor rotated.
        req = dataclasses.replace(
            request(relayd.control_port, relayd.data_port, SESSION), snapshot=True,
            chunk_name="s-1",
        )
        assert (await registry.relayd_session(req)).ok
        with pytest.raises(RequestError, match="a snapshot's"):
            await registry.rotate(RotateSession(SESSION, "", RelaydRotation(2, 1, 1)))
        await registry.close_session(SESSION)
    kernel.close()


def test_snapshot_request_to_a_relayd_round_trips() -> None:
    req = SnapshotStream(3, "", "chan_0", False, 4, relay_path="kernel")
    assert parse_request(encode_request(req)[4:]) == req
    bad = SnapshotStream(3, "/tmp/x", "chan_0", False, relay_path="kernel")
    with pytest.raises(Exception, match="has no trace_dir"):
        parse_request(encode_request(bad)[4:])
    with pytest.raises(Exception, match="trace_dir"):
        parse_request(encode_request(SnapshotStream(3, "", "chan_0", False))[4:])

