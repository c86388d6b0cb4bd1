"""Issue 3, channels: discard and overwrite (flight-recorder) modes under loss, statistics,
sub-buffer size and count, read timer, mmap and splice output, through both daemons.

Tiny buffers (2 x 4 KiB per CPU, or a single 4 KiB sub-buffer in discard mode) and a
getppid() flood from this process make the writers lap the consumer.  The trace's packet contexts are then the reference: `lttng list` and
babeltrace2 must agree with the events_discarded and packet_seq_num they carry, and every
packet is one 4 KiB sub-buffer.
"""

from __future__ import annotations

import itertools
import os
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Lttng, Result, babeltrace2

SUBBUF_SIZE = 4096
TINY = ("--subbuf-size", str(SUBBUF_SIZE), "--read-timer", "50000")
FLOOD_SECONDS = 3.0
# struct pyl_packet_header: packet_size, packet_seq_num, events_discarded offsets.
CTF_MAGIC = 0xC1FC1FC1
PACKET_SIZE_AT, SEQ_AT, DISCARDED_AT = 56, 64, 72


@dataclass
class Packet:
    seq: int
    discarded: int
    size_bits: int


def stream_packets(path: Path) -> list[Packet]:
    """The packet contexts of one data stream file, in file order."""
    data = path.read_bytes()
    packets, off = [], 0
    while off < len(data):
        (magic,) = struct.unpack_from("<I", data, off)
        assert magic == CTF_MAGIC, f"{path}: bad magic at {off}"
        (size_bits,) = struct.unpack_from("<Q", data, off + PACKET_SIZE_AT)
        (seq,) = struct.unpack_from("<Q", data, off + SEQ_AT)
        (discarded,) = struct.unpack_from("<Q", data, off + DISCARDED_AT)
        packets.append(Packet(seq, discarded, size_bits))
        off += size_bits // 8
    return packets


def trace_streams(trace: Path, channel: str) -> list[list[Packet]]:
    """Each stream's packets; each must be one whole sub-buffer."""
    files = sorted(Path(trace, "kernel").glob(f"{channel}_*"))
    assert files, f"no stream file of {channel} in {trace}"
    streams = [p for p in (stream_packets(f) for f in files) if p]
    sizes = {p.size_bits for s in streams for p in s}
    assert sizes == {SUBBUF_SIZE * 8}, sizes
    return streams


def trace_discarded(streams: list[list[Packet]]) -> int:
    """What lttng-consumerd counts: the last events_discarded of each stream."""
    return sum(s[-1].discarded for s in streams)


def trace_lost_packets(streams: list[list[Packet]]) -> int:
    """What lttng-consumerd and babeltrace2 count: packet_seq_num gaps in each stream."""
    lost = 0
    for s in streams:
        seqs = [p.seq for p in s]
        assert seqs == sorted(set(seqs)), f"sequence numbers not increasing: {seqs}"
        lost += sum(b - a - 1 for a, b in itertools.pairwise(seqs))
    return lost


def listed_stat(listing: str, name: str) -> int:
    found = re.findall(rf"{name}:\s+(\d+)", listing)
    assert len(found) == 1, listing
    return int(found[0])


def bt2_reported(read: Result, what: str) -> int:
    """Sum of babeltrace2's "Tracer discarded N events/packets" warnings."""
    counts = re.findall(rf"Tracer discarded (\d+) {what}s? between", read.text)
    return sum(int(c) for c in counts)


def flood(seconds: float) -> int:
    """getppid() as fast as this process can, for a while; the number of calls."""
    calls, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(1000):
            os.getppid()
        calls += 1000
    return calls


def marker() -> int:
    """A getpgid(own pid) the flood never makes: the newest events of the trace."""
    for _ in range(3):
        os.getpgid(os.getpid())
    return os.getpid()


def setup_channel(lttng: Lttng, session: str, mode: str, output: str,
                  *options: str, num_subbuf: int = 2) -> str:
    """The tiny channel in that mode and output (and enable-channel options); `lttng list`
    of the session."""
    lttng.ok("create", session)
    lttng.ok("enable-channel", "-k", *TINY, "--num-subbuf", str(num_subbuf), mode,
             "--output", output, *options, "tiny")
    lttng.ok("enable-event", "-k", "-c", "tiny", "--syscall", "getppid,getpgid")
    listed = lttng.ok("list", session).out
    assert f"Event-loss mode:  {mode.lstrip('-')}" in listed, listed
    assert f"Output mode:      {output}" in listed, listed
    assert f"Sub-buffer size:  {SUBBUF_SIZE} bytes" in listed, listed
    assert f"Sub-buffer count: {num_subbuf}" in listed, listed
    assert "Read timer:       50000 us" in listed, listed
    return listed


