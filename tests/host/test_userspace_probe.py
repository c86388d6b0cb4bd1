"""--userspace-probe: the client's location encoding, the ELF lookup, the kernel ABI bytes."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from pylttng.protocol import kernel_abi as abi
from pylttng.protocol.client import writer
from pylttng.protocol.client.errors import ProtocolError
from pylttng.protocol.client.userspace_probe import (
    LocationType,
    LookupMethod,
    decode_location,
)
from pylttng.sessiond.elf import ElfError, function_offset, sdt_probe_offsets


def function_location(function: str, path: str, lookup: int = 1) -> bytes:
    """As lttng_userspace_probe_location_serialize() writes a function location."""
    f, p = function.encode() + b"\0", path.encode() + b"\0"
    return bytes([0]) + struct.pack("<II", len(f), len(p)) + f + p + bytes([lookup])


def test_decode_function_location() -> None:
    loc = decode_location(function_location("main", "/usr/bin/true"))
    assert loc.type == LocationType.FUNCTION
    assert loc.lookup == LookupMethod.FUNCTION_ELF
    assert (loc.function_name, loc.binary_path) == ("main", "/usr/bin/true")


def test_decode_sdt_location() -> None:
    names = [b"probe\0", b"prov\0", b"/bin/x\0"]
    raw = bytes([1]) + struct.pack("<III", *map(len, names)) + b"".join(names) + bytes([2])
    loc = decode_location(raw)
    assert loc.type == LocationType.TRACEPOINT and loc.lookup == LookupMethod.TRACEPOINT_SDT
    assert (loc.provider_name, loc.probe_name, loc.binary_path) == ("prov", "probe", "/bin/x")


@pytest.mark.parametrize("raw", [
    b"",
    function_location("main", "/bin/true")[:-1],          # no lookup method
    function_location("main", "/bin/true") + b"\0",       # trailing byte
    function_location("main", "/bin/true", lookup=7),     # unknown lookup
    bytes([0]) + struct.pack("<II", 99, 3) + b"ab\0",     # lengths past the end
    bytes([0]) + struct.pack("<II", 3, 3) + b"abcxy\0\x01",  # name without its NUL
    bytes([5]) + b"\0" * 12,                               # unknown type
])
def test_decode_rejects_bad_locations(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_location(raw)


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("no gcc")
    where = tmp_path_factory.mktemp("elf")
    (where / "t.c").write_text(
        "__attribute__((noinline)) int pyl_probed(int x) { __asm__ volatile(\"\"); return x; }\n"
        "int main(int c, char **v) { return pyl_probed(c); }\n")
    subprocess.run(["gcc", "-O2", "-o", str(where / "t"), str(where / "t.c")], check=True)
    return where / "t"


def nm_offset(path: Path, symbol: str) -> int:
    """The symbol's address minus .text's, plus .text's file offset (binutils' view)."""
    nm = subprocess.run(["nm", str(path)], capture_output=True, text=True, check=True).stdout
    addr = next(int(line.split()[0], 16) for line in nm.splitlines() if line.endswith(f" {symbol}"))
    heads = subprocess.run(["objdump", "-h", str(path)], capture_output=True, text=True,
                           check=True).stdout
    text = next(line.split() for line in heads.splitlines() if " .text " in line)
    return addr - int(text[3], 16) + int(text[5], 16)


def test_elf_function_offset_matches_binutils(binary: Path) -> None:
    if shutil.which("nm") is None or shutil.which("objdump") is None:
        pytest.skip("no binutils")
    fd = os.open(binary, os.O_RDONLY)
    try:
        for symbol in ("pyl_probed", "main"):
            assert function_offset(fd, symbol) == nm_offset(binary, symbol)
        with pytest.raises(ElfError):
            function_offset(fd, "no_such_function")
    finally:
        os.close(fd)


def test_elf_rejects_non_elf_and_truncated(tmp_path: Path, binary: Path) -> None:
    for name, data in (("text", b"hello\n" * 100), ("short", binary.read_bytes()[:200])):
        (tmp_path / name).write_bytes(data)
        fd = os.open(tmp_path / name, os.O_RDONLY)
        try:
            with pytest.raises(ElfError):
                function_offset(fd, "main")
        finally:
            os.close(fd)


def test_uprobe_event_and_callsite_bytes() -> None:
    ev = abi.Event.parse(abi.build_event("up", abi.Instrumentation.UPROBE, uprobe_fd=42))
    assert ev.instrumentation == abi.Instrumentation.UPROBE
    assert abi.Uprobe.parse(ev.u).fd == 42
    assert abi.build_callsite(0x11B0) == struct.pack("<Q", 0x11B0)
    assert abi.ADD_CALLSITE == 0xF691


def test_sdt_probe_offsets(tmp_path: Path) -> None:
    if shutil.which("gcc") is None or shutil.which("readelf") is None:
        pytest.skip("no gcc/binutils")
    source = Path(__file__).parent / "data" / "sdt_probes.c"
    subprocess.run(["gcc", "-O2", "-o", str(tmp_path / "sdt"), str(source)], check=True)
    notes = subprocess.run(["readelf", "-n", str(tmp_path / "sdt")], capture_output=True,
                           text=True, check=True).stdout
    pcs = {name: int(pc, 16) for name, pc in
           re.findall(r"Name: (\w+)\n\s+Location: (0x[0-9a-f]+)", notes)}
    heads = subprocess.run(["objdump", "-h", str(tmp_path / "sdt")], capture_output=True,
                           text=True, check=True).stdout
    text = next(line.split() for line in heads.splitlines() if " .text " in line)
    text_addr, text_offset = int(text[3], 16), int(text[5], 16)
    fd = os.open(tmp_path / "sdt", os.O_RDONLY)
    try:
        for name in ("tick", "odd"):
            want = pcs[name] - text_addr + text_offset
            assert sdt_probe_offsets(fd, "pyl", name) == [want]
        assert sdt_probe_offsets(fd, "pyl", "absent") == []
        with pytest.raises(ElfError, match="semaphore"):
            sdt_probe_offsets(fd, "pyl", "guarded")
    finally:
        os.close(fd)


def test_client_fds_arrive_with_the_request() -> None:
    """The CLI sends the binary's fd after the payload, on one byte (unix.c)."""
    import socket

    import trio
    from pylttng.protocol.client.constants import Command
    from pylttng.protocol.client.messages import Request
    from pylttng.sessiond import client_server

    raw = writer.encode_request(Command.ENABLE_EVENT, "s", fd_count=1)  # no payload
    r, w = os.pipe()

    async def main() -> Request | object:
        a, b = trio.socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with a, b:
            await a.send(raw)
            await a.sendmsg([b"\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                      struct.pack("i", r))])
            return await client_server._read_request(b)

    try:
        got = trio.run(main)
        assert isinstance(got, Request)
        assert got.fd_count == 1 and len(got.fds) == 1
        assert os.path.samestat(os.fstat(got.fds[0]), os.fstat(r))
        os.close(got.fds[0])
    finally:
        os.close(r)
        os.close(w)


def test_reply_fds_follow_the_reply_bytes() -> None:
    """LIST_EVENTS: the reply announces fd_count, then one byte carries the fds
    (lttcomm_send_fds_unix_sock), and the daemon keeps its own copies open."""
    import array
    import socket

    import trio
    from pylttng.protocol.client import reader
    from pylttng.protocol.client.constants import Command
    from pylttng.protocol.client.messages import Reply
    from pylttng.sessiond import client_server

    r, w = os.pipe()
    reply = Reply(Command.LIST_EVENTS, 0, 0, b"", b"events", fds=(r,))

    async def main() -> tuple[bytes, list[int]]:
        a, b = trio.socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with a, b:
            await client_server._send_reply(b, reply)
            raw = b""
            while len(raw) < 24 + len(b"events"):  # not into the byte that carries the fds
                raw += await a.recv(24 + len(b"events") - len(raw))
            _, anc, _, _ = await a.recvmsg(1, socket.CMSG_SPACE(4))
            fds = array.array("i")
            for level, kind, data in anc:
                assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
                fds.frombytes(data)
            return raw, list(fds)

    try:
        raw, fds = trio.run(main)
        got = reader.parse_reply(raw)
        assert got.payload == b"events"
        assert int.from_bytes(raw[20:24], "little") == 1  # lttcomm_lttng_msg.fd_count
        assert len(fds) == 1 and os.path.samestat(os.fstat(fds[0]), os.fstat(r))
        os.fstat(r)  # still open on the daemon's side
        os.close(fds[0])
    finally:
        os.close(r)
        os.close(w)
