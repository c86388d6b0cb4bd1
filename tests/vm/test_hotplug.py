"""Issue 3, CPU hotplug: a CPU going offline and back online keeps its stream and its events;
issue 23: and the tracer survives it under load, again and again (longer under --stress)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MODULE_REFCNT, Lttng, counted_events, read_trace, settled_refcount
from test_stock_daemons import StockLttng, stock  # noqa: F401 (the fixture)

CPU1 = Path("/sys/devices/system/cpu/cpu1/online")
MARKS = 5


def set_cpu1(online: bool) -> None:
    CPU1.write_text("1" if online else "0")
    assert CPU1.read_text().strip() == ("1" if online else "0")


@pytest.fixture
def cpu1() -> Iterator[None]:
    if not CPU1.exists():
        pytest.fail("the guest needs a second CPU that can go offline (runner.py --cpus)")
    set_cpu1(True)
    yield
    set_cpu1(True)      # never leave the guest with one CPU for the next tests


def marks(tag: str, cpu: int | None) -> None:
    """openat() of /tmp/hp-<tag>-<i> (missing files), pinned to `cpu` when given."""
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    for i in range(MARKS):
        subprocess.run([*pin, "cat", f"/tmp/hp-{tag}-{i}"], capture_output=True, check=False)


def stream_bytes(lttng: Lttng, session: str, name: str) -> int:
    [trace] = lttng.traces(session)
    files = list(Path(trace, "kernel").glob(name))
    return sum(f.stat().st_size for f in files)


def cpu_of(line: str) -> int:
    found = re.search(r"\{ cpu_id = (\d+) \}", line)
    assert found, f"no cpu_id in {line}"
    return int(found.group(1))


def mark_lines(lines: list[str], tag: str) -> list[tuple[int, int]]:
    """(line index, cpu) of every openat entry of a /tmp/hp-<tag>-* marker."""
    return [(i, cpu_of(line)) for i, line in enumerate(lines)
            if " syscall_entry_openat: " in line and f'"/tmp/hp-{tag}-' in line]


def offline_online_session(lttng: Lttng, session: str) -> list[str]:
    """Trace CPU 1 before it goes offline, while it is, and after it is back."""
    lttng.ok("create", session)
    lttng.ok("enable-event", "-k", "sched_switch,sched_process_exec")
    lttng.ok("enable-event", "-k", "--syscall", "openat")
    lttng.ok("start")
    marks("before", 1)
    time.sleep(0.5)
    # 1 MiB sub-buffers: nothing of CPU 1 reached its stream file yet...
    assert stream_bytes(lttng, session, "channel0_1") == 0
    set_cpu1(False)
    # ...until CPU 1 died: its packet is closed then, as lttng-modules does.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and stream_bytes(lttng, session, "channel0_1") == 0:
        time.sleep(0.2)
    flushed = stream_bytes(lttng, session, "channel0_1")
    marks("offline", None)
    set_cpu1(True)
    marks("after", 1)
    time.sleep(0.5)
    lttng.ok("stop")
    lttng.ok("destroy")
    assert flushed > 0, "the packet of the dead CPU 1 was not flushed to its stream"
    return read_trace(lttng, session)


def check_offline_online(lines: list[str]) -> None:
    before = mark_lines(lines, "before")
    offline = mark_lines(lines, "offline")
    after = mark_lines(lines, "after")
    assert [cpu for _, cpu in before] == [1] * MARKS, before
    assert [cpu for _, cpu in offline] == [0] * MARKS, offline
    assert [cpu for _, cpu in after] == [1] * MARKS, after
    # Both kinds of tracepoint probe record on CPU 1 before it goes offline and again
    # once it is back online: sched_switch's direct probe, and the perf events per CPU
    # of sched_process_exec (each marker's exec of cat, pinned to CPU 1).
    for event in ("sched_switch", "sched_process_exec"):
        hits = [(i, cpu_of(line)) for i, line in enumerate(lines) if f" {event}: " in line]
        assert any(cpu == 1 and i < offline[0][0] for i, cpu in hits), f"no CPU 1 {event} before"
        assert any(cpu == 1 and i > after[0][0] for i, cpu in hits), f"no CPU 1 {event} after"
        assert not any(cpu == 1 and offline[0][0] < i < offline[-1][0] for i, cpu in hits), \
            f"a {event} on CPU 1 while it was offline"


def test_cpu_offline_online_keeps_stream(lttng: Lttng, cpu1: None) -> None:
    check_offline_online(offline_online_session(lttng, "hp"))


def test_cpu_offline_at_start_gets_stream(lttng: Lttng, cpu1: None) -> None:
    set_cpu1(False)
    lttng.ok("create", "late")
    lttng.ok("enable-event", "-k", "sched_switch,sched_process_exec")
    lttng.ok("enable-event", "-k", "--syscall", "openat")
    # A perf counter context follows CPU hotplug too.
    lttng.ok("add-context", "-k", "-t", "perf:cpu:page-fault")
    lttng.ok("start")
    marks("offline", None)
    set_cpu1(True)
    marks("after", 1)
    time.sleep(0.5)
    lttng.ok("stop")
    lttng.ok("destroy")
    lines = read_trace(lttng, "late")
    assert [cpu for _, cpu in mark_lines(lines, "offline")] == [0] * MARKS
    after = mark_lines(lines, "after")
    assert [cpu for _, cpu in after] == [1] * MARKS, after
    for event in ("sched_switch", "sched_process_exec"):  # direct probe, perf events
        assert any(f" {event}: " in line and cpu_of(line) == 1 for line in lines[after[0][0]:]), \
            f"no {event} recorded on CPU 1 once it came online"
    faults = [re.search(r"perf_cpu_page_fault = (\d+)", lines[i]) for i, _ in after]
    assert all(faults), after
    assert any(int(f.group(1)) > 0 for f in faults if f), "CPU 1 page-fault counter never counts"


def test_stock_daemons_cpu_offline_online(stock: StockLttng, cpu1: None) -> None:  # noqa: F811
    check_offline_online(offline_online_session(stock, "stockhp"))


def test_cpu_unplugged_and_replugged_under_load(lttng: Lttng, cpu1: None, stress: bool,
                                                tmp_path: Path) -> None:
    """Issue 23, faults survived: CPU 1 goes offline and back online again and again while
    stress-ng loads both CPUs and a session records every system call and scheduler
    event; the trace reads whole (but for what full buffers discarded), and the module
    lets go of everything once the session is destroyed."""
    rounds = 30 if stress else 3
    # The module loaded and the daemons up: what the refcount comes back to.
    lttng.ok("create", "warm", f"--output={tmp_path / 'warm'}")
    lttng.ok("enable-event", "-k", "sched_switch")
    lttng.ok("destroy", "warm")
    time.sleep(1)
    baseline = int(MODULE_REFCNT.read_text())
    output = tmp_path / "plug"
    lttng.ok("create", "plug", f"--output={output}")
    lttng.ok("enable-channel", "-k", "--subbuf-size", "64k", "--num-subbuf", "4", "chan")
    lttng.ok("enable-event", "-k", "-c", "chan", "--syscall", "-a")
    lttng.ok("enable-event", "-k", "-c", "chan", "sched_switch,sched_wakeup,sched_process_exec")
    lttng.ok("start")
    load = subprocess.Popen(["stress-ng", "--timeout", f"{rounds * 3}s", "--cpu", "2",
                             "--switch", "1", "--open", "1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(rounds):
            set_cpu1(False)
            time.sleep(0.5)
            set_cpu1(True)
            marks("replugged", 1)
            time.sleep(0.5)
    finally:
        load.wait(timeout=rounds * 3 + 60)
    lttng.ok("stop")
    lttng.ok("destroy")
    events = counted_events(output, discards_allowed=True)
    assert events > 1000, f"only {events} events"
    assert settled_refcount(baseline, timeout=10) == baseline
    print(f"figure: {rounds} CPU unplugs and replugs under load, {events} events read")
