"""Session rotation and clear, pylttng-sessiond against the stock daemons on pylttng.ko:
the same CLI transcripts, the same trace-chunk archive folders (dates normalised), each
archive a whole trace that babeltrace2 reads alone, and every event of a known workload
found exactly once over the archives and the current chunk."""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import differential
from conftest import Lttng, babeltrace2_lines, fork_exec_workload
from differential import Transcript, assert_same_transcripts, normalise_dates, run_on_both

WORKLOAD_EVENTS = "sched_process_fork,sched_process_exec"


class Workload:
    """fork_exec_workload() runs, remembered with the scenario's transcript."""

    def __init__(self) -> None:
        self.pids: dict[str, list[int]] = {}

    def __call__(self, t: Transcript, count: int, *, kept: bool = True) -> None:
        pids = fork_exec_workload(count)
        self.pids.setdefault(str(t.scratch), []).extend(pids if kept else [])
        self.pids.setdefault(f"{t.scratch}:dropped", []).extend([] if kept else pids)


def traces(folder: Path) -> list[Path]:
    """Every trace under folder: each folder holding kernel/metadata."""
    return sorted(p.parent.parent for p in folder.rglob("kernel/metadata"))


def layout(folder: Path) -> list[str]:
    """Every file and folder under folder, relative, dates normalised."""
    return sorted(normalise_dates(str(p.relative_to(folder))) for p in folder.rglob("*"))


def workload_counts(folder: Path, pids: list[int],
                    tolerated: re.Pattern[str] | None = None) -> Counter[tuple[str, int]]:
    """(event, pid) -> how many times it is in the traces under folder, each trace read
    on its own by babeltrace2 (no warning but the ``tolerated`` ones, no error)."""
    wanted = set(pids)
    found: Counter[tuple[str, int]] = Counter()
    for trace in traces(folder):
        for line in babeltrace2_lines(trace, tolerated=tolerated):
            if " sched_process_fork: " in line:
                m = re.search(r"\bchild_tid = (\d+)", line)
                if m and int(m.group(1)) in wanted:
                    found["fork", int(m.group(1))] += 1
            elif " sched_process_exec: " in line:
                m = re.search(r'filename = "/bin/true", tid = (\d+),', line)
                if m and int(m.group(1)) in wanted:
                    found["exec", int(m.group(1))] += 1
    return found


def assert_each_once(folder: Path, kept: list[int], dropped: list[int] | None = None) -> None:
    """Each kept child's fork and exec exactly once; none of the dropped (cleared) ones."""
    assert_counts(workload_counts(folder, [*kept, *(dropped or [])]), kept)


def assert_counts(counts: Counter[tuple[str, int]], kept: list[int]) -> None:
    """workload_counts() found each kept child's fork and exec exactly once, and nothing else."""
    expected = Counter({(kind, pid): 1 for pid in kept for kind in ("fork", "exec")})
    assert counts == expected, f"lost or duplicated: {(counts - expected) + (expected - counts)}"


def keep_transcripts(name: str, ours: Transcript, stock: Transcript, scratch: Path) -> None:
    """The two transcripts and layouts in the run's output folder, for a look afterwards."""
    dest = differential.keep_transcripts(f"rotation/{name}", ours, stock)
    if dest is None:
        return
    for which in ("pylttng", "stock"):
        (dest / f"{which}.layout").write_text("\n".join(layout(scratch / which)) + "\n")


_CHUNK_ID = re.compile(r"(archives/DATE-DATE-)\d+")


def without_chunk_ids(transcript: Transcript) -> Transcript:
    """The transcript with its archives' chunk ids replaced: how many timer and size
    rotations ran before a command depends on timing, not on the daemon."""
    transcript.steps = [replace(s, output=_CHUNK_ID.sub(r"\1N", s.output))
                        for s in transcript.steps]
    return transcript


def run_and_compare(name: str, lttng: Lttng, tmp_path: Path, scenario: object, *,
                    timed: bool = False) -> tuple[Transcript, Transcript]:
    ours, stock = run_on_both(lttng, tmp_path, scenario)  # type: ignore[arg-type]
    keep_transcripts(name, ours, stock, tmp_path)
    if timed:
        ours, stock = without_chunk_ids(ours), without_chunk_ids(stock)
    assert_same_transcripts(ours, stock)
    return ours, stock


# --- rotate, rotate --no-wait, rotate while stopped, destroy's last rotation ---------------

def rotate_scenario(work: Workload) -> object:
    def scenario(t: Transcript) -> None:
        out = t.scratch / "rot"
        t("create", "rot", "-o", str(out))
        t("enable-event", "-k", WORKLOAD_EVENTS)
        t("rotate", "rot")  # never started
        t("start")
        work(t, 5)
        t("rotate")
        work(t, 5)
        t("rotate", "--no-wait", "rot")
        work(t, 5)
        t("stop")  # waits for the rotation too (data pending)
        t("rotate", "rot")  # stopped: the chunk so far becomes an archive
        t("rotate", "rot")  # once only after a stop
        t("clear", "rot")  # no effect after a stop followed by a rotation
        t("list", "rot")
        t("start")
        work(t, 5)
        t("stop", "--no-wait")
        t("destroy", "rot")  # a last rotation: the current chunk becomes an archive
        t("create", "snap", "--snapshot", "-o", str(t.scratch / "snap"))
        t("enable-event", "-k", WORKLOAD_EVENTS)
        t("start")
        t("rotate", "snap")  # no rotation for a snapshot session
        t("enable-rotation", "--timer", "1s")
        t("destroy", "snap")
    return scenario


