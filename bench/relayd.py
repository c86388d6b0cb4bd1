"""The stock lttng-relayd 2.13 on given ports, optionally inside a network namespace: the
relay daemon that the benchmark's streaming step and the VM tests stream to."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

RELAYD = "/usr/bin/lttng-relayd"
START_TIMEOUT_S = 60.0  # a relayd starts in well under a second; TCG is slow


class RelaydError(RuntimeError):
    """The relay daemon did not start, or could not be brought up."""


def loopback_up() -> None:
    """The guest boots with `lo` down: a relay daemon on 127.0.0.1 needs it."""
    proc = subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RelaydError(f"ip link set lo up: {proc.stdout + proc.stderr}")


class Relayd:
    """One lttng-relayd: ``address`` is where its three ports listen (an IPv6 address
    without brackets), ``output`` the folder it writes traces into. With ``bind``, they
    listen there instead (0.0.0.0: every link of its namespace), ``address`` being where
    this namespace reaches them."""

    def __init__(self, output: Path, address: str, control: int, data: int, live: int, *,
                 netns: str | None = None, bind: str | None = None) -> None:
        self.output = output
        self.address = address
        self.bind = bind or address
        self.ports = (control, data, live)
        self.netns = netns
        self.log = output.with_name(output.name + ".log")
        self.proc: subprocess.Popen[bytes] | None = None

    def _url(self, port: int) -> str:
        if ":" in self.bind:
            return f"tcp6://[{self.bind}]:{port}"
        return f"tcp://{self.bind}:{port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

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
            if not self.running:
                raise RelaydError(f"lttng-relayd exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.socket(family, socket.SOCK_STREAM) as s:
                    s.settimeout(1)
                    s.connect((self.address, self.ports[1]))
                return
            except OSError:
                if time.monotonic() >= deadline:
                    raise RelaydError(f"lttng-relayd not listening: {self.log}") from None
                time.sleep(0.1)

    def kill(self) -> None:
        """kill -9: no goodbye to its peers."""
        if self.proc is None:
            raise RelaydError("lttng-relayd was never started")
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
