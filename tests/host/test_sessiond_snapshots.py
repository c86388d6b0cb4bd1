"""Snapshot commands of pylttng-sessiond over the fake tracer: outputs, records, errors."""

from __future__ import annotations

import pathlib
import re

from pylttng.protocol.client import structs
from pylttng.protocol.client.constants import NAME_MAX, PATH_MAX, Command, ErrorCode
from pylttng.protocol.client.messages import Reply
from pylttng.protocol.consumer import RelaydEndpoint, RelaydSession
from test_sessiond_protocol import Harness, daemon  # noqa: F401  (the fixture)

UNSET = (1 << 64) - 1


def output_union(name: str = "", url: str = "", max_size: int = UNSET, *, wait: bool | None = None
                 ) -> bytes:
    out = structs.SnapshotOutputComm.build({
        "id": 0,
        "max_size": max_size,
        "name": name.encode().ljust(NAME_MAX, b"\0"),
        "ctrl_url": url.encode().ljust(PATH_MAX, b"\0"),
        "data_url": b"\0" * PATH_MAX,
    })
    return out if wait is None else int(wait).to_bytes(4, "little") + out


def listed(reply: Reply) -> list[tuple[int, str, str, int]]:
    size = structs.SNAPSHOT_OUTPUT_SIZE
    assert len(reply.payload) % size == 0
    outs = [structs.SnapshotOutputComm.parse(reply.payload[i:i + size])
            for i in range(0, len(reply.payload), size)]
    return [(int(o.id), bytes(o.name).rstrip(b"\0").decode(),
             bytes(o.ctrl_url).rstrip(b"\0").decode(), int(o.max_size)) for o in outs]


async def started_snapshot_session(harness: Harness, out: str) -> None:
    assert (await harness.create("snap", out, snapshot=True)).ret_code == ErrorCode.OK
    assert (await harness.enable_event("snap", "sched_switch")).ret_code == ErrorCode.OK
    assert (await harness.ask(Command.START_TRACE, "snap")).ret_code == ErrorCode.OK


