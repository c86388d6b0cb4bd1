"""Rotation of a session streamed to the stock lttng-relayd 2.13 (relayd_rotation.py), from
fake rings numbered as pylttng.ko numbers its packets: the relay daemon gets the next
chunk, each stream's first packet of it and the close of the old one, and renames every
closed chunk to archives/<begin>-<end>-<index>, as it does for lttng-consumerd. Each
archive is read alone by babeltrace2; every event is in exactly one of them, in the one
its packet was produced for."""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import count
from pathlib import Path

import pytest
import test_relayd_stock
import trio
from ctf_synth import data_packet, metadata_packet, ticks
from pylttng.consumerd.session import Registry, RequestError
from pylttng.protocol.consumer import (
    AddStream,
    RelaydRotation,
    RotateSession,
    encode_request,
    parse_request,
)
from test_consumer_fakering import PAGE, FakeKernel
from test_consumer_relayd_link import fake_registry, registry_link, request
from test_consumer_rotation import PositionedRing
from test_relayd_stock import Relayd

relayd = test_relayd_stock.relayd  # the stock lttng-relayd fixture

SESSION = 3
ARCHIVE = re.compile(r"\d{8}T\d{6}[+-]\d{4}-\d{8}T\d{6}[+-]\d{4}-(\d+)")


class SeqRing(PositionedRing):
    """Packets numbered one per sub-buffer, empty ones included, as pylttng.ko numbers
    them (packet_seq_num = position / sub-buffer size); a metadata cache dump hands out
    the whole metadata again."""

    def __init__(self, cpu: int) -> None:
        super().__init__(n_subbufs=16, subbuf_size=4 * PAGE)
        self.cpu = cpu

    def ticks(self, numbers: list[int]) -> None:
        self.produce(data_packet(self.cpu, self.stored, numbers))

    def flush_empty(self) -> None:
        self.empties += 1
        self.ticks([])

    def metadata_cache_dump(self) -> None:
        self.dumps += 1
        self.produce(metadata_packet())


class Streamed:
    """A streamed session of a metadata stream and two CPUs' streams."""

    def __init__(self, registry: Registry, kernel: FakeKernel) -> None:
        self.registry = registry
        self.kernel = kernel
        self.meta = SeqRing(0)
        self.cpus = [SeqRing(0), SeqRing(1)]
        self.numbers = count()
        self.output = ""

    async def open(self, relayd: Relayd) -> None:
        reply = await self.registry.relayd_session(
            request(relayd.control_port, relayd.data_port, SESSION)
        )
        assert reply.ok, reply.error
        self.output = str(reply.values["output_path"])
        for name, ring in (("metadata", self.meta), ("chan_0", self.cpus[0]),
                           ("chan_1", self.cpus[1])):
            self.kernel.rings[ring.inode] = ring
            req = AddStream(SESSION, "/nowhere", name, ring is self.meta, relay_path="kernel")
            await self.registry.add_stream(req, os.dup(ring.fd))
        self.meta.produce(metadata_packet())

    def burst(self, packets: int) -> list[int]:
        """``packets`` packets of three ticks in each CPU's stream; their numbers."""
        made = []
        for ring in self.cpus:
            for _ in range(packets):
                numbers = [next(self.numbers) for _ in range(3)]
                ring.ticks(numbers)
                made += numbers
        return made

    async def sent(self) -> None:
        with trio.fail_after(10):
            while self.registry.data_pending(SESSION) or await self.registry.relayd_data_pending(
                SESSION
            ):
                await trio.sleep(0.02)

    async def rotate(self, next_chunk: int | None) -> str:
        now = int(time.time())
        reply = await self.registry.rotate(
            RotateSession(SESSION, "", RelaydRotation(next_chunk, now, now))
        )
        assert reply.ok, reply.error
        return str(reply.values["archive_path"])

    async def rotated(self) -> None:
        with trio.fail_after(10):
            while await self.registry.any_rotation_pending(SESSION):
                await trio.sleep(0.05)


@asynccontextmanager
async def streamed_session(relayd: Relayd) -> AsyncIterator[Streamed]:
    """A consumer registry with one streamed session open on the relay daemon, for the
    test's body; the fake kernel closed after."""
    async with fake_registry() as (registry, kernel):
        s = Streamed(registry, kernel)
        await s.open(relayd)
        yield s


async def read_alone(folder: Path) -> list[int]:
    with trio.fail_after(60):
        result = await trio.run_process(
            ["babeltrace2", str(folder)], capture_stdout=True, capture_stderr=True, check=False
        )
    assert result.returncode == 0 and result.stderr == b"", (folder, result.stderr)
    return ticks(result.stdout)


