"""Fuzz pylttng-sessiond's client socket with mutated requests of the real `lttng` CLI.

The corpus is what the stock lttng 2.13 CLI sent (data/lttng-2.13-cli-requests.json,
recorded by capture_cli_requests.py). Each daemon runs as a process, spoken to only over
its client socket, in a sandbox (cli_corpus.sandboxed): the fuzzed requests name arbitrary
paths, and a root daemon would create them anywhere. Two daemons: pylttng-sessiond as
shipped (--no-kernel: what a host without the module runs) and the same command path over
the fake kernel tracer (fake_kernel.py), so that the kernel-domain handlers run.

Mutations: bit flips, boundary values over fields and over anything that looks like a
length, truncation, extension, every command number and some out of range, domain
changes, fd_count lies (fds announced and not sent, sent and not announced), odd session
names, unterminated strings, random bytes; then, each batch, concurrent connections some
of which stall halfway; at the end, more idle connections than the daemon may have fds.

Invariants: no reply says LTTNG_ERR_FATAL (an unhandled exception in the daemon), every
reply parses, the daemon neither dies nor stops answering (a well-formed LIST_SESSIONS
succeeds after every batch), and it holds no more fds at the end than at the start.
Flooded, it uses up its fds yet stays up, answers a connection it accepted before, logs
the shortage once, and accepts new connections once the flood is closed.
A failure prints every finding grouped by command, with the daemon's tracebacks.

PYLTTNG_FUZZ_SEED picks the mutations (printed; default fixed), PYLTTNG_FUZZ_COUNT how
many mutants the two daemons get between them (SHARE).
"""

from __future__ import annotations

import collections
import dataclasses
import errno
import functools
import os
import pathlib
import random
import re
import resource
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence

import pytest
import trio
from cli_corpus import (
    CAPTURE_HOME,
    FDS_CMSG_SPACE,
    CapturedRequest,
    command_name,
    load,
    received_fds,
    sandbox_available,
    sandboxed,
    send_stream,
)
from pylttng.protocol.client import reader, structs, writer
from pylttng.protocol.client.constants import (
    Command,
    ErrorCode,
    UriDstType,
)
from pylttng.protocol.client.errors import ProtocolError
from pylttng.protocol.client.messages import Uri

import pylttng

pytestmark = pytest.mark.skipif(not sandbox_available(), reason="needs root and unshare")

SEED = int(os.environ.get("PYLTTNG_FUZZ_SEED", "2013"))
MUTANTS = int(os.environ.get("PYLTTNG_FUZZ_COUNT", "10000"))
# Each daemon's share: the fake kernel's runs the kernel-domain handlers, where the other
# answers KERN_NA; both run the rest of the command path.
SHARE = {"fake-kernel": 0.7, "no-kernel": 0.3}
BATCH = 200
CONCURRENT = 16  # mutants sent at once at the end of each batch
STALLED = 8  # connections that send half a request and wait, meanwhile
REPLY_TIMEOUT_S = 10.0  # well under the daemon's own 30 s receive timeout
DAEMON_FD_LIMIT = 256  # its RLIMIT_NOFILE (soft), for the flood of idle connections
FD_SHORTAGE = "cannot accept connections"  # what the daemon logs when it is out of fds

SOCKET = "/run/lttng/client-lttng-sessiond"  # the root daemon's, in the sandbox
FAKE_KERNEL = pathlib.Path(__file__).parent / "fake_kernel.py"
DAEMONS = {
    "no-kernel": ["-m", "pylttng.sessiond.main", "--no-kernel"],
    "fake-kernel": [str(FAKE_KERNEL), SOCKET],
}

# struct lttcomm_session_msg: where its fields start.
NAME_AT = 4
DOMAIN_AT = NAME_AT + structs.SESSION_SIZE
UNION_AT = DOMAIN_AT + structs.DOMAIN_SIZE
FD_COUNT_AT = UNION_AT + structs.SESSION_MSG_UNION_SIZE
PAYLOAD_AT = structs.SESSION_MSG_SIZE
# Regions a mutation aims at: the rest of the message is padding nobody reads.
REGIONS = {
    "cmd": (0, 4),
    "name": (NAME_AT, NAME_AT + 255),
    "domain": (DOMAIN_AT, DOMAIN_AT + 12),
    "union": (UNION_AT, UNION_AT + 300),
    "fd_count": (FD_COUNT_AT, FD_COUNT_AT + 4),
}


