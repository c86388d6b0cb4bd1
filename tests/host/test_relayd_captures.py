"""protocol/relayd against real traffic: every message that the stock lttng-sessiond and
lttng-consumerd 2.13 sent to the stock lttng-relayd, and every reply it sent back
(data/lttng-2.13-relayd-traffic.json, recorded by capture_relayd_traffic.py), is read
into typed messages and written back to the very same bytes; the values read are then
checked against each other (handles, sequence numbers, index entries vs packets)."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import pytest
from pylttng.protocol import relayd as r
from relayd_corpus import CapturedConnection, load

CONNECTIONS = load()
SCENARIOS = sorted({c.scenario for c in CONNECTIONS})
# CTF 1.8 packet magic and packetized TSDL magic, in lttng-ust's (native, little) order.
CTF_MAGIC = (0xC1FC1FC1).to_bytes(4, "little")
TSDL_MAGIC = (0x75D11D57).to_bytes(4, "little")
SUBBUF_SIZE = 4096  # every capture scenario's --subbuf-size, metadata's too


@dataclass
class Exchange:
    """One control connection read back: requests and their replies, in order."""

    requests: list[r.Request] = field(default_factory=list)
    replies: dict[int, r.Reply] = field(default_factory=dict)  # request index -> reply


def read_control(conn: CapturedConnection) -> Exchange:
    """Read both directions of a control connection, checking that each message writes
    back to the exact bytes it was read from."""
    requests = r.RequestReader()
    replies = r.ReplyReader()
    requests.receive_data(conn.to_relayd)
    replies.receive_data(conn.from_relayd)
    out = Exchange()
    at_request = at_reply = 0
    while (event := requests.next_event()) is not r.NEED_DATA:
        assert not isinstance(event, r.BadRequest), event
        raw = r.encode_request(event)
        assert raw == conn.to_relayd[at_request : at_request + len(raw)], event
        at_request += len(raw)
        replies.expect(event.command)
        if replies.awaiting:
            reply = replies.next_reply()
            assert reply is not r.NEED_DATA, f"no reply to {event}"
            raw = r.encode_reply(reply)
            assert raw == conn.from_relayd[at_reply : at_reply + len(raw)], reply
            at_reply += len(raw)
            out.replies[len(out.requests)] = reply
        out.requests.append(event)
    assert (at_request, at_reply) == (len(conn.to_relayd), len(conn.from_relayd))
    assert requests.pending_bytes == 0
    assert replies.next_reply() is r.NEED_DATA
    return out


def read_data(conn: CapturedConnection) -> list[r.DataPacket]:
    reader = r.DataReader()
    reader.receive_data(conn.to_relayd)
    packets = []
    while (packet := reader.next_packet()) is not r.NEED_DATA:
        packets.append(packet)
    assert reader.pending_bytes == 0
    assert b"".join(r.encode_data_packet(p) for p in packets) == conn.to_relayd
    assert conn.from_relayd == b"", "lttng-relayd answers nothing on a data connection"
    return packets


def scenario(name: str) -> tuple[Exchange, list[r.DataPacket]]:
    control = [c for c in CONNECTIONS if c.scenario == name and c.kind == "control"]
    data = [c for c in CONNECTIONS if c.scenario == name and c.kind == "data"]
    # One consumer daemon (64-bit user space): one connection of each kind.
    assert len(control) == len(data) == 1
    return read_control(control[0]), read_data(data[0])


def of_type(exchange: Exchange, kind: type) -> list[tuple[int, r.Request]]:
    return [(i, q) for i, q in enumerate(exchange.requests) if isinstance(q, kind)]


def test_the_corpus_covers_every_scenario_and_command() -> None:
    assert SCENARIOS == ["live", "session", "snapshot"]
    seen = collections.Counter(
        type(q).__name__ for name in SCENARIOS for q in scenario(name)[0].requests
    )
    # Everything a 2.13 peer sends for a streaming session, except RESET_METADATA (see
    # test_relayd_stock.py) and the commands lttng-relayd 2.13 no longer handles.
    assert set(seen) == {
        "Version",
        "GetConfiguration",
        "CreateSession",
        "CreateTraceChunk",
        "AddStream",
        "StreamsSent",
        "SendMetadata",
        "SendIndex",
        "CloseStream",
        "DataPending",
        "QuiescentControl",
        "BeginDataPending",
        "EndDataPending",
        "RotateStreams",
        "CloseTraceChunk",
        "TraceChunkExists",
    }


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_message_reads_and_writes_back(name: str) -> None:
    exchange, packets = scenario(name)
    assert exchange.requests and packets
    # lttng-relayd answered every command but SEND_METADATA, and all went well.
    for i, q in enumerate(exchange.requests):
        assert (i in exchange.replies) == (not isinstance(q, r.SendMetadata)), q
    for reply in exchange.replies.values():
        if isinstance(reply, r.PendingReply):
            assert reply.status == 0  # nothing was left in flight by the end
        elif not isinstance(reply, r.Version):
            assert reply.ok, reply


@pytest.mark.parametrize("name", SCENARIOS)
def test_session_opening(name: str) -> None:
    exchange, _ = scenario(name)
    q = exchange.requests
    # cmd.c: create_connect_relayd(), then consumer.c: the session, then the chunk.
    assert q[:2] == [r.Version(2, 13), r.GetConfiguration(0)]
    assert r.negotiate(r.Version(), exchange.replies[0]) == r.Version(2, 13)
    assert exchange.replies[1] == r.GetConfigurationReply(r.ConfigurationFlag.CLEAR_ALLOWED)
    create = q[2]
    assert isinstance(create, r.CreateSession)
    assert (create.session_name, create.base_path, create.current_chunk_id) == ("s", "", None)
    assert create.live_timer == (100000 if name == "live" else 0)
    assert create.snapshot == (name == "snapshot")
    reply = exchange.replies[2]
    assert isinstance(reply, r.CreateSessionReply) and reply.output_path
    # lttng-relayd's layout: <hostname>/<session>-<YYYYmmdd-HHMMSS>
    assert reply.output_path.startswith(f"{create.hostname}/s-")
    chunk = q[3]
    assert isinstance(chunk, r.CreateTraceChunk) and chunk.chunk_id == 0
    if name == "snapshot":
        assert chunk.override_name and chunk.override_name.startswith("snapshot-1-")
    else:
        assert chunk.override_name is None


@pytest.mark.parametrize("name", SCENARIOS)
def test_streams_handles_and_packets_agree(name: str) -> None:
    exchange, packets = scenario(name)
    handles: dict[int, r.AddStream] = {}
    for i, q in of_type(exchange, r.AddStream):
        reply = exchange.replies[i]
        assert isinstance(reply, r.AddStreamReply) and isinstance(q, r.AddStream)
        assert reply.handle not in handles
        handles[reply.handle] = q
        assert q.pathname == "ust/uid/65534/64-bit"
        sized = name == "live" and q.channel_name != "metadata"
        assert (q.tracefile_size, q.tracefile_count) == ((8192, 3) if sized else (0, 0))
    assert sorted(q.channel_name for q in handles.values()) == ["c0_0", "c0_1", "metadata"]
    metadata = next(h for h, q in handles.items() if q.channel_name == "metadata")
    # Data packets: known non-metadata streams, numbered from 0 per stream, whole
    # sub-buffers once lttng-relayd adds the padding, CTF packets.
    seqs: dict[int, list[int]] = collections.defaultdict(list)
    for p in packets:
        assert p.header.stream_id in handles and p.header.stream_id != metadata
        assert p.header.circuit_id == 0
        seqs[p.header.stream_id].append(p.header.net_seq_num)
        assert p.header.data_size + p.header.padding_size == SUBBUF_SIZE
        assert p.data[:4] == CTF_MAGIC
    for numbers in seqs.values():
        assert numbers == list(range(len(numbers)))
    # Metadata packets ride on the control connection, unanswered.
    sent = [q for _, q in of_type(exchange, r.SendMetadata)]
    assert sent
    for q in sent:
        assert isinstance(q, r.SendMetadata) and q.stream_id == metadata
        assert q.data[:4] == TSDL_MAGIC
        assert len(q.data) + q.padding_size == SUBBUF_SIZE
    # Closing: each stream once; the metadata stream with -1 (no packet number).
    closed = {q.stream_id: q.last_net_seq_num for _, q in of_type(exchange, r.CloseStream)}
    assert set(closed) == set(handles)
    assert closed[metadata] == (1 << 64) - 1


@pytest.mark.parametrize("name", ["session", "live"])
def test_indexes_describe_the_packets_sent(name: str) -> None:
    """An index entry per data packet, sent after it (consumer-stream.c), with the sizes
    of the data header; a live session adds beacons: entries with sizes 0."""
    exchange, packets = scenario(name)
    by_key = {(p.header.stream_id, p.header.net_seq_num): p for p in packets}
    described = set()
    beacons = 0
    for _, q in of_type(exchange, r.SendIndex):
        assert isinstance(q, r.SendIndex)
        if q.packet_size == 0:
            beacons += 1
            assert q.content_size == 0 and q.timestamp_end
            continue
        packet = by_key[(q.relay_stream_id, q.net_seq_num)]
        h = packet.header
        assert q.packet_size == (h.data_size + h.padding_size) * 8
        assert q.content_size == h.data_size * 8
        assert q.timestamp_begin <= q.timestamp_end
        described.add((q.relay_stream_id, q.net_seq_num))
    assert described == set(by_key)
    assert (beacons > 0) == (name == "live")


def test_rotation_and_clear() -> None:
    """`lttng rotate` then `lttng clear`, as lttng-consumerd 2.13 asks it of a relay daemon
    (consumer.c: lttng_consumer_rotate_channel(), lttng_consumer_close_trace_chunk())."""
    exchange, _ = scenario("session")
    rotations = [q for _, q in of_type(exchange, r.RotateStreams)]
    for q in rotations:
        assert isinstance(q, r.RotateStreams)
        # lttng-consumerd 2.13.9 on x86-64: 7 bytes of padding, left uninitialised.
        assert len(q.header_padding) == 7
    assert [q.new_chunk_id for q in rotations] == [1, 1, None, None]
    chunks = [q for _, q in of_type(exchange, r.CreateTraceChunk)]
    assert [c.chunk_id for c in chunks] == [0, 1]
    closes = [(i, q) for i, q in of_type(exchange, r.CloseTraceChunk)]
    commands = [q.close_command for _, q in closes]
    assert commands == [r.TraceChunkCommand.MOVE_TO_COMPLETED, r.TraceChunkCommand.DELETE]
    paths = [exchange.replies[i] for i, _ in closes]
    assert all(isinstance(p, r.CloseTraceChunkReply) and p.ok for p in paths)
    # The first chunk archived under archives/, named by its dates and id.
    archived = paths[1]
    assert isinstance(archived, r.CloseTraceChunkReply) and archived.path
    assert "/archives/" in archived.path and archived.path.endswith("-1")
    for i, q in of_type(exchange, r.TraceChunkExists):
        reply = exchange.replies[i]
        assert isinstance(reply, r.TraceChunkExistsReply) and reply.ok and not reply.exists


def test_data_pending_rounds() -> None:
    """consumer.c: consumer_data_pending(): BEGIN, then DATA_PENDING per data stream and
    QUIESCENT_CONTROL for the metadata stream, then END, all for the relayd session."""
    exchange, _ = scenario("session")
    session = exchange.replies[2]
    assert isinstance(session, r.CreateSessionReply)
    names = [type(q).__name__ for q in exchange.requests]
    begin = names.index("BeginDataPending")
    assert names[begin : begin + 5] == [
        "BeginDataPending",
        "DataPending",
        "DataPending",
        "QuiescentControl",
        "EndDataPending",
    ]
    for _, q in of_type(exchange, r.BeginDataPending) + of_type(exchange, r.EndDataPending):
        assert q.session_id == session.session_id
