"""Issue 23, exact accounting: with a source of known size, every event is either in the
trace or counted as discarded, and every report of a loss agrees.

build/syscall_loop N 1 CPU makes exactly N getpid() calls from one thread pinned to CPU:
2 N events (entry, exit) when only getpid is enabled and only its pid is tracked. The
loop waits behind a shell's `read` until the tracker holds its pid and tracing runs, so
nothing of it escapes and nothing else enters. Small buffers make the writer lap the
consumer. The events babeltrace2 reads on the loop's CPU plus the events reported as
discarded must be exactly 2 N, and nothing may appear on another CPU. Every report agrees:
the last packet's events_discarded, `lttng list`, babeltrace2's warnings and `lttng stop`'s
warning. Drops after the last packet of a burst that filled every sub-buffer count too:
the ring buffer owes a header-only packet for them, written once the reader frees a
sub-buffer.

In overwrite mode nothing is "discarded": whole packets are overwritten, and the lost
packets that `lttng list`, `lttng stop` and babeltrace2 report must agree with the gaps
in the packets' sequence numbers.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import Lttng, babeltrace2
from test_overwrite import bt2_reported, listed_stat, stream_packets, trace_lost_packets

LOOP = Path(os.environ.get("PYLTTNG_SRC", "."), "build", "syscall_loop")
CPU = 1 if os.cpu_count() and os.cpu_count() > 1 else 0  # not where the daemons start
# (sub-buffer size, count, getpid calls): small to mid-sized, a few runs each.
SHORT = [(4096, 2, 5000), (4096, 4, 20000), (16384, 2, 20000)]
LONG = SHORT + [(8192, 2, 50000), (4096, 8, 100000), (65536, 2, 100000), (4096, 2, 200000)]


def run_loops(lttng: Lttng, *calls: int, pause: float = 1.5) -> None:
    """Start tracing, then run one loop per count, each held behind `read` until the
    tracker holds its pid; ``pause`` s between loops lets the consumer catch up."""
    lttng.ok("start")
    for n, count in enumerate(calls):
        if n:
            time.sleep(pause)
        held = subprocess.Popen(["sh", "-c", f"read go && exec {LOOP} {count} 1 {CPU}"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            lttng.ok("track", "-k", f"--pid={held.pid}")
            out, _ = held.communicate("go\n", timeout=600)
            assert held.returncode == 0 and f"calls={count}" in out, out
        finally:
            if held.poll() is None:
                held.kill()


def recorded_per_cpu(read_out: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    for match in re.finditer(r"syscall_(?:entry|exit)_getpid: \{ cpu_id = (\d+) \}", read_out):
        cpu = int(match.group(1))
        counts[cpu] = counts.get(cpu, 0) + 1
    return counts


def discarded_per_cpu(trace: Path) -> dict[int, int]:
    """The last events_discarded of each stream file (chan_<cpu>)."""
    out: dict[int, int] = {}
    for path in Path(trace, "kernel").glob("chan_*"):
        packets = stream_packets(path)
        out[int(path.name.rsplit("_", 1)[1])] = packets[-1].discarded if packets else 0
    return out


def stop_reported(stopped: str, what: str) -> int:
    """`lttng stop`'s warning of discarded events or lost packets (none: 0)."""
    found = re.search(rf"(\d+) {what}s? (?:were|was) (?:discarded|lost)", stopped)
    return int(found.group(1)) if found else 0


def session(lttng: Lttng, mode: str, subbuf: int, count: int) -> Path:
    output = Path("/tmp/pylttng-accounting")
    subprocess.run(["rm", "-rf", str(output)], check=True)
    lttng.ok("create", "acct", f"--output={output}")
    lttng.ok("enable-channel", "-k", mode, "--subbuf-size", str(subbuf), "--num-subbuf",
             str(count), "chan")
    lttng.ok("enable-event", "-k", "-c", "chan", "--syscall", "getpid")
    lttng.ok("untrack", "-k", "--pid", "--all")
    return output


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The short list of buffer sizes in make check, the long one in make stress."""
    if "case" in metafunc.fixturenames:
        chosen = LONG if metafunc.config.getoption("--stress") else SHORT
        metafunc.parametrize("case", chosen, ids=[f"{s}x{c}-{n}" for s, c, n in chosen])


@pytest.fixture(scope="module", autouse=True)
def loop_built() -> None:
    assert LOOP.exists(), f"{LOOP} is missing: make build/syscall_loop"


def test_discard_mode_accounts_for_every_event(daemon: Lttng,
                                               case: tuple[int, int, int]) -> None:
    """The loop under discard-mode buffers: every event is read or reported discarded,
    and every report of the discards agrees."""
    subbuf, count, calls = case
    trace = session(daemon, "--discard", subbuf, count)
    run_loops(daemon, calls)
    stopped = daemon.ok("stop")
    listed = listed_stat(daemon.ok("list", "acct").out, "Discarded events")
    daemon.ok("destroy")
    read = babeltrace2(str(trace))
    assert read.rc == 0, read.err
    recorded, in_packets = recorded_per_cpu(read.out), discarded_per_cpu(trace)
    assert recorded.get(CPU, 0) > 0 and listed > 0, "the buffers never overflowed"
    # Nothing on the other CPUs: the loop stayed pinned, nothing else was traced.
    assert all(n == 0 for cpu, n in (recorded | in_packets).items() if cpu != CPU), (
        recorded, in_packets)
    assert recorded[CPU] + listed == 2 * calls, (recorded, listed)
    assert sum(in_packets.values()) == listed == bt2_reported(read, "event"), read.err
    assert stop_reported(stopped.text, "event") == listed, stopped.text
    print(f"figure: exact accounting, {subbuf} B x {count} sub-buffers: {2 * calls} events "
          f"emitted = {recorded[CPU]} recorded + {listed} reported discarded")


def test_overwrite_mode_reports_lost_packets_alike(daemon: Lttng) -> None:
    trace = session(daemon, "--overwrite", 4096, 2)
    # A first packet read, then a lap: the sequence numbers show the packets lost between.
    run_loops(daemon, 300, 50000)
    stopped = daemon.ok("stop")
    listed = listed_stat(daemon.ok("list", "acct").out, "Lost packets")
    daemon.ok("destroy")
    read = babeltrace2(str(trace))
    assert read.rc == 0, read.err
    streams = [stream_packets(p) for p in Path(trace, "kernel").glob("chan_*")]
    lost = trace_lost_packets([s for s in streams if s])
    assert lost > 0, "the writer never lapped the reader"
    assert lost == listed == bt2_reported(read, "packet"), (lost, listed, read.err)
    assert stop_reported(stopped.text, "packet") == lost, stopped.text
    print(f"figure: overwrite mode: {lost} lost packets, reported alike by the trace, "
          "lttng list, lttng stop and babeltrace2")