LIST_SESSIONS = CapturedRequest(
    "lttng list", "writer", writer.encode_request(Command.LIST_SESSIONS)
)


def set_consumer_uri() -> CapturedRequest:
    """LTTNG_SET_CONSUMER_URI: no 2.13 CLI command sends it any more (lttng_set_consumer_url)."""
    uri = writer.encode_uri(Uri(dtype=UriDstType.PATH, dst=f"{CAPTURE_HOME}/consumer"))
    data = writer.encode_request(
        Command.SET_CONSUMER_URI, "s1", union=(1).to_bytes(4, "little"), payload=uri
    )
    return CapturedRequest("lttng_set_consumer_url()", "writer", data)


# --- mutations ------------------------------------------------------------------------


@dataclasses.dataclass
class Mutant:
    base: CapturedRequest
    data: bytearray
    fds: list[tuple[int, tuple[str, ...]]]
    ops: list[str] = dataclasses.field(default_factory=list)

    @property
    def cmd_name(self) -> str:
        """The command it claims to be, once mutated."""
        return command_name(int.from_bytes(self.data[:4], "little")) if len(self.data) >= 4 else "-"

    @property
    def label(self) -> str:
        return f"{self.base.cmd_name} " + (" + ".join(self.ops) or "as recorded")


def _region(rng: random.Random, m: Mutant) -> tuple[str, int, int]:
    names = list(REGIONS)
    if len(m.data) > PAYLOAD_AT:
        names += ["payload"] * 3  # where most of the decoding happens
    name = rng.choice(names)
    lo, hi = REGIONS.get(name, (PAYLOAD_AT, len(m.data)))
    return name, lo, min(hi, len(m.data))


@functools.cache
def _length_words(base: CapturedRequest) -> list[int]:
    """Offsets of the (packed, so unaligned) little-endian words of a request that look
    like lengths or counts."""
    data = base.data
    spans = [(UNION_AT, UNION_AT + 300), (PAYLOAD_AT, min(len(data), PAYLOAD_AT + 4096))]
    return [
        at
        for lo, hi in spans
        for at in range(lo, hi - 3)
        if 0 < int.from_bytes(data[at : at + 4], "little") <= 1 << 20
    ]


def _where(at: int) -> str:
    for name, (lo, hi) in REGIONS.items():
        if lo <= at < hi:
            return f"{name}+{at - lo}"
    return f"payload+{at - PAYLOAD_AT}" if at >= PAYLOAD_AT else f"@{at}"


def flip_bits(rng: random.Random, m: Mutant) -> str:
    name, lo, hi = _region(rng, m)
    n = rng.choice((1, 1, 2, 4, 8))
    for _ in range(n):
        m.data[rng.randrange(lo, hi)] ^= 1 << rng.randrange(8)
    return f"flip {n} bits in {name}"


def boundary_value(rng: random.Random, m: Mutant) -> str:
    words = _length_words(m.base)
    if words and rng.random() < 0.6:
        at, width = rng.choice(words), rng.choice((4, 4, 2, 8))
    else:
        _name, lo, hi = _region(rng, m)
        at, width = rng.randrange(lo, hi), rng.choice((1, 2, 4, 8))
    width = min(width, len(m.data) - at)
    current = int.from_bytes(m.data[at : at + width], "little")
    top = (1 << (8 * width)) - 1
    value = rng.choice(
        (0, top, top >> 1, (top >> 1) + 1, current + 1, current - 1, current * 2,
         1 << 31, (1 << 32) - 1, 1 << 20, (1 << 20) + 1, 13156, rng.randrange(top + 1))
    ) & top
    m.data[at : at + width] = value.to_bytes(width, "little")
    return f"{_where(at)}:u{8 * width}={value:#x}"


def truncate(rng: random.Random, m: Mutant) -> str:
    end = max(len(m.data) - 1, 0)
    size = min(rng.choice((rng.randint(0, end), PAYLOAD_AT - 1, PAYLOAD_AT, end, 4, 0)), end)
    del m.data[size:]
    return f"truncated to {size}"


def extend(rng: random.Random, m: Mutant) -> str:
    n = rng.choice((1, 4, 100, 4096, 70000))
    m.data += rng.randbytes(n) if rng.random() < 0.5 else bytes(n)
    return f"{n} bytes appended"


def swap_command(rng: random.Random, m: Mutant) -> str:
    cmd = rng.choice((*range(61), 53, 99, 1000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF))
    m.data[0:4] = cmd.to_bytes(4, "little")
    return f"cmd={command_name(cmd)}"


