"""--tracefile-size/--tracefile-count of a session streamed to the stock lttng-relayd 2.13.

The limits travel in RELAYD_ADD_STREAM (struct lttcomm_relayd_add_stream_2_11:
tracefile_size, tracefile_count) and the relay daemon splits the stream's files itself,
at packet boundaries, from each data header's data_size (stream.c: stream_init_packet()),
numbering them ``<channel>_<cpu>_<n>`` with ``index/<same name>.idx`` beside them. Here:
the bytes pylttng sends are the stock lttng-consumerd's; the files the stock relay daemon
writes from pylttng-consumerd's packets are those pylttng-consumerd writes itself for a
local session with the same limits; and a size without a count, which kills lttng-relayd
2.13, is refused.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import time
from pathlib import Path

import pytest
import test_relayd_stock
import trio
from ctf_synth import data_packet, metadata_packet, ticks
from pylttng.consumerd.session import Registry, RequestError
from pylttng.protocol import relayd as r
from pylttng.protocol.consumer import AddStream
from relayd_corpus import load
from test_consumer_fakering import PAGE, FakeKernel, FakeRing
from test_consumer_relayd_link import request
from test_consumer_tracefiles import read_index
from test_relayd_stock import STREAM_PATH, TIMEOUT_S, Relayd, ok, open_session

relayd = test_relayd_stock.relayd  # the stock lttng-relayd fixture
pytestmark = test_relayd_stock.pytestmark

SESSION = 3
# struct lttcomm_relayd_hdr: circuit_id, data_size, cmd, cmd_version (big-endian).
COMMAND_HEADER = struct.Struct(">QQII")
# struct lttcomm_relayd_add_stream_2_11 before the two names.
ADD_STREAM_2_11 = struct.Struct(">IIQQQ")
SIZE = 2 * PAGE  # two one-page packets per file
COUNT = 3
PACKETS = 10  # per stream: the files go round (packets 0-3 are overwritten)


def add_stream_frames(raw: bytes) -> list[bytes]:
    """The RELAYD_ADD_STREAM payloads of a control connection's byte stream."""
    frames, off = [], 0
    while off < len(raw):
        _, size, cmd, _ = COMMAND_HEADER.unpack_from(raw, off)
        payload = raw[off + COMMAND_HEADER.size : off + COMMAND_HEADER.size + size]
        if cmd == r.Command.ADD_STREAM:
            frames.append(payload)
        off += COMMAND_HEADER.size + size
    return frames


def limits(payload: bytes) -> tuple[str, int, int]:
    """Channel name, tracefile_size and tracefile_count of an ADD_STREAM payload, read at
    the offsets of the 2.11 struct."""
    name_len, _, size, count, _ = ADD_STREAM_2_11.unpack_from(payload)
    name = payload[ADD_STREAM_2_11.size : ADD_STREAM_2_11.size + name_len - 1].decode()
    return name, size, count


def test_add_stream_bytes_are_the_stock_consumerds() -> None:
    """The stock lttng-consumerd's ADD_STREAM of a channel with --tracefile-size=8192
    --tracefile-count=3 (the recorded live scenario) is the very bytes pylttng encodes for
    the same stream; the metadata stream carries no limit."""
    (control,) = [c for c in load() if c.scenario == "live" and c.kind == "control"]
    stock = add_stream_frames(control.to_relayd)
    assert sorted(limits(p) for p in stock) == [
        ("c0_0", 8192, 3), ("c0_1", 8192, 3), ("metadata", 0, 0),
    ]
    reader = r.RequestReader()
    for payload in stock:
        reader.receive_data(COMMAND_HEADER.pack(0, len(payload), r.Command.ADD_STREAM, 0))
        reader.receive_data(payload)
        q = reader.next_event()
        assert isinstance(q, r.AddStream), q
        mine = r.AddStream(q.channel_name, q.pathname, q.trace_chunk_id,
                           q.tracefile_size, q.tracefile_count)
        assert r.encode_request(mine)[COMMAND_HEADER.size :] == payload


class ControlRecorder:
    """A TCP relay in front of the relay daemon's control port that keeps what the
    consumer sends."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.sent = bytearray()
        self.port = 0

    async def start(self, nursery: trio.Nursery) -> None:
        (listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listener.socket.getsockname()[1]
        nursery.start_soon(trio.serve_listeners, self._relay, [listener])

    async def _relay(self, client: trio.SocketStream) -> None:
        server = await trio.open_tcp_stream("127.0.0.1", self.target)

        async def pump(src: trio.SocketStream, dst: trio.SocketStream, keep: bool) -> None:
            try:
                while data := await src.receive_some(65536):
                    if keep:
                        self.sent += data
                    await dst.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            await trio.aclose_forcefully(dst)

        async with client, server, trio.open_nursery() as n:
            n.start_soon(pump, client, server, True)
            n.start_soon(pump, server, client, False)


class SeqRing(FakeRing):
    """A CPU's ring handing out ctf_synth packets numbered from 0, three ticks each."""

    def __init__(self, cpu: int) -> None:
        super().__init__(n_subbufs=PACKETS + 2, subbuf_size=4 * PAGE)
        self.cpu = cpu
        self.stored = 0

    def burst(self, first: int) -> list[int]:
        numbers = []
        for _ in range(PACKETS):
            made = [first + 3 * self.stored + k for k in range(3)]
            self.produce(data_packet(self.cpu, self.stored, made))
            self.stored += 1
            numbers.append(made)
        return [n for ns in numbers[4:] for n in ns]  # what the last 3 files keep


async def drain(registry: Registry, streamed: bool) -> None:
    with trio.fail_after(10):
        while registry.data_pending(SESSION) or (
            streamed and await registry.relayd_data_pending(SESSION)
        ):
            await trio.sleep(0.02)


