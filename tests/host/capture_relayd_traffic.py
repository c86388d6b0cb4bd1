"""Record what the stock lttng-sessiond and lttng-consumerd 2.13 send to the stock
lttng-relayd, and what it answers: the corpus of test_relayd_captures.py
(data/lttng-2.13-relayd-traffic.json).

    PYTHONSAFEPATH=1 PYTHONPATH=build/pypath python3 tests/host/capture_relayd_traffic.py

Each scenario starts a fresh lttng-relayd and a fresh lttng-sessiond (which spawns its
lttng-consumerd), runs a user-space session that streams to the relay daemon
(`lttng create -U net://...`) through a recording TCP proxy, with a tiny program traced
by lttng-ust's tracef(), and stores every connection's two byte streams.
The host's kernel has no LTTng tracer: the user-space domain exercises the same relayd
commands as a kernel session (only the stream paths differ, `ust/uid/...` vs `kernel`).
Every daemon runs unprivileged (as nobody when this runs as root) with LTTNG_HOME in a
temporary folder, on 127.0.0.1 ports picked at random: no root session daemon, no
default port is touched. The recordings vary from one run to the next (dates, uuids,
timestamps, the host name).
Needs lttng-tools 2.13, gcc and liblttng-ust-dev.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from relayd_corpus import CORPUS, CapturedConnection, Kind, dump

NOBODY = 65534
TIMEOUT_S = 30
APP_SOURCE = r"""
#include <lttng/tracef.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	for (int i = 0; i < n; i++)
		tracef("pylttng relayd capture %d", i);
	return 0;
}
"""

# The session of every scenario is "s"; `{net}` is the proxy's control and data URL.
# Small sub-buffers keep the recorded packets small; one event name keeps the metadata
# small. "app N" runs the traced program, "sleep S" waits.
SCENARIOS: dict[str, list[str]] = {
    # create session, streams, metadata, data, indexes, data pending, metadata
    # regeneration, rotation (trace chunks), clear, destroy
    "session": [
        "create s -U {net}",
        "enable-channel -u --subbuf-size=4096 --num-subbuf=2 c0",
        "enable-event -u -c c0 lttng_ust_tracef:event",
        "start",
        "app 3",
        "regenerate metadata",
        "sleep 1",
        "rotate",
        "app 2",
        "stop",
        "clear",
        "destroy",
    ],
    # a live session: live timer in create-session, live beacons (empty indexes); trace
    # file size and count in add-stream
    "live": [
        "create s --live=100000 -U {net}",
        (
            "enable-channel -u --subbuf-size=4096 --num-subbuf=2 --tracefile-size=8192"
            " --tracefile-count=3 c0"
        ),
        "enable-event -u -c c0 lttng_ust_tracef:event",
        "start",
        "app 2",
        "sleep 0.5",
        "stop",
        "destroy",
    ],
    # a snapshot session: snapshot flag, a trace chunk with an override name
    "snapshot": [
        "create s --snapshot -U {net}",
        "enable-channel -u --subbuf-size=4096 --num-subbuf=2 c0",
        "enable-event -u -c c0 lttng_ust_tracef:event",
        "start",
        "app 2",
        "snapshot record",
        "stop",
        "destroy",
    ],
}

ABOUT = (
    "lttng-tools {version} sessiond/consumerd <-> lttng-relayd traffic, recorded by"
    " tests/host/capture_relayd_traffic.py: one entry per TCP connection,"
    " to_relayd/from_relayd = base64(zlib(bytes))"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Recording:
    kind: Kind
    opened_during: str
    to_relayd: bytearray = field(default_factory=bytearray)
    from_relayd: bytearray = field(default_factory=bytearray)


class Proxy:
    """Accepts the daemons' connections, relays each one to the relay daemon and records
    both directions."""

    def __init__(self, relayd_ports: dict[Kind, int]) -> None:
        self.relayd_ports = relayd_ports
        self.current_command = ""
        self.recordings: list[Recording] = []
        self.open_connections = 0

    async def copy(self, src: trio.SocketStream, dst: trio.SocketStream, into: bytearray) -> None:
        try:
            while data := await src.receive_some(65536):
                into += data
                await dst.send_all(data)
            await dst.send_eof()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass

    async def handle(self, kind: Kind, peer: trio.SocketStream) -> None:
        recording = Recording(kind, self.current_command)
        self.recordings.append(recording)
        self.open_connections += 1
        try:
            relayd = await trio.open_tcp_stream("127.0.0.1", self.relayd_ports[kind])
            async with peer, relayd, trio.open_nursery() as nursery:
                nursery.start_soon(self.copy, peer, relayd, recording.to_relayd)
                nursery.start_soon(self.copy, relayd, peer, recording.from_relayd)
        finally:
            self.open_connections -= 1


def as_user(env: dict[str, str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"env": env}
    if os.geteuid() == 0:
        kwargs.update(user=NOBODY, group=NOBODY, extra_groups=[])
    return kwargs


async def wait_until(what: str, ready: Any, proc: trio.Process) -> None:
    with trio.fail_after(TIMEOUT_S):
        while not await ready():
            if proc.returncode is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}")
            await trio.sleep(0.05)


async def accepts_tcp(port: int) -> bool:
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
    except OSError:
        return False
    await stream.aclose()
    return True


async def accepts_unix(path: str) -> bool:
    with trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            await probe.connect(path)
        except OSError:
            return False
    return True


async def stop(proc: trio.Process) -> None:
    proc.terminate()
    with trio.move_on_after(TIMEOUT_S):
        await proc.wait()
        return
    proc.kill()
    await proc.wait()


async def run_scenario(name: str, commands: Sequence[str], work: pathlib.Path) -> list[Recording]:
    home = work / name / "home"
    out = work / name / "relayd-out"
    for d in (home, out):
        d.mkdir(parents=True)
        if os.geteuid() == 0:
            os.chown(d, NOBODY, NOBODY)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LTTNG_HOME": str(home),
        "LC_ALL": "C.UTF-8",
        # The CLI must not spawn a session daemon of its own: this one is started below.
        "LTTNG_SESSIOND_PATH": "/bin/false",
        # The traced program waits for the session daemon before it runs main().
        "LTTNG_UST_REGISTER_TIMEOUT": "10000",
        # No base-address statedump: fewer events, smaller recordings.
        "LTTNG_UST_WITHOUT_BADDR_STATEDUMP": "1",
    }
    relayd_ports: dict[Kind, int] = {"control": free_port(), "data": free_port()}
    proxy_ports: dict[Kind, int] = {"control": free_port(), "data": free_port()}
    proxy = Proxy(relayd_ports)
    net = f"net://127.0.0.1:{proxy_ports['control']}:{proxy_ports['data']}"
    relayd = await trio.lowlevel.open_process(
        [
            "lttng-relayd",
            f"--output={out}",
            f"--control-port=tcp://127.0.0.1:{relayd_ports['control']}",
            f"--data-port=tcp://127.0.0.1:{relayd_ports['data']}",
            f"--live-port=tcp://127.0.0.1:{free_port()}",
        ],
        **as_user(env),
    )
    sessiond: trio.Process | None = None
    try:
        await wait_until("lttng-relayd", lambda: accepts_tcp(relayd_ports["data"]), relayd)
        async with trio.open_nursery() as nursery:
            for kind, port in proxy_ports.items():
                listeners = await trio.open_tcp_listeners(port, host="127.0.0.1")
                nursery.start_soon(trio.serve_listeners, _handler(proxy, kind), listeners)
            sessiond = await trio.lowlevel.open_process(
                ["lttng-sessiond", "--no-kernel", "--quiet"], **as_user(env)
            )
            client_socket = str(home / ".lttng" / "client-lttng-sessiond")
            await wait_until("lttng-sessiond", lambda: accepts_unix(client_socket), sessiond)
            for command in commands:
                command = command.format(net=net)
                proxy.current_command = command
                await run_command(command, work / "app", env)
            # Some connections live as long as the daemons (a snapshot session's).
            await stop(sessiond)
            with trio.fail_after(TIMEOUT_S):
                while proxy.open_connections:
                    await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
    finally:
        if sessiond is not None and sessiond.returncode is None:
            await stop(sessiond)
        await stop(relayd)
    return proxy.recordings


def _handler(proxy: Proxy, kind: Kind) -> Any:
    async def handle(stream: trio.SocketStream) -> None:
        await proxy.handle(kind, stream)

    return handle


async def run_command(command: str, app: pathlib.Path, env: dict[str, str]) -> None:
    verb, *args = shlex.split(command)
    if verb == "sleep":
        await trio.sleep(float(args[0]))
        return
    argv = [str(app), *args] if verb == "app" else ["lttng", verb, *args]
    with trio.fail_after(TIMEOUT_S):
        result = await trio.run_process(
            argv, capture_stdout=True, stderr=subprocess.STDOUT, check=False, **as_user(env)
        )
    last = result.stdout.decode(errors="replace").strip().splitlines()[-1:]
    print(f"  {command}: rc={result.returncode} {last}", file=sys.stderr, flush=True)
    if result.returncode != 0:
        raise RuntimeError(f"`{command}` failed: {result.stdout.decode(errors='replace')}")


def build_app(work: pathlib.Path) -> None:
    source = work / "app.c"
    source.write_text(APP_SOURCE)
    subprocess.run(
        ["gcc", "-O1", "-o", str(work / "app"), str(source), "-llttng-ust", "-ldl"], check=True
    )


def lttng_version() -> str:
    out = subprocess.run(["lttng", "--version"], capture_output=True, text=True, check=True)
    # "lttng (LTTng Trace Control) 2.13.9 - Nordicité"
    found = re.search(r"\d+\.\d+\.\d+", out.stdout)
    return found.group(0) if found else out.stdout.strip()


async def capture(work: pathlib.Path) -> list[CapturedConnection]:
    connections = []
    for name, commands in SCENARIOS.items():
        print(f"[{name}]", file=sys.stderr, flush=True)
        for r in await run_scenario(name, commands, work):
            connections.append(
                CapturedConnection(
                    name, r.kind, r.opened_during, bytes(r.to_relayd), bytes(r.from_relayd)
                )
            )
    return connections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=CORPUS)
    args = parser.parse_args()
    for tool in ("lttng", "lttng-sessiond", "lttng-relayd", "gcc"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: install lttng-tools, gcc and liblttng-ust-dev")
    with tempfile.TemporaryDirectory(prefix="pylttng-relayd-capture-") as tmp:
        work = pathlib.Path(tmp)
        work.chmod(0o755)
        build_app(work)
        connections = trio.run(capture, work)
    args.out.write_text(dump(connections, ABOUT.format(version=lttng_version())))
    total = sum(len(c.to_relayd) + len(c.from_relayd) for c in connections)
    print(f"{len(connections)} connections, {total} bytes -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