def change_domain(rng: random.Random, m: Mutant) -> str:
    dtype = rng.choice((*range(7), -1, 1000))
    m.data[DOMAIN_AT : DOMAIN_AT + 4] = dtype.to_bytes(4, "little", signed=True)
    out = f"domain={dtype}"
    if rng.random() < 0.3:
        buf = rng.choice((0, 1, 2, 3, -1))
        m.data[DOMAIN_AT + 4 : DOMAIN_AT + 8] = buf.to_bytes(4, "little", signed=True)
        out += f" buffers={buf}"
    return out


def lie_about_fds(rng: random.Random, m: Mutant) -> str:
    announced = int.from_bytes(m.data[FD_COUNT_AT : FD_COUNT_AT + 4], "little")
    kind = rng.randrange(3)
    if kind == 0:  # announce some, send none
        n = rng.choice((1, 2, 253, 254, 0xFFFFFFFF))
        m.data[FD_COUNT_AT : FD_COUNT_AT + 4] = n.to_bytes(4, "little")
        m.fds.clear()
        return f"fd_count={n}, no fd sent"
    extra = (os.devnull,) * rng.choice((1, 2, 5))
    if kind == 1:  # send more than announced
        m.fds = [(len(m.data), extra)] if not m.fds else [(m.fds[0][0], m.fds[0][1] + extra)]
        return f"fd_count={announced}, {len(extra)} more fds sent"
    # fds riding on the bytes of the request itself, not after it
    m.fds = [(rng.randrange(len(m.data)), extra)]
    return f"{len(extra)} fds sent inside the request"


def mangle_name(rng: random.Random, m: Mutant) -> str:
    name = rng.choice((b"", b"A" * 255, b"../../x", b".hidden", b"a/b", b"\xff\xfe\x80", b"%n%s"))
    m.data[NAME_AT : NAME_AT + 255] = name.ljust(255, b"\0")
    return f"session name {name[:12]!r}{'...' if len(name) > 12 else ''}"


def unterminate_string(rng: random.Random, m: Mutant) -> str:
    """A NUL that ends a string (union channel name or payload) becomes a letter."""
    nuls = [
        at
        for at in range(UNION_AT + 1, len(m.data))
        if m.data[at] == 0 and 0x20 < m.data[at - 1] < 0x7F
        and (at < UNION_AT + 260 or at >= PAYLOAD_AT)
    ]
    if not nuls:
        m.data[UNION_AT : UNION_AT + 256] = b"c" * 256
        return "channel name of 256 letters"
    at = rng.choice(nuls)
    m.data[at] = ord("A")
    return f"string unterminated at {_where(at)}"


def garbage(rng: random.Random, m: Mutant) -> str:
    name, lo, hi = _region(rng, m)
    at = rng.randrange(lo, hi)
    n = min(rng.choice((1, 8, 64, 512)), len(m.data) - at)
    m.data[at : at + n] = rng.randbytes(n)
    return f"{n} random bytes in {name}"


MUTATIONS: Sequence[Callable[[random.Random, Mutant], str]] = (
    flip_bits,
    flip_bits,
    boundary_value,
    boundary_value,
    boundary_value,
    truncate,
    extend,
    swap_command,
    swap_command,
    change_domain,
    lie_about_fds,
    mangle_name,
    unterminate_string,
    garbage,
)


