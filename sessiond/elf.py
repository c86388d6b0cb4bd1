"""Where uprobes go in an ELF binary, as lttng-tools' lttng-elf.c computes it.

A function symbol is looked up among the STT_FUNC entries of .symtab (.dynsym for
stripped binaries); an SDT probe (sys/sdt.h) among the "stapsdt" notes of .note.stapsdt.
The address must fall in .text, and the offset is the address relative to .text plus
.text's offset in the file.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

_ELF_MAGIC = b"\x7fELF"
_ELFCLASS32, _ELFCLASS64 = 1, 2
_ELFDATA2LSB, _ELFDATA2MSB = 1, 2
_STT_FUNC = 2
_NT_STAPSDT = 3
_MAX_TABLE = 256 << 20  # refuse absurd section sizes from a corrupt file


class ElfError(Exception):
    """The binary is not a usable ELF file, or has no such function."""


@dataclass(frozen=True)
class _Section:
    name_off: int
    addr: int
    offset: int
    size: int
    entsize: int


class _Elf:
    def __init__(self, fd: int) -> None:
        self._fd = fd
        ident = self._read(0, 16)
        if ident[:4] != _ELF_MAGIC or ident[4] not in (_ELFCLASS32, _ELFCLASS64):
            raise ElfError("not an ELF file")
        if ident[5] not in (_ELFDATA2LSB, _ELFDATA2MSB):
            raise ElfError("unknown ELF byte order")
        self.is64 = ident[4] == _ELFCLASS64
        self.end = "<" if ident[5] == _ELFDATA2LSB else ">"
        if self.is64:
            fmt, size = "HHIQQQIHHHHHH", 48
        else:
            fmt, size = "HHIIIIIHHHHHH", 36
        hdr = struct.unpack(self.end + fmt, self._read(16, size))
        shoff, shentsize, shnum, shstrndx = hdr[5], hdr[10], hdr[11], hdr[12]
        want = 64 if self.is64 else 40
        if shoff == 0 or shnum == 0 or shentsize < want or shstrndx >= shnum:
            raise ElfError("no section headers")
        self.sections = [self._section(shoff + i * shentsize) for i in range(shnum)]
        self._shstrtab = self.data(self.sections[shstrndx])

    def _read(self, offset: int, size: int) -> bytes:
        data = os.pread(self._fd, size, offset)
        if len(data) != size:
            raise ElfError("truncated ELF file")
        return data

    def _section(self, at: int) -> _Section:
        if self.is64:
            f = struct.unpack(self.end + "IIQQQQIIQQ", self._read(at, 64))
        else:
            f = struct.unpack(self.end + "IIIIIIIIII", self._read(at, 40))
        return _Section(name_off=f[0], addr=f[3], offset=f[4], size=f[5], entsize=f[9])

    def data(self, sec: _Section) -> bytes:
        if sec.size > _MAX_TABLE:
            raise ElfError("section too large")
        return self._read(sec.offset, sec.size)

    def section(self, name: str) -> _Section | None:
        for sec in self.sections:
            if _cstr(self._shstrtab, sec.name_off) == name:
                return sec
        return None

    def symbols(self, table: _Section) -> list[tuple[int, int, int]]:
        """(name offset, info, value) of each entry."""
        fmt, size = (self.end + "IBBHQQ", 24) if self.is64 else (self.end + "IIIBBH", 16)
        if table.entsize < size:
            raise ElfError("bad symbol table entry size")
        raw = self.data(table)
        out = []
        for at in range(0, len(raw) - size + 1, table.entsize):
            f = struct.unpack_from(fmt, raw, at)
            if self.is64:
                out.append((f[0], f[1], f[4]))
            else:
                out.append((f[0], f[3], f[1]))
        return out


def _cstr(table: bytes, offset: int) -> str:
    end = table.find(b"\0", offset)
    if offset >= len(table) or end < 0:
        return ""
    return table[offset:end].decode(errors="replace")


def _text_offset(elf: _Elf, addr: int, what: str) -> int:
    text = elf.section(".text")
    if text is None:
        raise ElfError("no .text section")
    if not text.addr <= addr <= text.addr + text.size:
        raise ElfError(f"{what} is outside .text")
    return text.offset + (addr - text.addr)


def _align4(n: int) -> int:
    return (n + 3) & ~3


def _stapsdt_notes(elf: _Elf, data: bytes) -> list[tuple[str, str, int, int]]:
    """(provider, probe, pc, semaphore) of each stapsdt note."""
    word = 8 if elf.is64 else 4
    addr_fmt = elf.end + ("QQQ" if elf.is64 else "III")
    out = []
    at = 0
    while at + 12 <= len(data):
        namesz, descsz, kind = struct.unpack_from(elf.end + "III", data, at)
        name_at = at + 12
        desc_at = name_at + _align4(namesz)
        at = desc_at + _align4(descsz)
        if at > len(data):
            raise ElfError("truncated .note.stapsdt")
        if kind != _NT_STAPSDT or data[name_at : name_at + namesz].rstrip(b"\0") != b"stapsdt":
            continue
        desc = data[desc_at : desc_at + descsz]
        if len(desc) < 3 * word:
            raise ElfError("short stapsdt note")
        pc, _base, semaphore = struct.unpack_from(addr_fmt, desc)
        provider, probe = (desc[3 * word :].split(b"\0") + [b"", b""])[:2]
        out.append((provider.decode(errors="replace"), probe.decode(errors="replace"),
                    pc, semaphore))
    return out


def sdt_probe_offsets(fd: int, provider: str, probe: str) -> list[int]:
    """File offsets of SDT probe provider:probe (none: an empty list); raises ElfError.

    As lttng-elf.c: a probe guarded by a semaphore is refused (nothing would set it).
    """
    try:
        elf = _Elf(fd)
        notes = elf.section(".note.stapsdt")
        if notes is None:
            raise ElfError("no .note.stapsdt section")
        offsets = []
        for prov, name, pc, semaphore in _stapsdt_notes(elf, elf.data(notes)):
            if (prov, name) != (provider, probe):
                continue
            if semaphore:
                raise ElfError(f"SDT probe {provider}:{probe} is guarded by a semaphore")
            offsets.append(_text_offset(elf, pc, f"SDT probe {provider}:{probe}"))
        return offsets
    except (OSError, struct.error) as exc:
        raise ElfError(str(exc)) from None


def function_offset(fd: int, symbol: str) -> int:
    """File offset of function `symbol` in the ELF file open as fd; raises ElfError."""
    try:
        elf = _Elf(fd)
        symtab, strtab = elf.section(".symtab"), elf.section(".strtab")
        if symtab is None or strtab is None:
            symtab, strtab = elf.section(".dynsym"), elf.section(".dynstr")
        if symtab is None or strtab is None:
            raise ElfError("no symbol table")
        names = elf.data(strtab)
        addr = next(
            (
                value
                for name_off, info, value in elf.symbols(symtab)
                if name_off and info & 0xF == _STT_FUNC and _cstr(names, name_off) == symbol
            ),
            None,
        )
        if addr is None:
            raise ElfError(f"no function {symbol!r}")
        return _text_offset(elf, addr, repr(symbol))
    except (OSError, struct.error) as exc:
        raise ElfError(str(exc)) from None
