"""Rotation, clear, rotation schedules and snapshots of sessions streamed to the stock
lttng-relayd 2.13, pylttng-sessiond + pylttng-consumerd against the stock lttng-sessiond +
lttng-consumerd on pylttng.ko: the same CLI transcripts (the archive's relay location as
`lttng rotate` prints it included), the same folders on the relay daemon
(`<host>/<session>-<date>/archives/<begin>-<end>-<n>/`, snapshots in
`<host>/<session>-<date>/<output>-<date>-<n>/`), each archive and snapshot read alone by
babeltrace2, every event of the workload in exactly one archive and none that a clear
dropped."""

from __future__ import annotations

import dataclasses
import re
import socket
from pathlib import Path

import differential
from conftest import Lttng
from differential import Transcript, assert_same_transcripts, run_on_both
from relayd import Relayd
from test_rotation import (
    WORKLOAD_EVENTS,
    Workload,
    assert_each_once,
    layout,
    traces,
)
from test_streaming import loopback_up

HOST = socket.gethostname()
URL = "net://127.0.0.1:9342:9343"
# lttng-consumerd counts a gap in a stream's packet sequence numbers as lost packets. The
# clear of the active session discards the packet its flush closes on each CPU where
# events came after the clear's own rotation: a gap, or none, by timing; `stop` and `destroy` then warn.
CLEARED_PACKET = re.compile(r"^Warning: \d+ packets were lost, please refer to the "
                            r"documentation on channel configuration\.\n", re.MULTILINE)
AFTER_THE_CLEAR = ("stop rot", "destroy rot")


def without_cleared_packet(t: Transcript) -> Transcript:
    """The transcript without the stock consumer's warning about the cleared packet."""
    t.steps = [dataclasses.replace(s, output=CLEARED_PACKET.sub("", s.output))
               if s.command in AFTER_THE_CLEAR else s for s in t.steps]
    return t


def relayd_of(scratch: Path) -> Relayd:
    return Relayd(scratch / "relayd", "127.0.0.1", 9342, 9343, 9344)


def scenario(work: Workload) -> differential.Scenario:
    def run(t: Transcript) -> None:
        relayd = relayd_of(t.scratch).start()
        try:
            t("create", "rot", "-U", URL)
            t("create", "idle", "-U", URL)  # connected to the relay daemon, never started
            t("enable-event", "-k", WORKLOAD_EVENTS, "-s", "idle")
            t("enable-event", "-k", WORKLOAD_EVENTS, "-s", "rot")
            t("rotate", "rot")  # never started
            t("clear", "rot")  # never started: nothing to do
            t("start", "rot")
            work(t, 4)
            t("rotate", "rot")  # chunk 0 becomes an archive on the relay daemon
            work(t, 4, kept=False)
            t("clear", "rot")  # the relay daemon deletes the current chunk
            work(t, 4)
            t("stop", "rot")
            t("rotate", "rot")  # stopped: the chunk so far becomes an archive
            t("rotate", "rot")  # once only after a stop
            t("enable-rotation", "-s", "rot", "--timer", "60s")
            t("enable-rotation", "-s", "rot", "--size", "1G")
            t("list", "rot")
            t("disable-rotation", "-s", "rot", "--timer")
            t("disable-rotation", "-s", "rot", "--size")
            t("start", "rot")
            work(t, 4)
            t("destroy", "rot")  # a last rotation: the current chunk becomes an archive
            t("destroy", "idle")
            t("create", "snap", "--snapshot", "-U", URL)
            t("enable-event", "-k", WORKLOAD_EVENTS)
            t("start")
            work(t, 4, kept=False)  # in both snapshots: counted apart
            t("snapshot", "list-output")
            t("snapshot", "record")
            t("snapshot", "record", "-n", "given", URL)
            t("destroy", "snap")
        finally:
            relayd.stop()
    return run


def test_streamed_rotation_clear_snapshot_as_the_stock_daemon(
    lttng: Lttng, tmp_path: Path
) -> None:
    loopback_up()
    work = Workload()
    ours, stock = run_on_both(lttng, tmp_path, scenario(work))
    dest = differential.keep_transcripts("streaming-rotation", ours, stock)
    layouts = {d: layout(relayd_of(tmp_path / d).output) for d in ("pylttng", "stock")}
    if dest is not None:
        for which, lines in layouts.items():
            (dest / f"{which}.layout").write_text("\n".join(lines) + "\n")
    assert_same_transcripts(without_cleared_packet(ours), without_cleared_packet(stock))
    assert layouts["pylttng"] == layouts["stock"]
    text = "".join(s.output for s in ours.steps)
    assert f"is now readable on relay tcp://127.0.0.1/{HOST}/rot-DATE" in text, text
    for daemons in ("pylttng", "stock"):
        key = str(tmp_path / daemons)
        out = relayd_of(tmp_path / daemons).output / HOST
        [rot] = out.glob("rot-*")
        archives = sorted((rot / "archives").iterdir())
        assert len(archives) == 3, archives  # rotate, rotate while stopped, destroy's
        assert traces(rot) == archives  # the cleared chunk is gone, nothing else is left
        assert_each_once(rot, work.pids[key], work.pids[f"{key}:dropped"][:4])
        [snap] = out.glob("snap-*")
        shots = traces(snap)
        assert [p.name.rsplit("-", 3)[0] for p in shots] == ["given", "snapshot-1"], shots
        dropped = work.pids[f"{key}:dropped"][4:]
        for shot in shots:  # each snapshot read alone holds the whole workload once
            assert_each_once(shot, dropped)
        assert not list(out.glob("idle-*/*")), list(out.glob("idle-*/*"))
