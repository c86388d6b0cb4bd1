"""sessiond/snapshot_relayd.py through the consumer daemon's socket (the daemon runs here,
on fake overwrite rings) to the stock lttng-relayd 2.13: a record lands in
<host>/<session>-<date>/<name>-<date>-<n>/kernel/, which babeltrace2 reads alone; a
relay daemon that does not listen fails the record with the consumerd's reason."""

from __future__ import annotations

import time

import pytest
import test_consumer_daemon
import test_relayd_stock
from pylttng.protocol.consumer import RelaydEndpoint
from pylttng.sessiond.consumer_link import ConsumerError, ConsumerLink
from pylttng.sessiond.snapshot_relayd import (
    NetOutput,
    SnapshotSession,
    StreamToCopy,
    record_to_relayd,
)
from test_consumer_fakering import FakeKernel
from test_consumer_relayd_rotation import read_alone
from test_consumer_relayd_snapshot import SnapRing
from test_relayd_stock import Relayd, free_port

relayd = test_relayd_stock.relayd
sock_path = test_consumer_daemon.sock_path
fake_daemon = test_consumer_daemon.fake_daemon

pytestmark = test_relayd_stock.pytestmark


def net_output(control: int, data: int) -> NetOutput:
    return NetOutput(RelaydEndpoint("ipv4", "127.0.0.1", control),
                     RelaydEndpoint("ipv4", "127.0.0.1", data))


def snapshot_session(n: int) -> SnapshotSession:
    return SnapshotSession(7, "snappy", "pylttng-host", int(time.time()), n,
                           f"snapshot-1-20261206-031500-{n}")


async def test_record_through_the_daemon(
    sock_path: str, fake_daemon: FakeKernel, relayd: Relayd
) -> None:
    meta, chan = SnapRing(1, 0).as_metadata(), SnapRing(4, 7, cpu=1)
    for ring in (meta, chan):
        fake_daemon.rings[ring.inode] = ring  # type: ignore[assignment]
    link = await ConsumerLink.connect(sock_path)
    streams = [StreamToCopy(chan._fd, "chan_1", False), StreamToCopy(meta._fd, "metadata", True)]
    snap = snapshot_session(0)
    lost = await record_to_relayd(
        link, snap, net_output(relayd.control_port, relayd.data_port), streams, max_packets=3
    )
    assert lost == 0
    (folder,) = relayd.output.glob(f"pylttng-host/snappy-*/{snap.chunk_name}")
    assert sorted(p.name for p in (folder / "kernel").iterdir()) == ["chan_1", "metadata"]
    assert sorted(await read_alone(folder)) == chan.ticks_of(range(4, 7))
    # The session is closed in the consumerd: the next record opens it again.
    fake_daemon.rings.pop(meta.inode).close()
    meta = SnapRing(1, 0).as_metadata()
    fake_daemon.rings[meta.inode] = meta  # type: ignore[assignment]
    streams[1] = StreamToCopy(meta._fd, "metadata", True)
    await record_to_relayd(
        link, snapshot_session(1), net_output(relayd.control_port, relayd.data_port), streams, 0
    )
    assert len(list(relayd.output.glob("pylttng-host/snappy-*/snapshot-1-*"))) == 2
    await link.aclose()


async def test_no_relayd_fails_the_record(sock_path: str, fake_daemon: FakeKernel) -> None:
    link = await ConsumerLink.connect(sock_path)
    port = free_port()
    with pytest.raises(ConsumerError, match="cannot connect to the relayd control port"):
        await record_to_relayd(link, snapshot_session(0), net_output(port, port), [], 0)
    await link.aclose()
