"""Issue 23, exact accounting: with a source of known size, every event is either in the
trace or counted as discarded, and every report of a loss agrees.

build/syscall_loop N 1 CPU makes exactly N getpid() calls from one thread pinned to CPU:
2 N events (entry, exit) when only getpid is enabled and only its pid is tracked. The
loop waits behind a shell's `read` until the tracker holds its pid and tracing runs, so
nothing of it escapes and nothing else enters. Small buffers make the writer lap the
consumer. Per CPU, the events babeltrace2 reads plus the stream's last events_discarded
must be 2 N on the loop's CPU and 0 elsewhere; babeltrace2's warnings, `lttng list` and
`lttng stop` must report the same total.

In overwrite mode nothing is "discarded": whole packets are overwritten, and the lost
packets that `lttng list`, `lttng stop` and babeltrace2 report must agree with the gaps
in the packets' sequence numbers.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import Lttng, babeltrace2
from test_overwrite import bt2_reported, listed_stat, stream_packets, trace_lost_packets

LOOP = Path(os.environ.get("PYLTTNG_SRC", "."), "build", "syscall_loop")
CPU = 1 if os.cpu_count() and os.cpu_count() > 1 else 0  # not where the daemons start
# (sub-buffer size, count, getpid calls): small to mid-sized, a few runs each.
SHORT = [(4096, 2, 5000), (4096, 4, 20000), (16384, 2, 20000)]
LONG = SHORT + [(8192, 2, 50000), (4096, 8, 100000), (65536, 2, 100000), (4096, 2, 200000)]


def run_loop(lttng: Lttng, calls: int) -> None:
    """Start the loop held behind `read`, track it, start tracing, release it, stop."""
    held = subprocess.Popen(["sh", "-c", f'read go && exec {LOOP} {calls} 1 {CPU}'],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        lttng.ok("track", "-k", f"--pid={held.pid}")
        lttng.ok("start")
        out, _ = held.communicate("go\n", timeout=600)
        assert held.returncode == 0 and f"calls={calls}" in out, out
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


def test_discard_mode_accounts_for_every_event(daemon: Lttng, case: tuple[int, int, int]) -> None:
    subbuf, count, calls = case
    trace = session(daemon, "--discard", subbuf, count)
    run_loop(daemon, calls)
    stopped = daemon.ok("stop")
    listed = listed_stat(daemon.ok("list", "acct").out, "Discarded events")
    daemon.ok("destroy")
    read = babeltrace2(str(trace))
    assert read.rc == 0, read.err
    recorded, discarded = recorded_per_cpu(read.out), discarded_per_cpu(trace)
    for cpu in set(recorded) | set(discarded):
        want = 2 * calls if cpu == CPU else 0
        assert recorded.get(cpu, 0) + discarded.get(cpu, 0) == want, (cpu, recorded, discarded)
    total = sum(discarded.values())
    assert total == listed == bt2_reported(read, "event"), (total, listed, read.err)
    assert stop_reported(stopped.text, "event") == total, stopped.text
    assert recorded.get(CPU, 0) > 0


def test_overwrite_mode_reports_lost_packets_alike(daemon: Lttng) -> None:
    trace = session(daemon, "--overwrite", 4096, 2)
    run_loop(daemon, 50000)
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