@pytest.mark.parametrize("output", ["mmap", "splice"])
def test_discard_mode_counts_discarded_events(daemon: Lttng, output: str) -> None:
    lttng = daemon
    listed = setup_channel(lttng, "disc", "--discard", output)
    assert listed_stat(listed, "Discarded events") == 0
    lttng.ok("start")
    flood(FLOOD_SECONDS)
    # While active: counted from the packets consumed so far, as lttng-consumerd does.
    live, deadline = 0, time.monotonic() + 20
    while live == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        live = listed_stat(lttng.ok("list", "disc").out, "Discarded events")
    assert live > 0, "no discarded event reported while active"
    lttng.ok("stop")
    after_stop = listed_stat(lttng.ok("list", "disc").out, "Discarded events")
    [trace] = lttng.traces("disc")
    streams = trace_streams(trace, "tiny")
    assert after_stop >= live
    assert after_stop == trace_discarded(streams), (after_stop, streams)
    lttng.ok("destroy")

    read = babeltrace2(str(trace))
    assert read.rc == 0, read.err
    assert "syscall_entry_getppid" in read.out
    # babeltrace2 counts from the first packet of each stream on.
    first = sum(s[0].discarded for s in streams)
    assert bt2_reported(read, "event") == after_stop - first > 0, read.err[-2000:]
    assert bt2_reported(read, "packet") == 0


def overwrite_scenario(lttng: Lttng, session: str, output: str) -> tuple[Path, Result, int]:
    """Flood, then the marker, then stop: (trace, babeltrace2 result, lost packets listed)."""
    listed = setup_channel(lttng, session, "--overwrite", output)
    assert listed_stat(listed, "Lost packets") == 0
    lttng.ok("start")
    flood(FLOOD_SECONDS)
    time.sleep(0.5)
    pid = marker()
    lttng.ok("stop")
    lost = listed_stat(lttng.ok("list", session).out, "Lost packets")
    [trace] = lttng.traces(session)
    lttng.ok("destroy")

    streams = trace_streams(trace, "tiny")
    assert lost == trace_lost_packets(streams) > 0, (lost, [[p.seq for p in s] for s in streams])
    read = babeltrace2(str(trace))
    assert read.rc == 0, read.err
    assert bt2_reported(read, "packet") == lost, read.err[-2000:]
    # The newest events survive: the marker made after the flood, just before stop.
    assert re.search(rf"syscall_entry_getpgid: .*\{{ pid = {pid} \}}", read.out), read.out[-3000:]
    assert "syscall_entry_getppid" in read.out
    return trace, read, lost


@pytest.mark.parametrize("output", ["mmap", "splice"])
def test_overwrite_mode_keeps_newest_events(daemon: Lttng, output: str) -> None:
    # The stock lttng-consumerd takes each packet through the reader ioctls
    # (GET_NEXT_SUBBUF, GET_MMAP_READ_OFFSET into the spare sub-buffer, packet getters).
    overwrite_scenario(daemon, f"ow{output}", output)


@pytest.mark.parametrize("output", ["mmap", "splice"])
def test_one_subbuffer_discard_channel(daemon: Lttng, output: str) -> None:
    """A single sub-buffer per CPU: writers drop while the consumer has it, and every
    event of the flood is either in the trace or counted as discarded."""
    lttng = daemon
    # The switch timer hands the consumer the flood's last, partly filled packet, so that
    # the marker finds the sub-buffer free.
    setup_channel(lttng, "one", "--discard", output, "--switch-timer", "100000",
                  num_subbuf=1)
    lttng.ok("add-context", "-k", "-c", "tiny", "-t", "pid")
    lttng.ok("start")
    # On one CPU: its stream's last packet (the marker's) counts every discarded event.
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        calls = flood(FLOOD_SECONDS)
        time.sleep(0.5)
        pid = marker()
    finally:
        os.sched_setaffinity(0, cpus)
    lttng.ok("stop")
    discarded = listed_stat(lttng.ok("list", "one").out, "Discarded events")
    [trace] = lttng.traces("one")
    lttng.ok("destroy")

    streams = trace_streams(trace, "tiny")
    assert discarded == trace_discarded(streams) > 0, (discarded, streams)
    assert trace_lost_packets(streams) == 0
    read = babeltrace2(str(trace))
    assert read.rc == 0, read.err
    first = sum(s[0].discarded for s in streams)
    assert bt2_reported(read, "event") == discarded - first, read.err[-2000:]
    assert bt2_reported(read, "packet") == 0
    assert re.search(rf"syscall_entry_getpgid: .*\{{ pid = {pid} \}}", read.out), read.out[-3000:]
    # Nothing else in the guest calls getppid() or getpgid(): the flood's entries and exits
    # and the marker's 3 calls are each recorded or discarded, exactly once.
    events = [line for line in read.out.splitlines() if line.strip()]
    assert all(f"{{ pid = {pid} }}" in line for line in events), events[:5]
    assert len(events) + discarded == 2 * (calls + 3)
