"""consumerd opens a streamed session on the stock lttng-relayd 2.13 (relayd_session):
connections, version, session and trace chunk; and reports, without hanging, a relay
daemon that does not listen or does not answer. Also: a stream meant for a relay daemon is
refused while its sink is not written, never drained to a local file instead."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import test_relayd_stock
import trio
from pylttng.consumerd import relayd_link
from pylttng.consumerd.relayd_link import OpenedSession, RelaydError, RelaydLink
from pylttng.consumerd.session import Registry, RequestError
from pylttng.protocol import relayd as r
from pylttng.protocol.consumer import AddStream, RelaydEndpoint, RelaydSession
from test_consumer_fakering import PAGE, FakeKernel, FakeRing, ctf_packet, page_align
from test_consumer_tracefiles import read_index
from test_relayd_stock import STREAM_PATH, U64_MAX, Relayd, free_port, recorded_ctf

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
    assert "no progress in 0.5 s" in reply.error


async def test_stream_for_a_relayd_without_one_is_refused_not_written_locally(
    tmp_path: Path,
) -> None:
    kernel = FakeKernel()
    ring = kernel.ring()
    try:
        async with trio.open_nursery() as nursery:
            registry = Registry(nursery, kernel)
            req = AddStream(3, str(tmp_path / "k"), "channel0_0", False, relay_path="kernel")
            with pytest.raises(RequestError, match="session 3 streams to no relayd"):
                await registry.add_stream(req, os.dup(ring.fd))
    finally:
        kernel.close()
    assert not (tmp_path / "k").exists()


async def open_link(relayd: Relayd, session_id: int = 3) -> tuple[RelaydLink, OpenedSession]:
    return await RelaydLink.open(request(relayd.control_port, relayd.data_port, session_id))


async def test_link_streams_a_trace_babeltrace2_reads(relayd: Relayd) -> None:
    """Metadata on the control connection, a packet on the data connection and its index,
    data pending until written, streams closed: the stock relay daemon's trace reads."""
    metadata, packet, index = recorded_ctf()
    link, opened = await open_link(relayd)
    meta = await link.add_stream("metadata", STREAM_PATH, 0)
    chan = await link.add_stream("c0_0", STREAM_PATH, 0)
    assert meta != chan
    await link.streams_sent()
    await link.send_metadata(meta, metadata.data, metadata.padding_size)
    header = r.DataHeader(chan, 0, packet.header.data_size, packet.header.padding_size)
    await link.send_packet(header, packet.data)
    await link.send_index(dataclasses.replace(index, relay_stream_id=chan, net_seq_num=0))
    with trio.fail_after(10):
        while await link.data_pending({chan: 0}, (meta,)):
            await trio.sleep(0.05)
    await link.close_stream(meta, U64_MAX)
    await link.close_stream(chan, 0)
    await link.aclose()

    trace = relayd.output / opened.output_path
    assert (trace / STREAM_PATH / "c0_0").stat().st_size == len(packet.data) + (
        packet.header.padding_size
    )
    if shutil.which("babeltrace2") is None:
        pytest.skip("babeltrace2 is not installed")
    with trio.fail_after(60):
        result = await trio.run_process(
            ["babeltrace2", str(trace)], capture_stdout=True, capture_stderr=True, check=False
        )
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    assert result.stdout.count(b"lttng_ust_tracef:event") == 3


async def test_unknown_stream_breaks_the_link_with_a_clear_error(relayd: Relayd) -> None:
    link, _ = await open_link(relayd)
    with pytest.raises(RelaydError, match="data pending on stream 4242"):
        await link.data_pending({4242: 0})
    assert link.broken is not None
    # Broken for good: no command is sent on a connection the relay daemon closed.
    with pytest.raises(RelaydError):
        await link.streams_sent()
    await link.aclose()
    # Another session on the same relay daemon is unaffected.
    other, _ = await open_link(relayd, session_id=4)
    await other.add_stream("c0_0", "kernel", 0)
    await other.aclose()


async def test_killed_relayd_fails_fast(relayd: Relayd) -> None:
    link, _ = await open_link(relayd)
    chan = await link.add_stream("c0_0", "kernel", 0)
    relayd.proc.kill()
    relayd.proc.wait()
    with trio.fail_after(5), pytest.raises(RelaydError):
        await link.data_pending({chan: 0})
    assert link.broken is not None
    await link.aclose()