async def test_two_rotations_leave_archives_babeltrace2_reads(relayd: Relayd) -> None:
    chunks: list[list[int]] = []
    paths = []
    async with streamed_session(relayd) as s:
        registry = s.registry
        first = s.burst(2)
        await s.sent()
        # Packets still in the rings when the rotation is asked belong to the chunk
        # being archived: hold them back (the data connection busy) across it.
        link = registry_link(registry, SESSION)
        link.data_owner = busy = object()
        first += s.burst(2)
        paths.append(await s.rotate(1))
        second = s.burst(1)
        assert await registry.any_rotation_pending(SESSION)
        assert link.data_owner is busy
        link.data_owner = None
        await s.rotated()
        second += s.burst(2)
        await s.sent()
        paths.append(await s.rotate(2))
        third = s.burst(3)
        await s.rotated()
        await s.sent()
        # The last rotation, as lttng destroy of a rotated session does: to no chunk.
        paths.append(await s.rotate(None))
        await s.rotated()
        assert s.meta.dumps == 2  # once per new chunk: its metadata file is whole
        await registry.close_session(SESSION)
        chunks = [first, second, third]
    session = relayd.output / s.output
    archives = sorted((session / "archives").iterdir(), key=lambda p: int(ARCHIVE.fullmatch(
        p.name).group(1)))  # type: ignore[union-attr]
    assert [ARCHIVE.fullmatch(p.name) is not None for p in archives] == [True] * 3
    assert [int(ARCHIVE.fullmatch(p.name).group(1)) for p in archives] == [0, 1, 2]  # type: ignore[union-attr]
    # The close replies name the archives the relay daemon made; for the session's first
    # chunk, lttng-relayd 2.13 answers with the session folder it was created in.
    assert [relayd.output / p for p in paths] == [session, *archives[1:]]
    # Nothing but the archives is left in the session folder.
    assert [p.name for p in session.iterdir()] == ["archives"]
    for archive, expected in zip(archives, chunks, strict=True):
        kernel_dir = archive / "kernel"
        assert sorted(p.name for p in kernel_dir.iterdir()) == [
            "chan_0", "chan_1", "index", "metadata"
        ]
        got = await read_alone(archive)
        assert sorted(got) == sorted(expected), archive.name


async def test_rotation_request_must_match_the_session(relayd: Relayd, tmp_path: Path) -> None:
    async with streamed_session(relayd) as s:
        registry = s.registry
        with pytest.raises(RequestError, match="streams to a relay daemon"):
            await registry.rotate(RotateSession(SESSION, str(tmp_path / "chunk1")))
        with pytest.raises(RequestError, match="no session 99"):
            await registry.rotate(RotateSession(99, "", RelaydRotation(1, 0, 0)))
        # A second rotation while the first still archives its chunk is refused.
        link = registry_link(registry, SESSION)
        s.burst(1)
        link.data_owner = object()
        await s.rotate(1)
        with pytest.raises(RequestError, match="still being archived"):
            await s.rotate(2)
        link.data_owner = None
        await s.rotated()
        await registry.close_session(SESSION)


def test_relayd_rotation_round_trips_and_is_checked() -> None:
    req = RotateSession(4, "", RelaydRotation(None, 10, 11, "delete"))
    assert parse_request(encode_request(req)[4:]) == req
    req = RotateSession(4, "", RelaydRotation(7, 10, 11))
    assert parse_request(encode_request(req)[4:]) == req
    bad = RotateSession(4, "/x", RelaydRotation(7, 10, 11))
    with pytest.raises(Exception, match="no trace_dir"):
        parse_request(encode_request(bad)[4:])


async def test_start_after_a_rotation_while_stopped(relayd: Relayd) -> None:
    """A rotation to no chunk (stopped), then from none to the next one (the start that
    follows): the relay daemon gets no packet while the streams are in no chunk, and the
    three archives hold every event once."""
    async with streamed_session(relayd) as s:
        first = s.burst(2)
        await s.sent()
        assert await s.rotate(1) != ""
        await s.rotated()
        second = s.burst(1)
        await s.sent()
        await s.rotate(None)  # stopped
        await s.rotated()
        assert await s.rotate(2) == ""  # started again: no chunk to archive
        third = s.burst(2)
        await s.sent()
        await s.rotate(None)
        await s.rotated()
        await s.registry.close_session(SESSION)
    archives = sorted((relayd.output / s.output / "archives").iterdir(),
                      key=lambda p: p.name.rsplit("-", 1)[1])
    assert [p.name.rsplit("-", 1)[1] for p in archives] == ["0", "1", "2"]
    for archive, expected in zip(archives, (first, second, third), strict=True):
        assert sorted(await read_alone(archive)) == sorted(expected), archive.name