def test_rotate_as_the_stock_daemon(lttng: Lttng, tmp_path: Path) -> None:
    work = Workload()
    run_and_compare("rotate", lttng, tmp_path, rotate_scenario(work))
    assert layout(tmp_path / "pylttng" / "rot") == layout(tmp_path / "stock" / "rot")
    for daemons in ("pylttng", "stock"):
        out = tmp_path / daemons / "rot"
        archives = sorted((out / "archives").iterdir())
        assert len(archives) == 4, archives  # rotate, --no-wait, after stop, destroy
        assert traces(out) == archives  # nothing left outside the archives
        assert_each_once(out, work.pids[str(tmp_path / daemons)])


# --- destroy while a rotation is pending -------------------------------------------------

def pending_scenario(work: Workload) -> object:
    def scenario(t: Transcript) -> None:
        t("create", "pend", "-o", str(t.scratch / "pend"))
        t("enable-event", "-k", WORKLOAD_EVENTS)
        t("start")
        work(t, 5)
        t("rotate", "--no-wait")
        t("destroy")  # waits for the rotation (data pending), then rotates once more
    return scenario


def test_destroy_with_a_pending_rotation(lttng: Lttng, tmp_path: Path) -> None:
    work = Workload()
    run_and_compare("pending", lttng, tmp_path, pending_scenario(work))
    assert layout(tmp_path / "pylttng" / "pend") == layout(tmp_path / "stock" / "pend")
    for daemons in ("pylttng", "stock"):
        assert_each_once(tmp_path / daemons / "pend", work.pids[str(tmp_path / daemons)])


# --- clear: started, stopped, after rotations -----------------------------------------------

def clear_scenario(work: Workload) -> object:
    def scenario(t: Transcript) -> None:
        t("create", "clr", "-o", str(t.scratch / "clr"))
        t("enable-event", "-k", WORKLOAD_EVENTS)
        t("clear")  # never started: nothing to do
        t("start")
        work(t, 5, kept=False)
        t("clear")  # started: what was recorded goes, tracing goes on
        work(t, 5, kept=False)
        t("stop")
        t("clear")  # stopped: what was recorded since goes too, and it stays stopped
        t("clear")  # a second clear after a stop: no effect
        t("rotate")  # refused after a stop and a clear (a rotation while stopped)
        t("start")
        work(t, 5)
        t("rotate")
        work(t, 5, kept=False)
        t("clear")  # the archive stays, the current chunk goes
        work(t, 5)
        t("destroy")
    return scenario


def test_clear_as_the_stock_daemon(lttng: Lttng, tmp_path: Path) -> None:
    work = Workload()
    run_and_compare("clear", lttng, tmp_path, clear_scenario(work))
    assert layout(tmp_path / "pylttng" / "clr") == layout(tmp_path / "stock" / "clr")
    # The same events survive under both daemon pairs, and they are the expected ones.
    # Each daemon pair's traces read once; events named by the workload's run order.
    counts, by_order = {}, {}
    for daemons in ("pylttng", "stock"):
        key = str(tmp_path / daemons)
        kept, dropped = work.pids[key], work.pids[f"{key}:dropped"]
        counts[daemons] = workload_counts(tmp_path / daemons / "clr", [*kept, *dropped])
        by_order[daemons] = sorted(
            (kind, kept.index(pid) if pid in kept else -1 - dropped.index(pid), n)
            for (kind, pid), n in counts[daemons].items())
    assert by_order["pylttng"] == by_order["stock"]
    for daemons in ("pylttng", "stock"):
        assert_counts(counts[daemons], work.pids[str(tmp_path / daemons)])


# --- schedules: a timer and a size threshold -------------------------------------------------

def schedule_scenario(work: Workload) -> object:
    def scenario(t: Transcript) -> None:
        t("create", "sch", "-o", str(t.scratch / "sch"))
        # Small sub-buffers closed by a switch timer: packets are consumed as they come,
        # and the workload alone crosses the size threshold every few seconds, seen at the
        # monitor timer's period.
        t("enable-channel", "-k", "small", "--subbuf-size", "4096", "--num-subbuf", "8",
          "--switch-timer", "100000", "--monitor-timer", "200000")
        t("enable-event", "-k", "-c", "small", WORKLOAD_EVENTS)
        t("enable-rotation", "--timer", "2s")
        t("enable-rotation", "--timer", "3s")  # one of each type
        t("enable-rotation", "--size", "16k")
        t("list", "sch")
        t("start")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            work(t, 3)
            time.sleep(0.3)
        t("disable-rotation", "--timer")
        t("disable-rotation", "--timer")  # not set any more
        t("disable-rotation", "--size")
        t("list", "sch")
        t("stop")
        t("destroy")
    return scenario


def test_rotation_schedules_as_the_stock_daemon(lttng: Lttng, tmp_path: Path) -> None:
    work = Workload()
    run_and_compare("schedules", lttng, tmp_path, schedule_scenario(work), timed=True)
    for daemons in ("pylttng", "stock"):
        out = tmp_path / daemons / "sch"
        archives = sorted((out / "archives").iterdir())
        assert len(archives) >= 3, archives  # timer and size rotations, then destroy's
        for archive in archives:
            assert re.fullmatch(r"\d{8}T\d{6}[+-]\d{4}-\d{8}T\d{6}[+-]\d{4}-\d+", archive.name)
        assert_each_once(out, work.pids[str(tmp_path / daemons)])