def mutate(rng: random.Random, base: CapturedRequest) -> Mutant:
    m = Mutant(base, bytearray(base.data), list(base.fds))
    ops = [rng.choice(MUTATIONS) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
    # Truncation last: the others work on the whole session message.
    for op in sorted(ops, key=lambda op: op is truncate):
        m.ops.append(op(rng, m))
    return m


def as_recorded(base: CapturedRequest) -> Mutant:
    return Mutant(base, bytearray(base.data), list(base.fds))


# --- the daemon -------------------------------------------------------------------------


@dataclasses.dataclass
class Finding:
    kind: str  # FATAL, bad reply, no reply, refused, died, flood
    cmd: str  # the command the request claimed to be, or "-"
    mutation: str
    detail: str = ""


class Daemon:
    """One sandboxed daemon process and the client side of its socket."""

    def __init__(self, name: str, log_path: pathlib.Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # The daemon imports the pylttng this test imports.
            "PYTHONPATH": str(pathlib.Path(pylttng.__path__[0]).parent),
            "PYTHONSAFEPATH": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "HOME": CAPTURE_HOME,
            "LTTNG_HOME": CAPTURE_HOME,
        }
        argv = sandboxed([sys.executable, *DAEMONS[name]], read_only=True)
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=self._log, env=env, cwd="/")
        self.root = pathlib.Path(f"/proc/{self.proc.pid}/root")
        self.socket = str(self.root) + SOCKET

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def last_error(self) -> str:
        """The last exception the daemon logged (an uncaught one ends the log)."""
        errors = _EXCEPTION.findall(self.log_path.read_text(errors="replace"))
        return errors[-1] if errors else "nothing logged"

    def tracebacks(self) -> dict[str, collections.Counter[str]]:
        """The daemon's tracebacks by the command it logged before each one: the innermost
        frames and the exception."""
        out: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        log = self.log_path.read_text(errors="replace")
        for m in _TRACEBACK.finditer(log):
            lines = m[2].splitlines()
            frames = [ln.strip() for ln in lines if ln.strip().startswith("File ")]
            out[command_name(int(m[1])) if m[1] else "?"][
                " | ".join([*frames[-2:], lines[-1]])
            ] += 1
        return out

    async def wait_ready(self) -> None:
        with trio.fail_after(30):
            while True:
                assert self.alive(), f"{self.name} exited: {self.log_path.read_text()}"
                try:
                    if (await self.ask(LIST_SESSIONS.data))[0]:
                        break
                except (OSError, trio.TooSlowError):
                    pass
                await trio.sleep(0.05)
        # Lowered once the daemon is up: as root, it raises its own limit as it starts.
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.prlimit(self.proc.pid, resource.RLIMIT_NOFILE, (DAEMON_FD_LIMIT, hard))
        # The requests' paths live under the CLI's home: make it, empty, in the sandbox.
        os.makedirs(str(self.root) + CAPTURE_HOME, exist_ok=True)

    async def connect(self, timeout: float = REPLY_TIMEOUT_S) -> trio.socket.SocketType:
        """A connected socket, retried while the daemon's backlog is full (AF_UNIX's
        connect() says EAGAIN then, which trio takes for EINPROGRESS and returns)."""
        with trio.fail_after(timeout):
            while True:
                sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    await sock.connect(self.socket)
                    sock.getpeername()
                    return sock
                except OSError as exc:
                    sock.close()
                    if exc.errno != errno.ENOTCONN:
                        raise
                await trio.sleep(0.01)

    async def ask(
        self,
        data: bytes,
        fd_paths: Sequence[tuple[int, Sequence[str]]] = (),
        *,
        stall: trio.Event | None = None,
    ) -> tuple[bytes, bool]:
        """Send one request, read the reply to EOF: (reply bytes, whether it came in time).

        With `stall`, the connection stays open (no EOF sent) until the event is set."""
        with await self.connect() as sock:
            opened = [(at, [_open(p) for p in paths]) for at, paths in fd_paths]
            try:
                end = len(data)
                if any(at >= end for at, _ in opened):
                    data += b"\0"  # fds ride on a byte: one past the end gets its own
                await send_stream(sock, data, [(min(at, end), fds) for at, fds in opened])
                if stall is not None:
                    await stall.wait()
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the daemon answered (or gave up) before reading everything
            finally:
                for _at, fds in opened:
                    for fd in fds:
                        os.close(fd)
            reply = bytearray()
            with trio.move_on_after(REPLY_TIMEOUT_S) as scope:
                try:
                    while True:
                        chunk, anc, _flags, _addr = await sock.recvmsg(65536, FDS_CMSG_SPACE)
                        for fd in received_fds(anc):  # e.g. LIST_EVENTS's probed binaries
                            os.close(fd)
                        if not chunk:
                            break
                        reply += chunk
                except OSError:
                    pass
            return bytes(reply), not scope.cancelled_caught


def _open(path: str) -> int:
    return os.open(path if os.path.exists(path) else os.devnull, os.O_RDONLY | os.O_CLOEXEC)


_EXCEPTION = re.compile(r"^[ |]*(\w+(?:Error|Exception|Group)\b.*)$", re.MULTILINE)
# client_server.py logs "internal error while handling command N", then the traceback.
_TRACEBACK = re.compile(
    r"(?:command (\d+)\n)?(Traceback \(most recent call last\):\n(?:[ \t].*\n)+\S.*)"
)


