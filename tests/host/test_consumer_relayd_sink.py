"""relayd_sink.py without a relay daemon: a data connection nobody reads (a cut link that
never sends RST) is given up after the timeout; packets of two streams never interleave."""

from __future__ import annotations

import mmap
import socket
import time

import pytest
from pylttng.consumerd import relayd_link
from pylttng.consumerd.relayd_sink import RelaydSink
from pylttng.protocol import relayd as r
from test_consumer_fakering import ctf_packet

SIZE = 64 * 1024


class FakeLink:
    """What a sink uses of RelaydLink: the data fd, its owner, the queue, breaking."""

    def __init__(self, fd: int) -> None:
        self.data_fd = fd
        self.data_owner: object | None = None
        self.broken: str | None = None
        self.queued: list[r.SendIndex] = []

    def queue_index(self, entry: r.SendIndex) -> None:
        self.queued.append(entry)

    def break_link(self, why: str) -> str:
        self.broken = self.broken or why
        return self.broken


@pytest.fixture
def packet() -> memoryview:
    area = mmap.mmap(-1, SIZE)
    area[:SIZE] = ctf_packet(0, SIZE)
    return memoryview(area)


def sink_on(link: FakeLink, handle: int) -> RelaydSink:
    return RelaydSink(link, handle, path="kernel/c", metadata=False)  # type: ignore[arg-type]


def test_unread_connection_is_given_up(packet: memoryview, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relayd_link, "TIMEOUT_S", 0.3)
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    link = FakeLink(ours.fileno())
    sink = sink_on(link, 1)
    sent = 0
    with pytest.raises(BlockingIOError):
        while True:  # fill the socket buffers: nobody reads
            sink.send(packet, 0, SIZE, SIZE)
            sent += 1
    assert link.data_owner is sink and link.broken is None
    # A second stream waits for the first one's packet to be whole on the wire.
    other = sink_on(link, 2)
    with pytest.raises(BlockingIOError, match="another stream"):
        other.send(packet, 0, SIZE, SIZE)
    time.sleep(0.4)
    with pytest.raises(ConnectionError, match="nothing sent for"):
        sink.send(packet, 0, SIZE, SIZE)
    assert link.broken is not None
    assert [e.net_seq_num for e in link.queued] == list(range(sent))
    ours.close()
    theirs.close()


def test_slow_reader_is_resumed_without_losing_a_byte(packet: memoryview) -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    link = FakeLink(ours.fileno())
    sink = sink_on(link, 7)
    received = bytearray()
    for _ in range(4):
        while True:
            try:
                sink.send(packet, 0, SIZE - 100, SIZE)
                break
            except BlockingIOError:
                received += theirs.recv(1 << 20)
    ours.close()
    while chunk := theirs.recv(1 << 20):
        received += chunk
    theirs.close()
    reader = r.DataReader()
    reader.receive_data(bytes(received))
    packets = []
    while (p := reader.next_packet()) is not r.NEED_DATA:
        packets.append(p)
    assert [(p.header.stream_id, p.header.net_seq_num) for p in packets] == [
        (7, n) for n in range(4)
    ]
    assert all(p.header.padding_size == 100 and p.data == packet[: SIZE - 100] for p in packets)
    assert link.broken is None and link.data_owner is None
