"""protocol/relayd drives the stock lttng-relayd 2.13 over TCP, as lttng-sessiond and
lttng-consumerd would: a session, a trace chunk, a metadata and a data stream, one
metadata packet and one data packet (real CTF, from the recorded traffic of
test_relayd_captures.py) with its index, closing; then lttng-relayd's files are checked
byte for byte and babeltrace2 must read the trace it wrote. The relay daemon's error
replies are read too, from the stock daemon itself."""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pylttng.protocol import relayd as r
from pylttng.protocol.client.constants import ErrorCode
from relayd_corpus import load

pytestmark = pytest.mark.skipif(
    shutil.which("lttng-relayd") is None, reason="needs lttng-relayd (lttng-tools)"
)

TIMEOUT_S = 10
U64_MAX = (1 << 64) - 1
STREAM_PATH = "ust/uid/65534/64-bit"  # where the recorded packets came from
CTF_INDEX_MAGIC = 0xC1F1DCC1  # ctf-index.h


@dataclass(frozen=True)
class Relayd:
    control_port: int
    data_port: int
    output: pathlib.Path
    proc: subprocess.Popen[bytes]
    live_port: int = 0  # where live viewers connect (babeltrace2 lttng-live)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def relayd(tmp_path: pathlib.Path) -> Iterator[Relayd]:
    out = tmp_path / "relayd-out"
    ports = [free_port() for _ in range(3)]
    proc = subprocess.Popen(
        [
            "lttng-relayd",
            f"--output={out}",
            f"--control-port=tcp://127.0.0.1:{ports[0]}",
            f"--data-port=tcp://127.0.0.1:{ports[1]}",
            f"--live-port=tcp://127.0.0.1:{ports[2]}",
        ],
        env={**os.environ, "LTTNG_HOME": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", ports[1]), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "lttng-relayd did not listen"
                time.sleep(0.05)
        yield Relayd(ports[0], ports[1], out, proc, live_port=ports[2])
    finally:
        proc.terminate()
        try:
            proc.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Control:
    """A control connection: a ControlConnection over a blocking socket."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        self.conn = r.ControlConnection()

    def send(self, request: r.Request) -> None:
        self.sock.sendall(self.conn.send(request))

    def call(self, request: r.Request) -> r.Reply:
        self.send(request)
        while (reply := self.conn.next_reply()) is r.NEED_DATA:
            data = self.sock.recv(65536)
            assert data, f"lttng-relayd closed the connection instead of answering {request}"
            self.conn.receive_data(data)
        return reply

    def at_eof(self) -> bool:
        return self.sock.recv(1) == b""

    def close(self) -> None:
        self.sock.close()


def recorded_ctf() -> tuple[r.SendMetadata, r.DataPacket, r.SendIndex]:
    """The first metadata packet of the recorded streaming session, its first data packet
    that holds events, and that packet's index entry."""
    conns = [c for c in load() if c.scenario == "session"]
    requests = r.RequestReader()
    requests.receive_data(next(c for c in conns if c.kind == "control").to_relayd)
    data = r.DataReader()
    data.receive_data(next(c for c in conns if c.kind == "data").to_relayd)
    packets = []
    while (p := data.next_packet()) is not r.NEED_DATA:
        packets.append(p)
    packet = next(p for p in packets if b"pylttng relayd capture" in p.data)
    metadata = index = None
    while (q := requests.next_event()) is not r.NEED_DATA:
        if isinstance(q, r.SendMetadata) and metadata is None:
            metadata = q
        key = (packet.header.stream_id, packet.header.net_seq_num)
        if isinstance(q, r.SendIndex) and (q.relay_stream_id, q.net_seq_num) == key:
            index = q
    assert metadata is not None and index is not None
    return metadata, packet, index


def open_session(
    relayd: Relayd, name: str, sessiond_session_id: int = 7
) -> tuple[Control, r.CreateSessionReply]:
    """Version check, configuration and session, as lttng-sessiond opens a session."""
    ctl = Control(relayd.control_port)
    assert ctl.call(r.Version()) == r.Version(2, 13)
    assert ctl.conn.version == r.Version(2, 13)
    config = ctl.call(r.GetConfiguration())
    assert config == r.GetConfigurationReply(r.ConfigurationFlag.CLEAR_ALLOWED)
    session = ctl.call(
        r.CreateSession(
            session_name=name,
            hostname="pylttng-host",
            sessiond_uuid=uuid.uuid4(),
            session_id=sessiond_session_id,
            creation_time=int(time.time()),
        )
    )
    assert isinstance(session, r.CreateSessionReply) and session.ok, session
    assert session.output_path and session.output_path.startswith(f"pylttng-host/{name}-")
    return ctl, session


def ok(reply: r.Reply) -> r.Reply:
    assert getattr(reply, "ok", False), reply
    return reply


def test_stock_relayd_writes_the_trace(relayd: Relayd) -> None:
    metadata, packet, index = recorded_ctf()
    ctl, session = open_session(relayd, "streamed")
    now = int(time.time())
    ok(ctl.call(r.CreateTraceChunk(0, now)))
    meta = ok(ctl.call(r.AddStream("metadata", STREAM_PATH, 0)))
    chan = ok(ctl.call(r.AddStream("c0_0", STREAM_PATH, 0)))
    assert isinstance(meta, r.AddStreamReply) and isinstance(chan, r.AddStreamReply)
    ok(ctl.call(r.StreamsSent()))
    ctl.send(r.SendMetadata(meta.handle, metadata.data, metadata.padding_size))

    # Open as long as the session streams: lttng-relayd closes the session's streams when
    # its data connection ends (main.c: relay_thread_close_connection()).
    with socket.create_connection(("127.0.0.1", relayd.data_port), timeout=TIMEOUT_S) as data:
        header = r.DataHeader(
            chan.handle, 0, packet.header.data_size, packet.header.padding_size
        )
        data.sendall(r.encode_data_packet(r.DataPacket(header, packet.data)))
        ok(
            ctl.call(
                r.SendIndex(
                    chan.handle,
                    0,
                    index.packet_size,
                    index.content_size,
                    index.timestamp_begin,
                    index.timestamp_end,
                    index.events_discarded,
                    index.stream_id,
                    index.stream_instance_id,
                    index.packet_seq_num,
                )
            )
        )
        # consumer.c: consumer_data_pending(): until lttng-relayd has written packet 0.
        deadline = time.monotonic() + TIMEOUT_S
        ok(ctl.call(r.BeginDataPending(session.session_id)))
        while ctl.call(r.DataPending(chan.handle, 0)) != r.PendingReply(0):
            assert time.monotonic() < deadline, "packet 0 still pending"
            time.sleep(0.05)
        assert ctl.call(r.QuiescentControl(meta.handle)) == r.GenericReply(ErrorCode.OK)
        assert ctl.call(r.EndDataPending(session.session_id)) == r.PendingReply(0)

        # `lttng regenerate metadata`: the file starts over; the packet is sent anew.
        ok(ctl.call(r.ResetMetadata(meta.handle, 1)))
        # As a daemon sends it from its buffer: the prefix, then the bytes.
        prefix = ctl.conn.send_metadata_prefix(
            meta.handle, metadata.padding_size, len(metadata.data)
        )
        ctl.sock.sendall(prefix)
        ctl.sock.sendall(metadata.data)

        # lttng-relayd 2.13 looks the chunk up under its own session id, not the
        # sessiond's it published it under (main.c: relay_trace_chunk_exists()): 1 != 7.
        assert ctl.call(r.TraceChunkExists(0)) == r.TraceChunkExistsReply(False)
        ok(ctl.call(r.CloseStream(meta.handle, U64_MAX)))
        ok(ctl.call(r.CloseStream(chan.handle, 0)))
        closed = ctl.call(r.CloseTraceChunk(0, now + 1))
        # Never rotated: the chunk is the session's own folder.
        assert closed == r.CloseTraceChunkReply(ErrorCode.OK, session.output_path)
        ctl.close()

    assert session.output_path
    trace = relayd.output / session.output_path
    folder = trace / STREAM_PATH
    # lttng-relayd pads each packet with the zeros the headers announced.
    expected_data = packet.data + b"\0" * packet.header.padding_size
    assert (folder / "c0_0").read_bytes() == expected_data
    assert (folder / "metadata").read_bytes() == metadata.data + b"\0" * metadata.padding_size
    idx = (folder / "index" / "c0_0.idx").read_bytes()
    magic, major, minor, entry_len = struct.unpack_from(">IIII", idx)
    assert (magic, major, minor, entry_len) == (CTF_INDEX_MAGIC, 1, 1, 72)
    entry = struct.unpack_from(">9Q", idx, 16)
    assert entry == (
        0,  # offset of the packet in the file
        index.packet_size,
        index.content_size,
        index.timestamp_begin,
        index.timestamp_end,
        index.events_discarded,
        index.stream_id,
        index.stream_instance_id,
        index.packet_seq_num,
    )
    assert len(idx) == 16 + 72

    if shutil.which("babeltrace2") is None:
        pytest.skip("babeltrace2 is not installed: the files were checked, not read")
    result = subprocess.run(
        ["babeltrace2", str(trace)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    events = [line for line in result.stdout.splitlines() if "lttng_ust_tracef:event" in line]
    assert [e.split('msg = "')[1].split('"')[0] for e in events] == [
        f"pylttng relayd capture {i}" for i in range(3)
    ]


def test_stock_relayd_trace_chunk_exists(relayd: Relayd) -> None:
    """With the sessiond's session id equal to the relay daemon's own (1 for its first
    session), lttng-relayd finds the chunks it registered: the chunk id is read right."""
    ctl, session = open_session(relayd, "exists", sessiond_session_id=1)
    assert session.session_id == 1
    ok(ctl.call(r.CreateTraceChunk(3, int(time.time()))))
    assert ctl.call(r.TraceChunkExists(3)) == r.TraceChunkExistsReply(True)
    assert ctl.call(r.TraceChunkExists(4)) == r.TraceChunkExistsReply(False)
    closed = ctl.call(r.CloseTraceChunk(3, int(time.time()), r.TraceChunkCommand.NO_OPERATION))
    assert isinstance(closed, r.CloseTraceChunkReply) and closed.ok
    assert ctl.call(r.TraceChunkExists(3)) == r.TraceChunkExistsReply(False)
    ctl.close()


ERRORS = {
    # main.c: relay_process_control_command(): an unhandled command
    "update-sync-info": (r.UnhandledCommand(r.Command.UPDATE_SYNC_INFO), r.GenericReply(ErrorCode.UNK)),
    # main.c: relay_data_pending(): an unknown stream, -1 in the unsigned ret_code
    "data-pending": (r.DataPending(4242, 0), r.PendingReply(-1)),
    # main.c: relay_close_trace_chunk(): a chunk it never saw, no path
    "close-trace-chunk": (r.CloseTraceChunk(77, 0), r.CloseTraceChunkReply(ErrorCode.NOMEM, None)),
    # main.c: relay_reset_metadata(): not a metadata stream (handle 1 below)
    "reset-metadata": (r.ResetMetadata(1, 1), r.GenericReply(ErrorCode.UNK)),
}


@pytest.mark.parametrize("case", ERRORS)
def test_stock_relayd_error_replies(relayd: Relayd, case: str) -> None:
    """The stock daemon's error replies read as typed replies; after each it ends the
    control connection (the handler's -1 is a connection error)."""
    request, expected = ERRORS[case]
    ctl, _ = open_session(relayd, case)
    ok(ctl.call(r.CreateTraceChunk(0, int(time.time()))))
    assert ctl.call(r.AddStream("c0_0", STREAM_PATH, 0)) == r.AddStreamReply(1)
    assert ctl.call(request) == expected
    assert ctl.at_eof()
    ctl.close()
