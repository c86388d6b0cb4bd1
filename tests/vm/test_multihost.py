"""Several hosts, one collector (issue 22): three machines made of namespaces in the guest
(tests/vm/netns.py), each host linked to the collector by its own veth pair. Two traced
hosts, each with its own host name, /var/run/lttng and session daemon — pylttng-sessiond on
one, for comparison the stock lttng-sessiond on the other, both on pylttng.ko — record a
live session of the same name, streamed to the collector's lttng-relayd. Each session
tracks the uid its host's workload runs as; on a fourth machine (the root namespace), one
babeltrace2 follows both hosts' sessions and must show each host's events, under its host
name, within the live timer period and a second. The relay daemon's output then holds one folder per
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
    delays: list[float] = field(default_factory=list)

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
        """Fork and exec /bin/true `count` times in the host, as its uid; the pids."""
        loop = (f"i=0; while [ $i -lt {count} ]; do /bin/true & echo $!; wait $!; "
                "i=$((i + 1)); done")
        argv = self.host.argv("setpriv", f"--reuid={self.uid}", f"--regid={self.uid}",
                              "--clear-groups", "sh", "-c", loop)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        pids = []
        for line in proc.stdout:
            pids.append(int(line))
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


def one_viewer(urls: list[str]) -> Viewer:
    """One babeltrace2 following every host's live session: a graph of one lttng-live
    source and one pretty sink per host. Not one muxed stream: a muxer waits for each
    source's next message before it shows any, so the slower host would hold back the
    other's events."""
    argv = ["babeltrace2", "run"]
    for n, url in enumerate(urls):
        argv += [f"--component=live-{n}:source.ctf.lttng-live",
                 # As `babeltrace2 --input-format=lttng-live` does: the source ends once its
                 # session is gone, instead of waiting for one of the same name.
                 f"--params=inputs=[\"{url}\"],session-not-found-action=\"end\"",
                 f"--component=show-{n}:sink.text.pretty",
                 f"--connect=live-{n}:show-{n}"]
    return Viewer(argv)


def host_shown(viewer: Viewer, pid: int) -> str | None:
    """The host name on the viewer's line for the exec of pid, or None before that line:
    babeltrace2's pretty lines read "[time] (+delta) <host name> <event>: ..."."""
    line = next((line for _, line in list(viewer.lines) if exec_of(pid) in line), None)
    return None if line is None else line.split()[2]


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
    viewer: Viewer | None = None
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
        viewer = one_viewer([f"net://{view_link.far_addr}/host/{t.name}/{SESSION}"
                             for t in both])
        for traced in both:
            attach(viewer, traced)
        phases["viewer attached"] = time.monotonic() - began
        for _ in range(ROUNDS):
            time.sleep(2 * LIVE_TIMER_US / 1e6)  # idle: the streams send beacons only
            for traced in both:
                # Each child's exec, from its trace timestamp to the viewer's line.
                traced.delays += [viewer.delay(exec_of(pid), 60) for pid in traced.work(3)]
        record["delays_s"] = {t.name: t.delays for t in both}
        phases["rounds"] = time.monotonic() - began
        for traced in both:
            traced.lttng("stop", SESSION)
            traced.lttng("destroy", SESSION)
        # Both sessions gone: each source's streams hang up and babeltrace2 exits by itself.
        rc = viewer.finish(120)
        record["viewer"] = (rc, viewer.stderr.decode(errors="replace"))
        phases["viewer done"] = time.monotonic() - began
        keep("multihost", record)
        assert (rc, viewer.stderr) == (0, b""), record
        # Every exec shown under the host name of the host that ran it.
        hosts_shown = {t.name: {host_shown(viewer, p) for p in t.pids} for t in both}
        assert hosts_shown == {t.name: {t.name} for t in both}, hosts_shown
    finally:
        if viewer is not None:
            viewer.kill()
        for traced in both:
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