class Fuzzer:
    def __init__(self, daemon: Daemon, corpus: Sequence[CapturedRequest], seed: int) -> None:
        self.daemon = daemon
        self.corpus = corpus
        self.rng = random.Random(seed)
        self.findings: list[Finding] = []
        self.sent = 0
        self.broken = False
        self.codes: collections.Counter[str] = collections.Counter()
        # Sessions, channels and events: replayed before each batch so that mutants of
        # the other commands find something to act on.
        setup = (Command.CREATE_SESSION_EXT, Command.ENABLE_CHANNEL, Command.ENABLE_EVENT)
        self.setup = [r for r in corpus if r.cmd_type in setup]

    def note(self, kind: str, m: Mutant, detail: str = "", cmd: str | None = None) -> None:
        self.findings.append(Finding(kind, cmd or m.cmd_name, m.label, detail))

    async def send(self, m: Mutant, stall: trio.Event | None = None) -> None:
        if self.broken:
            return
        try:
            raw, in_time = await self.daemon.ask(bytes(m.data), m.fds, stall=stall)
        except (OSError, trio.TooSlowError) as exc:
            self.note("refused", m, repr(exc))
            return
        self.sent += bool(m.ops)
        if not in_time:
            self.note("no reply", m, f"nothing within {REPLY_TIMEOUT_S:g} s")
            await self.healthy(f"{m.label} unanswered")  # stuck for good, or only on it?
            return
        if not raw:
            self.codes["(dropped)"] += 1
            return  # incomplete request: the daemon hangs up without a word
        try:
            reply = reader.parse_reply(raw)
        except ProtocolError as exc:
            self.note("bad reply", m, f"{exc}: {raw[:32].hex()}")
            return
        code = _code_name(reply.ret_code)
        self.codes[code] += 1
        if reply.ret_code == ErrorCode.FATAL:
            self.note("FATAL", m, cmd=command_name(reply.cmd_type))

    async def healthy(self, after: str) -> bool:
        """A well-formed LIST_SESSIONS succeeds; once it fails, nothing more is sent."""
        raw = b""
        try:
            raw, in_time = await self.daemon.ask(LIST_SESSIONS.data)
            reply = reader.parse_reply(raw)
            reader.decode_session_list(reply.payload)
            ok = in_time and reply.ret_code == ErrorCode.OK
        except (OSError, ProtocolError, trio.TooSlowError):
            ok = False
        if not ok:
            if self.daemon.alive():
                detail = f"no answer to LIST_SESSIONS: {raw[:32].hex()}"
            else:
                detail = f"exit status {self.daemon.proc.returncode}: {self.daemon.last_error()}"
            self.findings.append(Finding("died", "-", after, detail))
            self.broken = True
        return ok

    async def flood(self, count: int) -> None:
        """More idle connections than the daemon may have fds, then all closed. Meanwhile
        it stays up, serves a connection it accepted before, and logs the shortage once;
        afterwards it accepts new connections again."""
        after = f"{count} idle connections"
        socks: list[trio.socket.SocketType] = []
        early = await self.daemon.connect()
        try:
            await early.send(LIST_SESSIONS.data[:100])
            while len(socks) < count:
                try:
                    socks.append(await self.daemon.connect(timeout=1))
                    await socks[-1].send(LIST_SESSIONS.data[:100])
                except (OSError, trio.TooSlowError):
                    break  # its backlog is full
            await trio.sleep(0.5)
            if not self.daemon.alive():
                return  # healthy() below says why
            fds = self.daemon.fd_count()
            if fds < DAEMON_FD_LIMIT:
                self.findings.append(Finding("flood", "-", after, f"only {fds} fds used"))
            await self._finish_early(early, after)
        finally:
            early.close()
            for sock in socks:
                sock.close()
        if await self.healthy(f"{after}, closed"):
            logged = self.daemon.log_path.read_text(errors="replace").count(FD_SHORTAGE)
            if logged != 1:
                detail = f"{FD_SHORTAGE!r} logged {logged} times, not once"
                self.findings.append(Finding("flood", "-", after, detail))

    async def _finish_early(self, early: trio.socket.SocketType, after: str) -> None:
        """The rest of the request of a connection accepted before the flood: answered."""
        reply = bytearray()
        with trio.move_on_after(REPLY_TIMEOUT_S):
            try:
                await send_stream(early, LIST_SESSIONS.data[100:])
                early.shutdown(socket.SHUT_WR)
                while chunk := await early.recv(65536):
                    reply += chunk
            except OSError:
                pass
        try:
            ok = reader.parse_reply(bytes(reply)).ret_code == ErrorCode.OK
        except ProtocolError:
            ok = False
        if not ok:
            detail = f"a connection accepted before got {bytes(reply[:32]).hex() or 'nothing'}"
            self.findings.append(Finding("flood", "LIST_SESSIONS", after, detail))

    async def destroy_all(self) -> None:
        raw, _ = await self.daemon.ask(LIST_SESSIONS.data)
        for session in reader.decode_session_list(reader.parse_reply(raw).payload):
            await self.daemon.ask(writer.encode_request(Command.DESTROY_SESSION, session.name))

    async def batch(self, count: int) -> None:
        for base in self.setup:
            await self.send(as_recorded(base))
        for _ in range(count - CONCURRENT):
            await self.send(mutate(self.rng, self.rng.choice(self.corpus)))
        # Concurrent connections: some stall halfway through a request while the others
        # are served; then they finish.
        release = trio.Event()
        mutants = [mutate(self.rng, self.rng.choice(self.corpus)) for _ in range(CONCURRENT)]
        stalled = []
        for base in self.rng.sample(self.corpus, STALLED):
            m = as_recorded(base)
            m.ops.append("stalled halfway")
            m.data = m.data[: self.rng.randrange(1, len(m.data))]
            stalled.append(m)
        async with trio.open_nursery() as nursery:
            for m in stalled:
                nursery.start_soon(self.send, m, release)
            async with trio.open_nursery() as others:
                for m in mutants:
                    others.start_soon(self.send, m)
            release.set()


