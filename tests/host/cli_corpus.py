"""Requests the stock `lttng` 2.13 CLI sent, as recorded by capture_cli_requests.py, and
the sandbox that both the recorder and test_sessiond_fuzz.py run daemons in.

A request is every byte the CLI wrote on one connection, plus the fds it passed
(SCM_RIGHTS): their offset in the stream and the path each one was open on.
"""

from __future__ import annotations

import array
import base64
import json
import os
import pathlib
import shlex
import shutil
import socket
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import trio
from pylttng.protocol.client.constants import Command

CORPUS = pathlib.Path(__file__).parent / "data" / "lttng-2.13-cli-requests.json"

# The CLI's home while recording: in the sandbox's private /tmp, so the paths that the
# requests carry (trace outputs, snapshot outputs, save files) exist again, empty, in the
# fuzzed daemon's sandbox.
CAPTURE_HOME = "/tmp/pylttng-capture"

MAX_FDS = 253  # LTTCOMM_MAX_SEND_FDS
FDS_CMSG_SPACE = socket.CMSG_SPACE(MAX_FDS * 4)


@dataclass(frozen=True)
class CapturedRequest:
    argv: str  # the lttng command line that sent it
    backend: str  # which daemon answered while recording: "stock" or "fake"
    data: bytes
    fds: tuple[tuple[int, tuple[str, ...]], ...] = ()  # (stream offset, [path]) per sendmsg

    @property
    def cmd_type(self) -> int:
        return int.from_bytes(self.data[:4], "little")

    @property
    def cmd_name(self) -> str:
        return command_name(self.cmd_type)


def command_name(cmd_type: int) -> str:
    try:
        return Command(cmd_type).name
    except ValueError:
        return str(cmd_type)


def _pack(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw, 9)).decode()


def dump(requests: Sequence[CapturedRequest], about: str) -> str:
    entries = [
        {
            "argv": r.argv,
            "backend": r.backend,
            "cmd": r.cmd_name,
            "data": _pack(r.data),
            "fds": [[at, list(paths)] for at, paths in r.fds],
        }
        for r in requests
    ]
    return json.dumps({"_about": about, "requests": entries}, indent=1) + "\n"


def load(path: pathlib.Path = CORPUS) -> list[CapturedRequest]:
    doc = json.loads(path.read_text())
    return [
        CapturedRequest(
            argv=e["argv"],
            backend=e["backend"],
            data=zlib.decompress(base64.b64decode(e["data"])),
            fds=tuple((int(at), tuple(paths)) for at, paths in e["fds"]),
        )
        for e in doc["requests"]
    ]


def received_fds(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    out = array.array("i")
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            out.frombytes(data[: len(data) - len(data) % out.itemsize])
    return list(out)


async def send_stream(
    sock: trio.socket.SocketType, data: bytes, fds_at: Sequence[tuple[int, Sequence[int]]] = ()
) -> None:
    """`data`, each group of fds riding alone on the byte at its offset, as
    lttcomm_send_fds_unix_sock() sends them (one byte)."""
    view, at = memoryview(data), 0
    for offset, fds in fds_at:
        rights = array.array("i", fds).tobytes()
        await _send_all(sock, view[at:offset])
        await sock.sendmsg([view[offset : offset + 1]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
        at = offset + 1
    await _send_all(sock, view[at:])


async def _send_all(sock: trio.socket.SocketType, view: memoryview) -> None:
    while view:
        view = view[await sock.send(view) :]


# The daemons run from this checkout (its build/pypath and tests/host).
CHECKOUT = pathlib.Path(__file__).resolve().parents[2]


def sandbox_available() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def sandboxed(argv: Sequence[str], *, read_only: bool) -> list[str]:
    """`argv` as root in a private mount namespace with empty /tmp, /run and /dev/shm of
    its own; with `read_only`, every other mount is read-only in it, so whatever path a
    request names, the process writes nowhere else. The process keeps its pid (exec):
    others reach its files through /proc/PID/root."""
    lines = ["set -e"]
    if read_only:
        lines.append(
            "for m in $(cut -d' ' -f5 /proc/self/mountinfo); do"
            ' mount -o remount,bind,ro "$m" 2>/dev/null || true; done'
        )
    for hidden in ("/tmp", "/run", "/dev/shm"):
        if not CHECKOUT.is_relative_to(hidden):
            lines.append(f"mount -t tmpfs tmpfs {hidden}")
            continue
        # A checkout under the folder it hides (a clone in /tmp): the shell's working
        # folder still reaches the checkout once hidden; bind it back where it was.
        src = shlex.quote(str(CHECKOUT))
        lines += [f"cd {src}", f"mount -t tmpfs tmpfs {hidden}",
                  f"mkdir -p {src}", f"mount --no-canonicalize --bind . {src}", "cd /"]
    lines.append("exec " + shlex.join(argv))
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", "\n".join(lines)]