async def run_session(registry: Registry, kernel: FakeKernel, trace_dir: str,
                      relay_path: str) -> list[int]:
    """A metadata stream and two CPUs' streams with the limits, PACKETS packets each;
    the ticks the kept files hold."""
    meta = kernel.ring(n_subbufs=2, subbuf_size=4 * PAGE)
    cpus = [SeqRing(0), SeqRing(1)]
    for ring in cpus:
        kernel.rings[ring.inode] = ring
    streams = (("metadata", meta), ("chan_0", cpus[0]), ("chan_1", cpus[1]))
    for name, ring in streams:
        metadata = ring is meta
        req = AddStream(SESSION, trace_dir, name, metadata,
                        tracefile_size=0 if metadata else SIZE,
                        tracefile_count=0 if metadata else COUNT, relay_path=relay_path)
        await registry.add_stream(req, os.dup(ring.fd))
    meta.produce(metadata_packet())
    kept = cpus[0].burst(0) + cpus[1].burst(1000)
    await drain(registry, bool(relay_path))
    await registry.close_session(SESSION)
    return kept


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


async def test_relayd_splits_the_files_as_the_local_consumer_does(
    relayd: Relayd, tmp_path: Path
) -> None:
    kernel = FakeKernel()
    try:
        async with trio.open_nursery() as nursery:
            recorder = ControlRecorder(relayd.control_port)
            await recorder.start(nursery)
            registry = Registry(nursery, kernel)
            reply = await registry.relayd_session(request(recorder.port, relayd.data_port))
            assert reply.ok, reply.error
            kept = await run_session(registry, kernel, "/nowhere", "kernel")
            local = tmp_path / "local"
            assert await run_session(registry, kernel, str(local), "") == kept
            nursery.cancel_scope.cancel()
    finally:
        kernel.close()

    # The limits went out in ADD_STREAM, at the offsets of the 2.11 struct.
    sent = sorted(limits(p) for p in add_stream_frames(bytes(recorder.sent)))
    assert sent == [("chan_0", SIZE, COUNT), ("chan_1", SIZE, COUNT), ("metadata", 0, 0)]

    streamed = relayd.output / str(reply.values["output_path"]) / "kernel"
    names = [f"chan_{cpu}_{n}" for cpu in (0, 1) for n in range(COUNT)]
    expected = sorted(["index", "metadata", *names, *(f"index/{n}.idx" for n in names)])
    assert listing(streamed) == listing(local) == expected
    for name in names:
        # The files went round: file 0 holds packets 6-7, file 1 8-9, file 2 4-5.
        entries = read_index(streamed / "index" / f"{name}.idx")
        seqs = [e[8] for e in entries]
        assert seqs == {0: [6, 7], 1: [8, 9], 2: [4, 5]}[int(name[-1])], (name, seqs)
        assert entries == read_index(local / "index" / f"{name}.idx"), name
        data = (streamed / name).read_bytes()
        assert len(data) == SIZE == (local / name).stat().st_size
        # Each packet where its index says, padded with the zeros lttng-relayd writes.
        for offset, packet_bits, content_bits, *_ in entries:
            content = (local / name).read_bytes()[offset : offset + content_bits // 8]
            assert data[offset : offset + content_bits // 8] == content
            pad = data[offset + content_bits // 8 : offset + packet_bits // 8]
            assert pad == bytes(len(pad))
    with trio.fail_after(60):
        result = await trio.run_process(
            ["babeltrace2", str(streamed.parent)],
            capture_stdout=True, capture_stderr=True, check=False,
        )
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    assert sorted(ticks(result.stdout)) == sorted(kept)


async def test_size_without_count_is_refused(relayd: Relayd) -> None:
    """Nothing reaches the relay daemon: the stream is refused before ADD_STREAM."""
    kernel = FakeKernel()
    ring = kernel.ring()
    try:
        async with trio.open_nursery() as nursery:
            registry = Registry(nursery, kernel)
            reply = await registry.relayd_session(request(relayd.control_port, relayd.data_port))
            assert reply.ok, reply.error
            req = AddStream(SESSION, "/nowhere", "chan_0", False, tracefile_size=SIZE,
                            relay_path="kernel")
            with pytest.raises(RequestError, match="size without a trace file count"):
                await registry.add_stream(req, os.dup(ring.fd))
            await registry.close_session(SESSION)
    finally:
        kernel.close()
    assert relayd.proc.poll() is None


def test_stock_relayd_dies_of_a_size_without_count(relayd: Relayd) -> None:
    """Why: lttng-relayd 2.13 takes the next file number modulo the count
    (stream.c: stream_init_packet()), and dies of SIGFPE when the first file is full."""
    _, packet, _ = test_relayd_stock.recorded_ctf()
    ctl, _ = open_session(relayd, "nocount")
    ok(ctl.call(r.CreateTraceChunk(0, int(time.time()))))
    whole = packet.header.data_size + packet.header.padding_size
    chan = ok(ctl.call(r.AddStream("c0_0", STREAM_PATH, 0, whole, 0)))
    assert isinstance(chan, r.AddStreamReply)
    ok(ctl.call(r.StreamsSent()))
    with socket.create_connection(("127.0.0.1", relayd.data_port), timeout=TIMEOUT_S) as data:
        for seq in range(2):
            header = r.DataHeader(chan.handle, seq, packet.header.data_size,
                                  packet.header.padding_size)
            try:
                data.sendall(r.encode_data_packet(r.DataPacket(header, packet.data)))
            except ConnectionError:
                break  # already dead
        relayd.proc.wait(TIMEOUT_S)
    ctl.close()
    assert relayd.proc.returncode == -signal.SIGFPE