def _code_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return str(code)


def summary(fuzzer: Fuzzer, fds: tuple[int, int | None]) -> str:
    """Findings grouped by kind and command, with the simplest mutation that caused each
    and, for FATAL, the daemon's tracebacks for that command."""
    groups: dict[tuple[str, str, str], list[Finding]] = collections.defaultdict(list)
    for f in fuzzer.findings:
        groups[(f.kind, f.cmd, f.detail)].append(f)
    tracebacks = fuzzer.daemon.tracebacks()
    lines = [
        (
            f"{fuzzer.daemon.name}: seed {SEED}, {fuzzer.sent} mutants, fds {fds[0]} -> {fds[1] or 'dead'},"
            f" log {fuzzer.daemon.log_path}"
        ),
        "replies: " + ", ".join(f"{k} {v}" for k, v in fuzzer.codes.most_common()),
    ]
    for (kind, cmd, detail), found in sorted(groups.items(), key=lambda g: -len(g[1])):
        example = min((f.mutation for f in found), key=lambda x: (not x.endswith("recorded"), len(x)))
        lines.append(f"  {kind} x{len(found)} {cmd} (e.g. {example}) {detail}")
        if kind == "FATAL":
            lines += [f"      {n} x {tb}" for tb, n in tracebacks.get(cmd, {}).items()]
    return "\n".join(lines)


async def settled_fd_count(daemon: Daemon, baseline: int) -> int | None:
    """The daemon's fds once back to `baseline` (it closes a connection's fds after
    replying), or after 3 s; None if it is dead."""
    count = None
    with trio.move_on_after(3):
        while daemon.alive() and (count := daemon.fd_count()) > baseline:
            await trio.sleep(0.1)
    return count if daemon.alive() else None


@pytest.fixture(params=sorted(DAEMONS))
def daemon(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[Daemon]:
    d = Daemon(request.param, tmp_path / f"{request.param}.log")
    yield d
    d.stop()


async def test_fuzz_client_socket(daemon: Daemon) -> None:
    print(f"PYLTTNG_FUZZ_SEED={SEED}")
    await daemon.wait_ready()
    fds_before = daemon.fd_count()
    corpus = [*load(), set_consumer_uri()]
    fuzzer = Fuzzer(daemon, corpus, SEED)
    # The corpus as recorded first: well-formed requests must not fail either.
    for base in corpus:
        await fuzzer.send(as_recorded(base))
    await fuzzer.healthy("the corpus as recorded")
    mutants = round(MUTANTS * SHARE[daemon.name])
    for n in range(-(-mutants // BATCH)):
        await fuzzer.batch(BATCH)
        if not await fuzzer.healthy(f"batch {n}"):
            break
    if not fuzzer.broken:
        await fuzzer.destroy_all()
        await fuzzer.flood(DAEMON_FD_LIMIT + 64)
    fds_after = await settled_fd_count(daemon, fds_before)
    report = summary(fuzzer, (fds_before, fds_after))
    print(report)
    assert not fuzzer.findings and fds_after is not None and fds_after <= fds_before, report
    assert fuzzer.sent >= mutants