async def test_nothing_queued_after_a_break_is_waited_for(relayd: Relayd) -> None:
    """A live timer's beacon queued once the link broke (its tick was due while a packet
    failed to go out) is dropped: waiting for the queue to drain, as closing the session
    does, ends at once instead of waiting for a control task that has ended."""
    link, _ = await open_link(relayd)
    chan = await link.add_stream("c0_0", "kernel", 0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(link.run_control)
        link.break_link("relayd data connection: [Errno 32] Broken pipe")
    link.queue_index(r.SendIndex(chan, U64_MAX, 0, 0, 0, 1, 0, 0, 0, 0))
    with trio.fail_after(5), pytest.raises(RelaydError, match="Broken pipe"):
        await link.drained()
    await link.aclose()


# --- streams drained to the relay daemon (relayd_sink.py), from fake ring buffers ----------


@asynccontextmanager
async def fake_registry() -> AsyncIterator[tuple[Registry, FakeKernel]]:
    """A consumer registry over a fake kernel, its tasks in a nursery of its own, for the
    test's body; the fake kernel closed after."""
    kernel = FakeKernel()
    try:
        async with trio.open_nursery() as nursery:
            yield Registry(nursery, kernel), kernel
    finally:
        kernel.close()


async def stream_session(
    registry: Registry, kernel: FakeKernel, relayd: Relayd, session_id: int = 3,
    subbuf_size: int = 4 * PAGE,
) -> tuple[FakeRing, FakeRing, str]:
    reply = await registry.relayd_session(
        request(relayd.control_port, relayd.data_port, session_id)
    )
    assert reply.ok, reply.error
    rings = []
    # c0_1 stays idle (a CPU that traced nothing): it must not keep data pending.
    for name, metadata in (("metadata", True), ("c0_0", False), ("c0_1", False)):
        ring = kernel.ring(n_subbufs=4, subbuf_size=subbuf_size)
        rings.append(ring)
        req = AddStream(session_id, "/nowhere", name, metadata, relay_path=STREAM_PATH)
        await registry.add_stream(req, os.dup(ring.fd))
    assert not Path("/nowhere").exists()
    return rings[0], rings[1], str(reply.values["output_path"])


async def test_streams_reach_the_stock_relayd_and_babeltrace2_reads_them(
    relayd: Relayd,
) -> None:
    metadata, packet, index = recorded_ctf()
    async with fake_registry() as (registry, kernel):
        meta_ring, data_ring, out = await stream_session(registry, kernel, relayd)
        meta_ring.produce(metadata.data)
        data_ring.produce(packet.data)
        with trio.fail_after(10):
            while registry.data_pending(3) or await registry.relayd_data_pending(3):
                await trio.sleep(0.02)
        assert data_ring.puts == 1 and meta_ring.puts == 1
        await registry.close_session(3)
    folder = relayd.output / out / STREAM_PATH
    padding = page_align(len(packet.data)) - len(packet.data)
    assert (folder / "c0_0").read_bytes() == packet.data + b"\0" * padding
    meta_padding = page_align(len(metadata.data)) - len(metadata.data)
    assert (folder / "metadata").read_bytes() == metadata.data + b"\0" * meta_padding
    # The index entry was read from the packet's own header, as the stock consumer does.
    (entry,) = read_index(folder / "index" / "c0_0.idx")
    assert entry[1:] == (
        index.packet_size,
        index.content_size,
        index.timestamp_begin,
        index.timestamp_end,
        index.events_discarded,
        index.stream_id,
        index.stream_instance_id,
        index.packet_seq_num,
    )
    with trio.fail_after(60):
        result = await trio.run_process(
            ["babeltrace2", str(relayd.output / out)],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    assert result.stdout.count(b"lttng_ust_tracef:event") == 3


async def test_killed_relayd_breaks_its_session_only(relayd: Relayd, tmp_path: Path) -> None:
    _, packet, _ = recorded_ctf()
    async with fake_registry() as (registry, kernel):
        _, data_ring, _ = await stream_session(registry, kernel, relayd)
        local = kernel.ring(n_subbufs=4, subbuf_size=4 * PAGE)
        await registry.add_stream(
            AddStream(9, str(tmp_path / "local"), "c0_0", False), os.dup(local.fd)
        )
        relayd.proc.kill()
        relayd.proc.wait()
        with trio.fail_after(5):
            # The data socket takes a packet or two before it notices the reset.
            while not any("relayd" in e for e in registry_errors(registry, 3)):
                data_ring.produce(packet.data)
                await trio.sleep(0.05)
            with pytest.raises(RequestError, match="relayd"):
                registry.data_pending(3)
            with pytest.raises(RequestError, match="relayd"):
                await registry.close_session(3)
        # The local session goes on.
        local.produce(ctf_packet(0, 5000))
        with trio.fail_after(5):
            while registry.consumed_size(9) == 0:
                await trio.sleep(0.01)
        await registry.close_session(9)


def registry_errors(registry: Registry, session_id: int) -> list[str]:
    try:
        registry.data_pending(session_id)
    except RequestError as exc:
        return [str(exc)]
    return []


async def test_close_waits_for_a_busy_data_connection(relayd: Relayd) -> None:
    """A packet that cannot go yet (the data connection busy) when the session closes is
    still sent once it can, not dropped."""
    metadata, packet, _ = recorded_ctf()
    kernel = FakeKernel()
    try:
        async with trio.open_nursery() as nursery:
            registry = Registry(nursery, kernel)
            meta_ring, data_ring, out = await stream_session(registry, kernel, relayd)
            link = registry_link(registry, 3)
            link.data_owner = busy = object()  # another sender holds the connection
            meta_ring.produce(metadata.data)
            data_ring.produce(packet.data)

            async def release() -> None:
                await trio.sleep(0.3)
                assert link.data_owner is busy
                link.data_owner = None

            nursery.start_soon(release)
            with trio.fail_after(10):
                await registry.close_session(3)
    finally:
        kernel.close()
    assert data_ring.puts == 1
    folder = relayd.output / out / STREAM_PATH
    with trio.fail_after(10):
        while (folder / "c0_0").stat().st_size < len(packet.data):
            await trio.sleep(0.05)
    assert (folder / "c0_0").read_bytes()[: len(packet.data)] == packet.data


def registry_link(registry: Registry, session_id: int) -> RelaydLink:
    link = registry._sessions[session_id].relayd
    assert link is not None
    return link
