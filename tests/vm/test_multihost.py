"""Several hosts, one collector (issue 22): three machines made of namespaces in the guest
(tests/vm/netns.py), each host linked to the collector by its own veth pair. Two traced
hosts, each with its own host name, /var/run/lttng and session daemon — pylttng-sessiond on
one, for comparison the stock lttng-sessiond on the other, both on pylttng.ko — record a
live session of the same name, streamed to the collector's lttng-relayd. Each session
tracks the uid its host's workload runs as; on a fourth machine (the root namespace),
babeltrace2's lttng-live source follows each host's session and must show its events within
the live timer period and a second. The relay daemon's output then holds one folder per
host, each with one trace that babeltrace2 reads, holding every event of its host's
workload once and none of the other host's."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from conftest import STOCK_SESSIOND, Result, run
from netns import Host, Veth
from relayd import Relayd
from test_live import LIVE_TIMER_US, MARGIN_S, Viewer, exec_of, keep
from test_rotation import WORKLOAD_EVENTS, assert_each_once, traces

COLLECTOR = "pyl-collector"
SESSION = "traced"  # the same name on both hosts: the relay daemon tells them apart
ROUNDS = 2
ATTACH_TIMEOUT_S = 120.0  # babeltrace2 starts slowly in the emulated guest


@dataclass
class TracedHost:
    """A traced host: its namespaces, its link to the collector, the uid its workload
    runs as, the session daemon it runs, and what the test saw of it."""

    name: str
    link: Veth
    uid: int
    daemons: str
    home: Path
    host: Host = field(init=False)
    pids: list[int] = field(default_factory=list)
    forked: dict[int, float] = field(default_factory=dict)
    delays: list[float] = field(default_factory=list)
    viewer: Viewer | None = None

    def __post_init__(self) -> None:
        self.host = Host(self.name, self.link.netns)
        self.home.mkdir(parents=True, exist_ok=True)  # the CLI writes its .lttngrc there

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ, HOME=str(self.home), LTTNG_HOME=str(self.home))
        if self.daemons == "pylttng":
            sessiond = shutil.which("pylttng-sessiond")
            assert sessiond, "pylttng-sessiond is not on PATH"
            env["LTTNG_SESSIOND_PATH"] = sessiond
        return env

    def lttng(self, *args: str) -> Result:
        result = run(*self.host.argv("lttng", *args), env=self.env)
        assert result.rc == 0, f"{self.name}: lttng {' '.join(args)}: {result.text}"
        return result

    def start_sessiond(self) -> None:
        """The stock daemon is started beforehand; the CLI spawns pylttng-sessiond."""
        if self.daemons == "stock":
            # To a file: the daemon keeps its stdout and stderr, a pipe would never end.
            log = self.home / "lttng-sessiond.log"
            with open(log, "ab") as sink:
                started = subprocess.run(self.host.argv(STOCK_SESSIOND, "--background"),
                                         stdout=sink, stderr=sink, env=self.env,
                                         timeout=120, check=False)
            assert started.returncode == 0, log.read_text(errors="replace")

    def record(self) -> None:
        """A live session streamed to the collector, recording what its uid does."""
        self.start_sessiond()
        url = f"net://{self.link.near_addr}"
        created = self.lttng("create", SESSION, f"--live={LIVE_TIMER_US}", "-U", url)
        assert f"Live session {SESSION} created." in created.out, created.out
        self.lttng("enable-event", "-k", "-s", SESSION, WORKLOAD_EVENTS)
        self.lttng("track", "-k", "-s", SESSION, f"--uid={self.uid}")
        self.lttng("start", SESSION)

    def work(self, count: int) -> list[int]:
        """Fork and exec /bin/true `count` times in the host, as its uid; the pids, each
        with when the host's shell printed it, right after the fork (``forked``)."""
        loop = (f"i=0; while [ $i -lt {count} ]; do /bin/true & echo $!; wait $!; "
                "i=$((i + 1)); done")
        argv = self.host.argv("setpriv", f"--reuid={self.uid}", f"--regid={self.uid}",
                              "--clear-groups", "sh", "-c", loop)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        pids = []
        for line in proc.stdout:
            pids.append(int(line))
            self.forked[pids[-1]] = time.monotonic()
        assert proc.wait(timeout=60) == 0 and len(pids) == count, pids
        self.pids += pids
        return pids


def hosts(tmp_path: Path) -> list[TracedHost]:
    def link(n: int) -> Veth:
        # The near end, the collector's, is the address its host streams to.
        return Veth(f"pyl-host-{n}", near_netns=COLLECTOR,
                    names=(f"pyl-mh-c{n}", f"pyl-mh-h{n}"),
                    addrs=(f"10.78.{n}.1", f"10.78.{n}.2"))

    return [TracedHost("pyl-host-a", link(1), 4001, "pylttng", tmp_path / "home-a"),
            TracedHost("pyl-host-b", link(2), 4002, "stock", tmp_path / "home-b")]