async def test_snapshot_session_outputs_and_records(
    daemon: Harness, tmp_path: pathlib.Path  # noqa: F811
) -> None:
    out = str(tmp_path / "snap-out")
    await started_snapshot_session(daemon, out)
    assert ("CHANNEL", 1 << 20, 4, 1) in daemon.tracer.calls  # overwrite by default
    assert daemon.consumer.the_link.streams == []  # nothing is drained as it runs

    reply = await daemon.ask(Command.SNAPSHOT_LIST_OUTPUT, "snap")
    assert listed(reply) == [(1, "snapshot-1", out, 0)]
    again = await daemon.ask(Command.SNAPSHOT_ADD_OUTPUT, "snap", union=output_union(url="/x"))
    assert again.ret_code == ErrorCode.SNAPSHOT_OUTPUT_EXIST

    reply = await daemon.ask(Command.SNAPSHOT_RECORD, "snap", union=output_union(wait=True))
    assert reply.ret_code == ErrorCode.OK
    link = daemon.consumer.the_link
    names = [name for _, name, _ in link.snapshots]
    assert names == ["channel0_0", "channel0_1", "metadata"]
    folder = link.snapshots[0][0]
    assert re.fullmatch(re.escape(out) + r"/snapshot-1-\d{8}-\d{6}-0/kernel", folder)
    assert daemon.tracer.calls.count(("METADATA",)) == 1  # one fresh metadata stream each

    # -m: the newest packets that fit, counting every stream (2 × 1 MiB per packet here).
    link.snapshots.clear()
    reply = await daemon.ask(Command.SNAPSHOT_RECORD, "snap",
                             union=output_union("named", max_size=5 << 20, wait=True))
    assert reply.ret_code == ErrorCode.OK
    assert {m for _, name, m in link.snapshots if name != "metadata"} == {2}
    assert "/named-" in link.snapshots[0][0] and link.snapshots[0][0].endswith("-1/kernel")
    too_small = await daemon.ask(Command.SNAPSHOT_RECORD, "snap",
                                 union=output_union(max_size=4096, wait=True))
    assert too_small.ret_code == ErrorCode.MAX_SIZE_INVALID

    # A URL given to record overrides the outputs for that snapshot only.
    link.snapshots.clear()
    other = str(tmp_path / "elsewhere")
    reply = await daemon.ask(Command.SNAPSHOT_RECORD, "snap",
                             union=output_union(url=f"file://{other}", wait=True))
    assert reply.ret_code == ErrorCode.OK
    assert link.snapshots[0][0].startswith(other + "/snapshot-0-")
    # A net:// URL: the consumer daemon opens a snapshot session on that relay daemon,
    # named after the session, whose one chunk is the snapshot's (snapshot_relayd.py).
    link.snapshots.clear()
    relay = await daemon.ask(Command.SNAPSHOT_RECORD, "snap",
                             union=output_union(url="net://localhost:7000/sub", wait=True))
    assert relay.ret_code == ErrorCode.OK
    opened = link.relayd_sessions[-1]
    assert isinstance(opened, RelaydSession) and opened.snapshot
    assert (opened.session_name, opened.base_path) == ("snap", "sub")
    assert (opened.control, opened.data) == (RelaydEndpoint("ipv4", "127.0.0.1", 7000),
                                             RelaydEndpoint("ipv4", "127.0.0.1", 5343))
    assert re.fullmatch(r"snapshot-0-\d{8}-\d{6}-3", opened.chunk_name), opened.chunk_name
    assert [(d, n) for d, n, _ in link.snapshots] == [
        ("relayd:kernel", "channel0_0"), ("relayd:kernel", "channel0_1"),
        ("relayd:kernel", "metadata")]
    bad = await daemon.ask(Command.SNAPSHOT_RECORD, "snap",
                           union=output_union(url="tcp://localhost", wait=True))
    assert bad.ret_code == ErrorCode.INVALID  # a tcp:// control URL needs a data URL

    deleted = await daemon.ask(Command.SNAPSHOT_DEL_OUTPUT, "snap",
                               union=output_union("snapshot-1"))
    assert deleted.ret_code == ErrorCode.OK
    assert listed(await daemon.ask(Command.SNAPSHOT_LIST_OUTPUT, "snap")) == []
    none = await daemon.ask(Command.SNAPSHOT_RECORD, "snap", union=output_union(wait=True))
    assert none.ret_code == ErrorCode.SNAPSHOT_FAIL
    missing = await daemon.ask(Command.SNAPSHOT_DEL_OUTPUT, "snap", union=output_union("nope"))
    assert missing.ret_code == ErrorCode.INVALID

    # The new output's id comes back as the reply's payload (liblttng-ctl reads it).
    added = await daemon.ask(Command.SNAPSHOT_ADD_OUTPUT, "snap",
                             union=output_union("again", url="/y"))
    assert (added.ret_code, added.payload) == (ErrorCode.OK, (2).to_bytes(4, "little"))
    assert listed(await daemon.ask(Command.SNAPSHOT_LIST_OUTPUT, "snap")) == [
        (2, "again", "/y", 0)]


async def test_snapshot_commands_need_a_snapshot_session(
    daemon: Harness, tmp_path: pathlib.Path  # noqa: F811
) -> None:
    assert (await daemon.create("plain", str(tmp_path / "t"))).ret_code == ErrorCode.OK
    for cmd, union in ((Command.SNAPSHOT_LIST_OUTPUT, b""),
                       (Command.SNAPSHOT_ADD_OUTPUT, output_union(url="/x")),
                       (Command.SNAPSHOT_RECORD, output_union(wait=True))):
        reply = await daemon.ask(cmd, "plain", union=union)
        assert reply.ret_code == ErrorCode.NOT_SNAPSHOT_SESSION, cmd


async def test_record_needs_a_started_session(
    daemon: Harness, tmp_path: pathlib.Path  # noqa: F811
) -> None:
    assert (await daemon.create("s", str(tmp_path / "s"), snapshot=True)).ret_code == ErrorCode.OK
    reply = await daemon.ask(Command.SNAPSHOT_RECORD, "s", union=output_union(wait=True))
    assert reply.ret_code == ErrorCode.START_SESSION_ONCE
