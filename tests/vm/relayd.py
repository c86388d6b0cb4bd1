"""The stock lttng-relayd 2.13 in the test VM, on given ports, optionally inside a network
namespace (for cutting its link), and a veth pair to reach such a namespace."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import run

RELAYD = "/usr/bin/lttng-relayd"
START_TIMEOUT_S = 60.0  # a relayd starts in well under a second; TCG is slow


class Relayd:
    """One lttng-relayd: ``address`` is where its three ports listen (an IPv6 address
    without brackets), ``output`` the folder it writes traces into."""

    def __init__(self, output: Path, address: str, control: int, data: int, live: int, *,
                 netns: str | None = None) -> None:
        self.output = output
        self.address = address
        self.ports = (control, data, live)
        self.netns = netns
        self.log = output.with_name(output.name + ".log")
        self.proc: subprocess.Popen[bytes] | None = None

    def _url(self, port: int) -> str:
        if ":" in self.address:
            return f"tcp6://[{self.address}]:{port}"
        return f"tcp://{self.address}:{port}"

    def start(self) -> Relayd:
        self.output.mkdir(parents=True, exist_ok=True)
        argv = [RELAYD, f"--output={self.output}", "-v",
                f"--control-port={self._url(self.ports[0])}",
                f"--data-port={self._url(self.ports[1])}",
                f"--live-port={self._url(self.ports[2])}"]
        if self.netns is not None:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        env = dict(os.environ, LTTNG_HOME=str(self.output.parent))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, env=env)
        self._wait_listening()
        return self

    def _wait_listening(self) -> None:
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
            try:
                with socket.socket(family, socket.SOCK_STREAM) as s:
                    s.settimeout(1)
                    s.connect((self.address, self.ports[1]))
                return
            except OSError:
                assert time.monotonic() < deadline, f"lttng-relayd not listening: {self.log}"
                time.sleep(0.1)

    def kill(self) -> None:
        """kill -9: no goodbye to its peers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


def traces_of(relayd: Relayd) -> list[Path]:
    """Every trace the relay daemon wrote: each folder holding kernel/metadata."""
    return sorted(p.parent.parent for p in relayd.output.rglob("kernel/metadata"))


class Veth:
    """A network namespace reached from the root one through a veth pair:
    HOST_ADDR here, PEER_ADDR there. ``cut()`` takes the link down: no RST, no FIN."""

    HOST_ADDR = "10.77.0.1"
    PEER_ADDR = "10.77.0.2"

    def __init__(self, netns: str = "pylttng-relayd") -> None:
        self.netns = netns
        self.host = "pyl-veth-h"
        self.peer = "pyl-veth-r"

    def _ip(self, *args: str) -> None:
        result = run("ip", *args)
        assert result.rc == 0, f"ip {' '.join(args)}: {result.text}"

    def create(self) -> Veth:
        self.delete()
        self._ip("netns", "add", self.netns)
        self._ip("link", "add", self.host, "type", "veth", "peer", "name", self.peer)
        self._ip("link", "set", self.peer, "netns", self.netns)
        self._ip("addr", "add", f"{self.HOST_ADDR}/24", "dev", self.host)
        self._ip("link", "set", self.host, "up")
        ns = ("netns", "exec", self.netns, "ip")
        self._ip(*ns, "addr", "add", f"{self.PEER_ADDR}/24", "dev", self.peer)
        self._ip(*ns, "link", "set", self.peer, "up")
        self._ip(*ns, "link", "set", "lo", "up")
        return self

    def cut(self) -> None:
        self._ip("link", "set", self.host, "down")

    def delete(self) -> None:
        run("ip", "link", "del", self.host)
        run("ip", "netns", "del", self.netns)