def attach(viewer: Viewer, traced: TracedHost) -> None:
    """Workloads until the viewer, attached, shows one."""
    deadline = time.monotonic() + ATTACH_TIMEOUT_S
    while True:
        [pid] = traced.work(1)
        try:
            viewer.wait_for(exec_of(pid), 5)
            return
        except AssertionError:
            assert time.monotonic() < deadline, (viewer.stderr, viewer.lines[-5:])


def test_two_hosts_stream_to_one_collector(tmp_path: Path) -> None:
    run("ip", "link", "set", "lo", "up")
    # The viewer's link: the root namespace reaches the collector at 10.78.0.2.
    view_link = Veth(COLLECTOR, names=("pyl-mh-v", "pyl-mh-vc"),
                     addrs=("10.78.0.1", "10.78.0.2"))
    both = hosts(tmp_path)
    relayd = Relayd(tmp_path / "relayd", view_link.far_addr, 5342, 5343, 5344,
                    netns=COLLECTOR, bind="0.0.0.0")
    began = time.monotonic()
    phases: dict[str, float] = {}
    record: dict[str, object] = {"phases_s": phases}
    killed: dict[str, list[int]] = {}
    try:
        view_link.create()
        for traced in both:
            traced.link.create()
            traced.host.start()
        relayd.start()
        # Each session daemon takes seconds to start under TCG: both at once.
        with ThreadPoolExecutor(len(both)) as pool:
            for done in [pool.submit(traced.record) for traced in both]:
                done.result()
        phases["recording"] = time.monotonic() - began
        for traced in both:
            url = f"net://{view_link.far_addr}/host/{traced.name}/{SESSION}"
            traced.viewer = Viewer(["babeltrace2", "--input-format=lttng-live", url])
        for traced in both:
            assert traced.viewer is not None
            attach(traced.viewer, traced)
        phases["viewers attached"] = time.monotonic() - began
        for _ in range(ROUNDS):
            time.sleep(2 * LIVE_TIMER_US / 1e6)  # idle: the streams send beacons only
            for traced in both:
                assert traced.viewer is not None
                # Each child's exec, from its fork to the viewer's line.
                for pid in traced.work(3):
                    shown = traced.viewer.wait_for(exec_of(pid), 60)
                    traced.delays.append(shown - traced.forked[pid])
        record["delays_s"] = {t.name: t.delays for t in both}
        phases["rounds"] = time.monotonic() - began
        for traced in both:
            traced.lttng("stop", SESSION)
            traced.lttng("destroy", SESSION)
        # Session gone: the viewer's streams hang up and babeltrace2 exits by itself.
        for traced in both:
            assert traced.viewer is not None
            rc = traced.viewer.finish(120)
            record[f"viewer_{traced.name}"] = (rc, traced.viewer.stderr.decode(errors="replace"))
        phases["viewers done"] = time.monotonic() - began
        keep("multihost", record)
        for traced in both:
            assert traced.viewer is not None
            assert (rc, traced.viewer.stderr) == (0, b""), (traced.name, record)
            # Each viewer saw its own host's workload only.
            others = [p for t in both if t is not traced for p in t.pids]
            assert not [p for p in others if traced.viewer.seen(exec_of(p)) is not None]
    finally:
        for traced in both:
            if traced.viewer is not None:
                traced.viewer.kill()
            out = os.environ.get("PYLTTNG_VM_OUT")
            if out is not None and traced.host.holder is not None:
                traced.host.keep_logs(Path(out, "logs", "multihost"))
            killed[traced.name] = traced.host.stop()
            traced.link.delete()
        relayd.stop()
        view_link.delete()
        phases["torn down"] = time.monotonic() - began
        keep("multihost", record)
    # Every daemon ended on SIGTERM.
    assert not any(killed.values()), killed
    limit = LIVE_TIMER_US / 1e6 + MARGIN_S
    assert all(d < limit for t in both for d in t.delays), (record, limit)
    # One folder per host name, each with its one session, read by babeltrace2 whole.
    assert sorted(p.name for p in relayd.output.iterdir()) == [t.name for t in both]
    for traced in both:
        [trace] = traces(relayd.output / traced.name)
        assert trace.parent == relayd.output / traced.name, trace
        assert trace.name.startswith(f"{SESSION}-"), trace
        others = [p for t in both if t is not traced for p in t.pids]
        assert_each_once(trace, traced.pids, others)
