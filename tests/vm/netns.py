"""Machines made of namespaces in the test VM: network namespaces joined by veth pairs,
and traced hosts, each with its own network, host name and /var/run/lttng."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import run

STOP_TIMEOUT_S = 30.0
RUNDIR = "/var/run/lttng"


def ip(*args: str) -> None:
    result = run("ip", *args)
    assert result.rc == 0, f"ip {' '.join(args)}: {result.text}"


def netns_add(name: str) -> None:
    """A new network namespace ``name`` (any left by an earlier run goes first), lo up."""
    run("ip", "netns", "del", name)
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")


def netns_del(name: str) -> None:
    run("ip", "netns", "del", name)


class Veth:
    """A veth pair: its near end in ``near_netns`` (None: the root namespace) with
    ``near_addr``, its far end in ``netns`` with ``far_addr``, both /24. ``cut()`` takes
    the near end down: no RST, no FIN. By default the far namespace is created and
    deleted with the link."""

    HOST_ADDR = "10.77.0.1"
    PEER_ADDR = "10.77.0.2"

    def __init__(self, netns: str = "pylttng-relayd", *, near_netns: str | None = None,
                 names: tuple[str, str] = ("pyl-veth-h", "pyl-veth-r"),
                 addrs: tuple[str, str] = (HOST_ADDR, PEER_ADDR),
                 owns_netns: bool = True) -> None:
        self.netns = netns
        self.near_netns = near_netns
        self.near, self.far = names
        self.near_addr, self.far_addr = addrs
        self.owns_netns = owns_netns

    def _near(self) -> tuple[str, ...]:
        return ("-n", self.near_netns) if self.near_netns else ()

    def create(self) -> Veth:
        self.delete()
        if self.owns_netns:
            netns_add(self.netns)
        ip("link", "add", self.near, "type", "veth", "peer", "name", self.far)
        ip("link", "set", self.far, "netns", self.netns)
        if self.near_netns:
            ip("link", "set", self.near, "netns", self.near_netns)
        ip(*self._near(), "addr", "add", f"{self.near_addr}/24", "dev", self.near)
        ip(*self._near(), "link", "set", self.near, "up")
        ip("-n", self.netns, "addr", "add", f"{self.far_addr}/24", "dev", self.far)
        ip("-n", self.netns, "link", "set", self.far, "up")
        return self

    def cut(self) -> None:
        ip(*self._near(), "link", "set", self.near, "down")

    def delete(self) -> None:
        run("ip", *self._near(), "link", "del", self.near)
        if self.owns_netns:
            netns_del(self.netns)


class Host:
    """A traced machine sharing the guest's kernel: the network namespace ``netns``, its
    own host name (what a session daemon tells the relay daemon) and its own
    /var/run/lttng (the root session daemon's fixed rundir: two root daemons need two).
    A holder process keeps the mount and UTS namespaces; ``argv()`` runs in all three."""

    def __init__(self, name: str, netns: str) -> None:
        self.name = name
        self.netns = netns
        self.holder: subprocess.Popen[str] | None = None

    def start(self) -> Host:
        script = (f"mkdir -p {RUNDIR} && mount -t tmpfs -o mode=0755 {self.name} "
                  f"{RUNDIR} && hostname {self.name} && echo ready && exec sleep infinity")
        self.holder = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "unshare", "--mount", "--uts",
             "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.holder.stdout is not None
        line = self.holder.stdout.readline()
        assert line == "ready\n", line + self.holder.stdout.read()
        return self

    @property
    def pid(self) -> int:
        assert self.holder is not None
        return self.holder.pid

    def argv(self, *cmd: str) -> list[str]:
        return ["nsenter", "-t", str(self.pid), "-m", "-u", "-n", "--", *cmd]

    def rundir(self) -> Path:
        """Its /var/run/lttng, seen from the root mount namespace (through /proc/PID/root,
        where an absolute symbolic link such as /var/run would lead back out)."""
        return Path(f"/proc/{self.pid}/root{Path(RUNDIR).resolve()}")

    def processes(self) -> list[int]:
        """Every process in its mount namespace but the holder."""
        mine = os.readlink(f"/proc/{self.pid}/ns/mnt")
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self.pid:
                continue
            try:
                if os.readlink(entry / "ns" / "mnt") == mine:
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def keep_logs(self, dest: Path) -> None:
        """The daemons' logs in its rundir, copied to dest/<name>/."""
        logs = list(self.rundir().rglob("*.log"))
        if logs:
            (dest / self.name).mkdir(parents=True, exist_ok=True)
            for log in logs:
                shutil.copy(log, dest / self.name / log.name)

    def stop(self) -> list[int]:
        """End what runs in it (SIGTERM, then SIGKILL after STOP_TIMEOUT_S), then the
        holder; its namespaces go with it. Returns the pids that needed SIGKILL."""
        if self.holder is None or self.holder.poll() is not None:
            return []
        for pid in self.processes():
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while (left := self.processes()) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in left:
            _signal(pid, signal.SIGKILL)
        self.holder.kill()
        self.holder.wait(timeout=STOP_TIMEOUT_S)
        return left


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
