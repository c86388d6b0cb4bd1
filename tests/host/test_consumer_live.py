"""A live session from fake ring buffers to the stock lttng-relayd, read while it runs by
babeltrace2's lttng-live source: the consumerd's live timer (consumerd/live_timer.py)
flushes each stream every period so events reach the viewer within it, opens a first
packet in an idle stream and then sends its beacons (without them babeltrace2 waits for
the idle stream for ever), and live metadata goes out only once coherent. Closing the
session ends the viewer cleanly."""

from __future__ import annotations

import dataclasses
import os
import shutil
import struct
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import test_relayd_stock
import trio
from ctf_synth import metadata_packet, packet, tsdl
from pylttng.consumerd import live_timer
from pylttng.consumerd.ringbuffer import Next
from pylttng.consumerd.session import Registry
from pylttng.protocol import relayd as r
from pylttng.protocol.consumer import AddStream
from test_consumer_fakering import PAGE, FakeKernel, FakeRing, page_align
from test_consumer_relayd_link import registry_link, request
from test_relayd_captures import of_type, scenario
from test_relayd_stock import Relayd

relayd = test_relayd_stock.relayd  # the stock lttng-relayd fixture

pytestmark = [
    test_relayd_stock.pytestmark,
    pytest.mark.skipif(shutil.which("babeltrace2") is None, reason="needs babeltrace2"),
]

LIVE_TIMER_US = 500_000
SESSION = "live"
HOST = "pylttng-host"
TRACE_UUID = uuid.UUID("6a1f07e3-5a1c-4e39-9d6f-1b1c2f3e4d5a")
CLOCK_OFFSET_S = int(time.time() - time.monotonic())

# A small CTF 1.8 trace laid out as pylttng.ko lays out its packets (ctf_synth.py), on
# the host's monotonic clock so that a live viewer shows it as it comes.
METADATA = tsdl(
    str(TRACE_UUID),
    env=f'hostname = "{HOST}"; domain = "kernel"; tracer_name = "lttng-modules"; '
    "tracer_major = 2; tracer_minor = 13;",
    clock_offset_s=CLOCK_OFFSET_S,
    absolute=False,
    event="live_event",
    field_bits=32,
).encode()
EVENT = struct.Struct("<IQI")


def ctf_packet(seq: int, cpu: int, begin: int, end: int, values: list[int]) -> bytes:
    body = b"".join(EVENT.pack(0, begin, n) for n in values)
    return packet(TRACE_UUID.bytes, cpu, seq, begin, end, body)


class LiveRing(FakeRing):
    """FakeRing with what the live timer uses: the tracer's clock, the stream class id,
    a snapshot of what is left, an empty-packet flush; and metadata coherence."""

    def __init__(self, cpu: int = 0) -> None:
        super().__init__(n_subbufs=8, subbuf_size=4 * PAGE)
        self.cpu = cpu
        self.seq = 0  # packet_seq_num of the next packet
        self.incoherent: list[bool] = []  # per metadata sub-buffer produced: not coherent
        self.empty_flushes = 0

    def trace(self, values: list[int]) -> None:
        """Events written now into the packet being filled (ready after a flush)."""
        now = time.monotonic_ns()
        self.produce_partial(ctf_packet(self.seq, self.cpu, now, now, values))
        self.seq += 1

    def current_timestamp(self) -> int:
        return time.monotonic_ns()

    def stream_id(self) -> int:
        return 0

    def snapshot(self) -> bool:
        return bool(self._ready) or self._held is not None

    def flush_empty(self) -> None:
        self.empty_flushes += 1
        if not self._partial:
            now = time.monotonic_ns()
            self._partial = ctf_packet(self.seq, self.cpu, now, now, [])
            self.seq += 1
        self.flush()

    def get_next_subbuf_metadata_check(self) -> tuple[Next, bool]:
        got = self.get_next_subbuf()
        if got is not Next.OK:
            return got, False
        return got, not (self.incoherent.pop(0) if self.incoherent else False)


class Viewer:
    """babeltrace2 reading the session live; its lines with when each came."""

    def __init__(self, proc: trio.Process) -> None:
        self.proc = proc
        self.lines: list[tuple[float, str]] = []
        self.stderr = b""

    async def read_stdout(self) -> None:
        assert self.proc.stdout is not None
        pending = b""
        while chunk := await self.proc.stdout.receive_some(65536):
            pending += chunk
            *done, pending = pending.split(b"\n")
            now = time.monotonic()
            self.lines += [(now, line.decode()) for line in done]

    async def read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := await self.proc.stderr.receive_some(65536):
            self.stderr += chunk

    async def wait_for(self, text: str, timeout: float) -> float:
        """When the first line holding ``text`` came."""
        with trio.fail_after(timeout):
            while True:
                for at, line in self.lines:
                    if text in line:
                        return at
                await trio.sleep(0.02)


async def live_session(
    registry: Registry, kernel: FakeKernel, relayd: Relayd, limits: tuple[int, int] = (0, 0)
) -> tuple[LiveRing, list[LiveRing], str]:
    """The session and its streams, the data streams with trace file ``limits`` (size,
    count)."""
    req = dataclasses.replace(
        request(relayd.control_port, relayd.data_port),
        session_name=SESSION,
        live_timer_us=LIVE_TIMER_US,
    )
    reply = await registry.relayd_session(req)
    assert reply.ok, reply.error
    rings = []
    for name, metadata, cpu in (("metadata", True, 0), ("c0_0", False, 0), ("c0_1", False, 1)):
        ring = LiveRing(cpu)
        kernel.rings[ring.inode] = ring
        rings.append(ring)
        size, count = (0, 0) if metadata else limits
        req_stream = AddStream(3, "/nowhere", name, metadata, tracefile_size=size,
                               tracefile_count=count, relay_path="kernel")
        await registry.add_stream(req_stream, os.dup(ring.fd))
    return rings[0], rings[1:], str(reply.values["output_path"])


