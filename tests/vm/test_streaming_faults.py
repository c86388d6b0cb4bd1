"""A relay daemon lost mid-session: killed (kill -9: the kernel resets its connections) or
cut off (its network namespace's link taken down: no reset, nothing). The session daemon
must go on answering (`lttng list`, `status`, `stop`, `destroy` within seconds), say in its
log what happened, keep another local session recording, and stream a new session to a
relay daemon started afterwards; what the lost relay daemon received must read cleanly.
The kill is run under the stock daemons too, and their transcript kept for comparison."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from conftest import Lttng, fork_exec_workload
from differential import Transcript, run_on_both
from netns import Veth
from relayd import Relayd, traces_of
from test_rotation import WORKLOAD_EVENTS, assert_counts, workload_counts
from test_streaming import loopback_up

from bench.tracers import stop_daemons

HANG_BOUND_S = 30.0  # a hang check, not a benchmark
DESTROY_ERROR = 'Error: Rotation failure on consumer during the destruction of session "net"'
SETTLE_S = 3.0  # > the switch timer: what was recorded has reached the relay daemon
# A packet's index follows its data on the other connection (as lttng-consumerd sends
# them): a loss between the two leaves the relay daemon a packet it has no index entry for.
# babeltrace2 says so, then indexes the stream file itself and reads every packet.
UNINDEXED_LAST_PACKET = re.compile(
    r"^.* W PLUGIN/SRC\.CTF\.FS/DS build_index_from_idx_file@\S+ \[[^]]+\] Invalid LTTng "
    r"trace index file; indexed size != stream file size: file-size=\d+, "
    r"total-packets-size=\d+\n", re.MULTILINE)


@dataclass
class Record:
    """Each command's exit code, time and output; the workload's pids by phase."""

    steps: list[tuple[str, int, float, str]] = field(default_factory=list)
    pids: dict[str, list[int]] = field(default_factory=dict)

    def text(self) -> str:
        return "".join(f"$ lttng {c}\n[exit {rc}, {secs:.1f} s]\n{out}\n"
                       for c, rc, secs, out in self.steps)

    def slow(self) -> list[tuple[str, float]]:
        return [(c, secs) for c, _, secs, _ in self.steps if secs >= HANG_BOUND_S]

    def failed(self, *commands: str) -> list[tuple[str, int, str]]:
        return [(c, rc, out) for c, rc, _, out in self.steps if c in commands and rc != 0]


def timed(t: Transcript, rec: Record, *args: str) -> int:
    """One command, its output normalised as differential.py does (dates, folders,
    the CLI's waiting dots)."""
    started = time.monotonic()
    try:
        result = t.lttng(*args)
        rc, out = result.rc, t.normalise(result.text)
    except subprocess.TimeoutExpired:
        rc, out = -1, f"(no answer within {t.lttng.timeout:g} s)"
    rec.steps.append((t.normalise(" ".join(args)), rc, time.monotonic() - started, out))
    return rc


def work(rec: Record, phase: str) -> None:
    rec.pids[phase] = fork_exec_workload(5)


def keep(name: str, text: str) -> None:
    out = os.environ.get("PYLTTNG_VM_OUT")
    if out is not None:
        dest = Path(out, "streaming-faults")
        dest.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(text)


def daemon_logs() -> str:
    return "".join(p.read_text(errors="replace") for p in Path("/var/run/lttng").rglob("*.log"))


def streamed_session(cli: Transcript, rec: Record, name: str, url: str) -> None:
    """A session with a 200 ms switch timer, so packets flow while it records."""
    timed(cli, rec, "create", name, "-U", url)
    timed(cli, rec, "enable-channel", "-k", "-s", name, "chan", "--switch-timer", "200000")
    timed(cli, rec, "enable-event", "-k", "-s", name, "-c", "chan", WORKLOAD_EVENTS)


def lose_relayd_scenario(lose: str, relayd: Relayd, url: str, records: dict[str, Record],
                         logs: dict[str, str]) -> object:
    """A streamed session and a local one; the relay daemon is lost while both record."""

    def scenario(t: Transcript) -> None:
        cli, rec = t, Record()
        records[str(t.scratch)] = rec
        t.lttng.timeout = 120.0
        first = Relayd(t.scratch / "relayd", relayd.address, *relayd.ports,
                       netns=relayd.netns).start()
        try:
            streamed_session(cli, rec, "net", url)
            timed(cli, rec, "create", "local", "-o", str(t.scratch / "local"))
            timed(cli, rec, "enable-event", "-k", "-s", "local", WORKLOAD_EVENTS)
            timed(cli, rec, "start", "net")
            timed(cli, rec, "start", "local")
            work(rec, "before")
            time.sleep(SETTLE_S)
            if lose == "kill":
                first.kill()
            else:
                Veth().cut()
            work(rec, "during")
            time.sleep(SETTLE_S)
            timed(cli, rec, "list")
            timed(cli, rec, "list", "net")
            timed(cli, rec, "set-session", "net")
            timed(cli, rec, "status")
            timed(cli, rec, "stop", "net")
            timed(cli, rec, "destroy", "net")
            work(rec, "after")
            timed(cli, rec, "stop", "local")
            timed(cli, rec, "destroy", "local")
        finally:
            first.stop()
        if lose == "kill":  # the cut link stays down: a new relay daemon is reached locally
            again = Relayd(t.scratch / "relayd-again", relayd.address, *relayd.ports).start()
            again_url = url
        else:
            again = Relayd(t.scratch / "relayd-again", "127.0.0.1", 9442, 9443, 9444).start()
            again_url = "net://127.0.0.1:9442:9443"
        try:
            streamed_session(cli, rec, "again", again_url)
            timed(cli, rec, "start", "again")
            work(rec, "again")
            timed(cli, rec, "stop", "again")
            timed(cli, rec, "destroy", "again")
        finally:
            again.stop()
        logs[str(t.scratch)] = daemon_logs()

    return scenario


def assert_survived(scratch: Path, rec: Record) -> None:
    """Bounded answers, a local session unharmed, a new relay daemon usable, and the
    lost one's part of the trace readable, the events recorded before the loss in it."""
    assert rec.slow() == [], rec.text()
    setup = ("create", "enable-channel", "enable-event", "start")
    assert [(c, rc) for c, rc, _, _ in rec.steps if c.split()[0] in setup and rc] == [], (
        rec.text())
    assert rec.failed("list", "list net", "status", "stop local", "destroy local",
                      "start again", "stop again", "destroy again") == [], rec.text()
    # The end of the trace never reached the relay daemon: said as lttng-sessiond says it
    # (its quiet rotation at destruction fails), and the session is gone all the same.
    [(_, rc, _, out)] = [s for s in rec.steps if s[0] == "destroy net"]
    assert rc != 0 and DESTROY_ERROR in out, (rc, out)
    local = rec.pids["before"] + rec.pids["during"] + rec.pids["after"]
    assert_counts(workload_counts(scratch / "local", local), local)
    [again] = traces_of(Relayd(scratch / "relayd-again", "", 0, 0, 0))
    assert_counts(workload_counts(again, rec.pids["again"]), rec.pids["again"])
    [lost] = traces_of(Relayd(scratch / "relayd", "", 0, 0, 0))
    counts = workload_counts(lost, local, UNINDEXED_LAST_PACKET)
    before = Counter({k: v for k, v in counts.items() if k[1] in rec.pids["before"]})
    assert_counts(before, rec.pids["before"])
    assert max(counts.values()) == 1, counts  # nothing twice


def test_relayd_killed_mid_session(lttng: Lttng, tmp_path: Path) -> None:
    loopback_up()
    records: dict[str, Record] = {}
    logs: dict[str, str] = {}
    relayd = Relayd(tmp_path, "127.0.0.1", 9342, 9343, 9344)
    scenario = lose_relayd_scenario("kill", relayd, "net://127.0.0.1:9342:9343", records, logs)
    run_on_both(lttng, tmp_path, scenario)  # type: ignore[arg-type]
    for daemons in ("pylttng", "stock"):
        keep(f"kill-{daemons}.txt", records[str(tmp_path / daemons)].text())
        keep(f"kill-{daemons}.log", logs.get(str(tmp_path / daemons), ""))
    assert_survived(tmp_path / "pylttng", records[str(tmp_path / "pylttng")])
    # The same answers as the stock daemons, command by command (times left out).
    ours, stock = (records[str(tmp_path / d)] for d in ("pylttng", "stock"))
    assert [(c, rc, out) for c, rc, _, out in ours.steps] == [
        (c, rc, out) for c, rc, _, out in stock.steps], (ours.text(), stock.text())
    log = logs[str(tmp_path / "pylttng")]
    assert "relayd" in log and ("Connection reset" in log or "Broken pipe" in log
                                or "closed the control connection" in log), log[-3000:]


def test_relayd_link_cut_mid_session(lttng: Lttng, tmp_path: Path) -> None:
    """pylttng's daemons only: the stock ones wait on TCP's own timeouts (minutes)."""
    loopback_up()
    veth = Veth().create()
    try:
        records: dict[str, Record] = {}
        logs: dict[str, str] = {}
        relayd = Relayd(tmp_path, Veth.PEER_ADDR, 5342, 5343, 5344, netns=veth.netns)
        scenario = lose_relayd_scenario("cut", relayd, f"net://{Veth.PEER_ADDR}", records,
                                        logs)
        stop_daemons()
        scratch = tmp_path / "pylttng"
        scratch.mkdir()
        try:
            scenario(Transcript(Lttng(lttng.home), scratch))  # type: ignore[operator]
        finally:
            lttng("destroy", "-a")
    finally:
        veth.delete()
    rec = records[str(scratch)]
    keep("cut-pylttng.txt", rec.text())
    keep("cut-pylttng.log", logs.get(str(scratch), ""))
    assert_survived(scratch, rec)
    assert "relay daemon or link down" in logs[str(scratch)], logs[str(scratch)][-3000:]
