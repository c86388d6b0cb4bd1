"""The stock lttng-relayd 2.13 in the test VM (bench/relayd.py, shared with the benchmark's
streaming step), and a veth pair to reach a relay daemon in a network namespace (for
cutting its link)."""

from __future__ import annotations

from conftest import run

from bench.relayd import Relayd, loopback_up, traces_of

__all__ = ["Relayd", "Veth", "loopback_up", "traces_of"]


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