async def wait_metadata(folder: Path, size: int) -> None:
    with trio.fail_after(10):
        while not (folder / "metadata").exists() or (folder / "metadata").stat().st_size < size:
            await trio.sleep(0.05)


# "split": one packet per file and two files per stream, so that the relay daemon goes
# round its files while the viewer reads them (tracefile-array.c).
LIMITS = {"whole": (0, 0), "split": (PAGE, 2)}


@pytest.mark.parametrize("limits", LIMITS)
async def test_babeltrace2_reads_a_live_session_while_it_runs(relayd: Relayd,
                                                              limits: str) -> None:
    kernel = FakeKernel()
    period = LIVE_TIMER_US / 1e6
    try:
        async with trio.open_nursery() as nursery:
            registry = Registry(nursery, kernel)
            meta, (busy, idle), out = await live_session(registry, kernel, relayd,
                                                         LIMITS[limits])
            folder = relayd.output / out / "kernel"
            # Half the metadata, cut inside a declaration: held back, never sent alone.
            cut = METADATA.index(b"packet.context")
            meta.incoherent = [True]
            first = metadata_packet(METADATA[:cut], TRACE_UUID.bytes)
            second = metadata_packet(METADATA[cut:], TRACE_UUID.bytes)
            meta.produce(first)
            await trio.sleep(3 * period)
            assert meta.puts == 1
            assert not (folder / "metadata").exists() or (folder / "metadata").stat().st_size == 0
            meta.produce(second)
            # Both packets as one: the first with its padding (its packet_size says so).
            sent = first.ljust(page_align(len(first)), b"\xee") + second
            await wait_metadata(folder, len(sent))
            assert (folder / "metadata").read_bytes()[: len(sent)] == sent

            url = f"net://127.0.0.1:{relayd.live_port}/host/{HOST}/{SESSION}"
            proc = await trio.lowlevel.open_process(
                ["stdbuf", "-oL", "babeltrace2", "--input-format=lttng-live", url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            viewer = Viewer(proc)
            nursery.start_soon(viewer.read_stdout)
            nursery.start_soon(viewer.read_stderr)
            try:
                for n in range(3):
                    await trio.sleep(2 * period)  # the viewer waits, the timer beacons
                    traced = time.monotonic()
                    busy.trace([1000 + n, 2000 + n])
                    seen = await viewer.wait_for(f"n = {2000 + n} }}", 20)
                    # Within the live period, and one second for the relayd and viewer.
                    assert seen - traced < period + 1.0, (n, seen - traced)
                # The idle stream: one empty packet, then beacons only.
                assert idle.empty_flushes == 1 and idle.puts == 1
                assert busy.puts == 4  # its empty first packet and three with events
                with trio.fail_after(10):
                    await registry.close_session(3)
                # The viewer sees the session end and exits on its own.
                with trio.fail_after(20):
                    await proc.wait()
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
    finally:
        kernel.close()
    assert proc.returncode == 0, viewer.stderr.decode()
    events = [line for _, line in viewer.lines if "live_event" in line]
    assert len(events) == 6, viewer.lines
    assert viewer.stderr == b"", viewer.stderr.decode()
    busy_files = sorted(p.name for p in folder.glob("c0_0*"))
    assert busy_files == (["c0_0_0", "c0_0_1"] if limits == "split" else ["c0_0"]), busy_files


def recorded_beacons() -> list[r.SendIndex]:
    exchange, _ = scenario("live")
    found = [q for _, q in of_type(exchange, r.SendIndex)]
    return [q for q in found if isinstance(q, r.SendIndex) and q.packet_size == 0]


async def test_beacon_is_sent_only_for_a_stream_with_nothing_left(relayd: Relayd) -> None:
    """One tick by hand: a stream with a packet left to send gets flushed and no beacon;
    once drained, a beacon with the tracer's clock and the last packet's net_seq_num."""
    kernel = FakeKernel()
    try:
        async with trio.open_nursery() as nursery:
            registry = Registry(nursery, kernel)
            _, (busy, _), _ = await live_session(registry, kernel, relayd)
            link = registry_link(registry, 3)
            stream = next(s for s in registry._sessions[3].streams if s.reader is busy)
            sent: list[r.SendIndex] = []
            link.queue_index = sent.append  # type: ignore[method-assign]
            live_timer.flush_index(stream)  # first tick: an empty packet, no beacon
            assert busy.empty_flushes == 1 and sent == []
            with trio.fail_after(5):
                while busy.puts < 1:
                    await trio.sleep(0.01)
            busy.trace([1])
            before = time.monotonic_ns()
            live_timer.flush_index(stream)  # made the packet ready: no beacon yet
            assert busy.flushes == 2 and len(sent) == 1  # only the empty packet's index
            with trio.fail_after(5):
                while busy.puts < 2:
                    await trio.sleep(0.01)
            live_timer.flush_index(stream)
            beacon = sent[-1]
            assert stream.relay is not None
            assert beacon.packet_size == 0
            assert beacon.net_seq_num == 1 == stream.relay.last_seq
            assert beacon.timestamp_end >= before
            # Shaped as lttng-consumerd 2.13's beacons (recorded live session): all but
            # the handle, net_seq_num, timestamp_end and stream class id are zero.
            stock = next(q for q in recorded_beacons())
            keep = {"relay_stream_id": 0, "net_seq_num": 0, "timestamp_end": 0, "stream_id": 0}
            assert dataclasses.replace(beacon, **keep) == dataclasses.replace(stock, **keep)
            await registry.close_session(3)
    finally:
        kernel.close()
