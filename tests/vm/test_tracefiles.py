"""Issue 21 item 6: --tracefile-size, --tracefile-count and the CTF index files, through the
stock lttng CLI, with pylttng's daemons and with the stock ones (both on pylttng.ko).

lttng-consumerd 2.13's rules (consumer.c, consumer-stream.c, utils.c, index.c): stream
files ``<channel>_<cpu>`` or, with a trace file size, ``<channel>_<cpu>_<n>``, each at most
that size unless one packet is larger, n < count; ``index/<same name>.idx`` holding a
ctf-index.h 1.1 header and one entry per packet of its data file.  The entries are
checked against the packet headers in the data files; babeltrace2 (which reads the index)
must read the trace, with no complaint but for the events the tracer discarded.
"""

from __future__ import annotations

import os
import re
import struct
import time
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import DISCARDED_EVENTS, Lttng, babeltrace2

SUBBUF_SIZE = 16 * 1024
TRACEFILE_SIZE = 64 * 1024
TRACEFILE_COUNT = 3
FLOOD_SECONDS = 4.0
CTF_MAGIC = 0xC1FC1FC1
# struct pyl_packet_header (kmod/pylttng-ringbuffer.c): magic, uuid (skipped), stream_id,
# stream_instance_id, timestamp_begin, timestamp_end, content_size, packet_size (bits),
# packet_seq_num, events_discarded.
PACKET = struct.Struct("<I16xIQQQQQQQ")
# lttng-tools src/common/index/ctf-index.h, big-endian.
INDEX_HEADER = struct.Struct(">IIII")
INDEX_ENTRY = struct.Struct(">QQQQQQQQQ")

# Each daemon pair's layout, for the stock run (run last: conftest.py) to compare with.
LAYOUTS: dict[str, dict[str, object]] = {}


def flood(seconds: float) -> None:
    """getppid() as fast as this process can, for a while: megabytes of events."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(1000):
            os.getppid()


def packets_in(path: Path) -> list[tuple[int, ...]]:
    """The index entries the packets of a data file call for, from their own headers:
    offset, packet_size, content_size, timestamp_begin, timestamp_end, events_discarded,
    stream_id, stream_instance_id, packet_seq_num."""
    data = path.read_bytes()
    entries, off = [], 0
    while off < len(data):
        magic, sid, inst, begin, end, content, size, seq, discarded = PACKET.unpack_from(data, off)
        assert magic == CTF_MAGIC, f"{path}: no packet at {off}"
        entries.append((off, size, content, begin, end, discarded, sid, inst, seq))
        off += size // 8
    assert off == len(data), f"{path}: the last packet runs past the end of the file"
    return entries


def index_of(path: Path) -> tuple[bytes, list[tuple[int, ...]]]:
    """An index file's header bytes and entries."""
    data = path.read_bytes()
    assert INDEX_HEADER.unpack_from(data) == (0xC1F1DCC1, 1, 1, INDEX_ENTRY.size), path
    body = data[INDEX_HEADER.size :]
    assert len(body) % INDEX_ENTRY.size == 0, f"{path}: a partial entry"
    return data[: INDEX_HEADER.size], list(INDEX_ENTRY.iter_unpack(body))


def check_stream_files(kernel: Path, channel: str, split: bool) -> dict[str, list[int]]:
    """Names, sizes and indexes of a channel's stream files; returns each stream's packet
    sequence numbers in packet order (files ordered by their first packet)."""
    data_files = sorted(p.name for p in kernel.glob(f"{channel}_*") if p.is_file())
    index_files = sorted(p.name for p in (kernel / "index").iterdir())
    assert index_files == sorted(f"{name}.idx" for name in data_files), (data_files, index_files)
    pattern = re.compile(rf"{re.escape(channel)}_(\d+)" + (r"_(\d+)" if split else ""))
    streams: dict[str, list[list[tuple[int, ...]]]] = defaultdict(list)
    for name in data_files:
        found = pattern.fullmatch(name)
        assert found, f"{name}: not a name lttng-consumerd gives"
        packets = packets_in(kernel / name)
        _, entries = index_of(kernel / "index" / f"{name}.idx")
        assert entries == packets, f"{name}: index does not match the data file"
        if split:
            assert int(found[2]) < TRACEFILE_COUNT, name
            size = (kernel / name).stat().st_size
            assert size <= TRACEFILE_SIZE or len(packets) == 1, f"{name}: {size} bytes"
        if packets:
            streams[f"{channel}_{found[1]}"].append(packets)
    assert streams, f"no packet in any stream file of {channel}"
    seqs = {}
    for stream, files in streams.items():
        assert len(files) <= (TRACEFILE_COUNT if split else 1), stream
        ordered = [e[8] for packets in sorted(files, key=lambda f: f[0][8]) for e in packets]
        # The files left are the newest: consecutive packets, the oldest overwritten.
        assert ordered == list(range(ordered[0], ordered[0] + len(ordered))), (stream, ordered)
        seqs[stream] = ordered
    return seqs


def read_back(trace: Path) -> str:
    """babeltrace2's text; it must not complain but of discarded events."""
    read = babeltrace2(str(trace))
    assert read.rc == 0, read.err[-3000:]
    complaints = DISCARDED_EVENTS.sub("", read.err)  # the flood outruns the consumer
    assert complaints == "", f"babeltrace2 complained: {complaints[-3000:]}"
    # And it found its way through the index files, not by reading every packet.
    logged = babeltrace2("--log-level=INFO", str(trace)).err
    for data in (trace / "kernel").glob("*_*"):
        if data.is_file() and data.stat().st_size:
            assert f"Building index from .idx file of stream file {data}\n" in logged, data
    return read.out


def layout(kernel: Path, split: bool) -> dict[str, object]:
    """What the two daemon pairs must agree on: the file names, but for the trace file
    numbers (``_<n>``, n < count: how many files went round depends on the run), and the
    index files' header."""

    def names(folder: Path) -> list[str]:
        found = {p.name for p in folder.iterdir()}
        return sorted({re.sub(r"_\d+(\.idx)?$", r"_N\1", n) for n in found} if split else found)

    headers = {index_of(p)[0].hex() for p in (kernel / "index").iterdir()}
    return {"kernel": names(kernel), "index": names(kernel / "index"), "headers": headers}


def record_and_compare(which: str, key: str, found: dict[str, object]) -> None:
    LAYOUTS[f"{which}/{key}"] = found
    other = LAYOUTS.get(f"pylttng/{key}")
    if which == "stock" and other is not None:
        assert found == other, f"stock daemons: {found}; pylttng's: {other}"


@pytest.mark.parametrize("output", ["splice", "mmap"])
def test_tracefile_size_and_count(daemon: Lttng, output: str,
                                  request: pytest.FixtureRequest) -> None:
    lttng = daemon
    session = f"tf{output}"
    lttng.ok("create", session)
    lttng.ok("enable-channel", "-k", "c", "--tracefile-size", "64k", "--tracefile-count",
             str(TRACEFILE_COUNT), "--subbuf-size", "16k", "--output", output)
    listed = lttng.ok("list", session).out
    assert "Trace file count: 3 per stream" in listed, listed
    assert "Trace file size:  65536 bytes" in listed, listed
    lttng.ok("enable-event", "-k", "-c", "c", "--syscall", "getppid")
    lttng.ok("start")
    flood(FLOOD_SECONDS)
    lttng.ok("stop")
    [trace] = lttng.traces(session)
    lttng.ok("destroy")

    kernel = trace / "kernel"
    assert (kernel / "metadata").is_file()
    seqs = check_stream_files(kernel, "c", split=True)
    # Megabytes went through: more packets than three files hold, so the files went round.
    written = max(s[-1] + 1 for s in seqs.values()) * SUBBUF_SIZE
    assert written > TRACEFILE_COUNT * TRACEFILE_SIZE, seqs
    assert "syscall_entry_getppid" in read_back(trace)
    record_and_compare(request.node.callspec.params["daemon"], f"split-{output}",
                       layout(kernel, split=True))


def test_index_of_unsplit_streams(daemon: Lttng, request: pytest.FixtureRequest) -> None:
    lttng = daemon
    lttng.ok("create", "idx")
    lttng.ok("enable-channel", "-k", "p", "--subbuf-size", "16k", "--num-subbuf", "8")
    listed = lttng.ok("list", "idx").out
    assert "Trace file count: 1 per stream" in listed, listed
    assert "Trace file size:  unlimited" in listed, listed
    lttng.ok("enable-event", "-k", "-c", "p", "--syscall", "getppid")
    lttng.ok("start")
    flood(0.5)
    lttng.ok("stop")
    [trace] = lttng.traces("idx")
    lttng.ok("destroy")

    kernel = trace / "kernel"
    check_stream_files(kernel, "p", split=False)
    assert "syscall_entry_getppid" in read_back(trace)
    record_and_compare(request.node.callspec.params["daemon"], "unsplit", layout(kernel, split=False))
