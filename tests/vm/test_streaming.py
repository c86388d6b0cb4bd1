"""Streaming to the stock lttng-relayd 2.13, pylttng-sessiond + pylttng-consumerd against the
stock lttng-sessiond + lttng-consumerd on pylttng.ko: the same CLI transcripts, the same
folders written by the relay daemon (`<host>/<session>-<date>/kernel/...`), traces that
babeltrace2 reads, each event of a known workload in them exactly once; the same error,
at the same command, when no relay daemon listens; and the same stream files split by
the relay daemon under --tracefile-size/--tracefile-count."""

from __future__ import annotations

import os
import re
import socket
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from conftest import Lttng, counted_events, run
from differential import (
    Transcript,
    assert_same_transcripts,
    keep_transcripts,
    normalise_dates,
    run_on_both,
)
from relayd import Relayd, loopback_up, traces_of
from test_rotation import WORKLOAD_EVENTS, Workload, assert_counts, layout, workload_counts
from test_tracefiles import flood, index_of, packets_in, read_back
from test_tracefiles import layout as tracefile_layout

HOST = socket.gethostname()


def keep(name: str, ours: Transcript, stock: Transcript, scratch: Path) -> None:
    """Both transcripts and relay daemon layouts in the run's output folder."""
    out = os.environ.get("PYLTTNG_VM_OUT")
    if out is None:
        return
    dest = Path(out, "streaming", name)
    dest.mkdir(parents=True, exist_ok=True)
    for which, transcript in (("pylttng", ours), ("stock", stock)):
        text = "".join(f"$ lttng {s.command}\n[exit {s.rc}]\n{s.output}\n" for s in transcript.steps)
        (dest / f"{which}.txt").write_text(text)
        (dest / f"{which}.layout").write_text("\n".join(relayd_layout(scratch / which)) + "\n")


# --- net://, --ctrl-url/--data-url with a folder, net6://, an auto-named session -----------

SESSIONS = ("net4", "urls", "net6")


def relayds(scratch: Path) -> dict[str, Relayd]:
    base = scratch / "relayd"
    return {
        # lttng-tools' default ports, as `-U net://127.0.0.1` uses them
        "v4": Relayd(base / "v4", "127.0.0.1", 5342, 5343, 5344),
        "urls": Relayd(base / "urls", "127.0.0.1", 6342, 6343, 6344),
        "v6": Relayd(base / "v6", "::1", 5342, 5343, 5344),
    }


def relayd_layout(scratch: Path) -> list[str]:
    """What the three relay daemons wrote, dates normalised."""
    return [f"{name}/{p}" for name, r in relayds(scratch).items() for p in layout(r.output)]


def streaming_scenario(work: Workload) -> Callable[[Transcript], None]:
    def scenario(t: Transcript) -> None:
        daemons = relayds(t.scratch)
        for relayd in daemons.values():
            relayd.start()
        try:
            t("create", "net4", "-U", "net://127.0.0.1")
            t("create", "urls", "--ctrl-url", "tcp://127.0.0.1:6342/sub/dir",
              "--data-url", "tcp://127.0.0.1:6343")
            t("create", "net6", "--set-url", "net6://[::1]")
            t("create", "-U", "net://localhost:5342:5343")  # auto-named, a host name
            t("list")
            for name in SESSIONS:
                t("enable-event", "-k", WORKLOAD_EVENTS, "-s", name)
            t("enable-event", "-k", WORKLOAD_EVENTS)  # the auto-named one: current
            t("status")
            t("list", "urls")
            t("save", "-o", str(t.scratch / "saved"), "urls")
            for name in SESSIONS:
                t("start", name)
            t("start")
            work(t, 10)
            for name in SESSIONS:
                t("stop", name)
            t("stop")
            t("list", "net4")
            for name in SESSIONS:
                t("destroy", name)
            t("destroy")
        finally:
            for relayd in daemons.values():
                relayd.stop()
    return scenario


def test_streaming_as_the_stock_daemon(lttng: Lttng, tmp_path: Path) -> None:
    loopback_up()
    work = Workload()
    ours, stock = run_on_both(lttng, tmp_path, streaming_scenario(work))
    keep("streaming", ours, stock, tmp_path)
    assert_same_transcripts(ours, stock)
    assert "tcp4://127.0.0.1:6342/sub/dir [data: 6343]" in "".join(s.output for s in ours.steps)
    mine, theirs = (relayd_layout(tmp_path / d) for d in ("pylttng", "stock"))
    assert mine == theirs
    # Where lttng-relayd puts each session: <host>/<name>-<date>, the URL's folder, or the
    # auto-generated name alone (it carries its date).
    for where in (f"v4/{HOST}/net4-DATE/kernel/metadata", f"urls/{HOST}/sub/dir/kernel/metadata",
                  f"v6/{HOST}/net6-DATE/kernel/metadata", f"v4/{HOST}/auto-DATE/kernel/metadata"):
        assert where in mine, (where, mine)
    assert any(p.startswith(f"v4/{HOST}/net4-DATE/kernel/channel0_") for p in mine)
    assert any(p.startswith(f"v4/{HOST}/net4-DATE/kernel/index/channel0_") for p in mine)
    saved = [normalise_dates((tmp_path / d / "saved" / "urls.lttng").read_text())
             for d in ("pylttng", "stock")]
    assert saved[0] == saved[1]
    assert "<control_uri>tcp4://127.0.0.1:6342/sub/dir</control_uri>" in saved[0]
    for daemons in ("pylttng", "stock"):
        pids = work.pids[str(tmp_path / daemons)]
        found = [p for r in relayds(tmp_path / daemons).values() for p in traces_of(r)]
        assert len(found) == 4, found
        for trace in found:  # babeltrace2 reads each one alone, every event once
            assert_counts(workload_counts(trace, pids), pids)


# --- `lttng stop`: data pending -----------------------------------------------------------

LOOP = Path(os.environ.get("PYLTTNG_SRC", "."), "build", "syscall_loop")
# The CLI prints a dot for each "pending" answer, after sleeping 200 ms (lttng-tools:
# src/bin/lttng/commands/stop.c).
WAITING = re.compile(r"Waiting for data availability(\.*)\n")


def test_stop_finds_no_data_pending(lttng: Lttng, tmp_path: Path) -> None:
    """At `lttng stop`, the run's last packet (a few hundred KiB, more than the loopback
    connection takes at once) is still on its way to the relay daemon: pylttng-consumerd
    sends it before it answers whether data is pending, so the first answer is "not
    pending", and a true one: the relay daemon's trace holds every event by then."""
    assert LOOP.exists(), f"{LOOP} is missing: make build/syscall_loop"
    loopback_up()
    relayd = Relayd(tmp_path / "relayd", "127.0.0.1", 9342, 9343, 9344).start()
    calls = 20000
    try:
        lttng.ok("create", "stopping", "-U", "net://127.0.0.1:9342:9343")
        lttng.ok("enable-channel", "-k", "--subbuf-size", "1M", "chan")
        lttng.ok("enable-event", "-k", "-c", "chan", "--syscall", "getpid")
        for runs in (1, 2):
            lttng.ok("start")
            loop = run(str(LOOP), str(calls), "1")
            assert loop.rc == 0 and f"calls={calls}" in loop.out, loop.text
            stopped = lttng.ok("stop")
            waited = WAITING.search(stopped.out)
            assert waited is not None and waited.group(1) == "", stopped.text
            [trace] = traces_of(relayd)
            # The loop's entries and exits, and any other process's getpid calls.
            assert counted_events(trace) >= 2 * calls * runs
        lttng.ok("destroy")
    finally:
        relayd.stop()


# --- no relay daemon listening ------------------------------------------------------------

def no_relayd_scenario(t: Transcript) -> None:
    t("create", "nore", "-U", "net://127.0.0.1:7342:7343")  # nothing listens there
    t("list", "nore")
    # lttng-sessiond connects to the relay daemon at the first kernel-domain command of
    # the session (cmd_setup_relayd()), not at create: that command fails, and so does
    # every later one (each tries again), listing the session's kernel domain included.
    t("enable-event", "-k", WORKLOAD_EVENTS)
    t("list", "nore")
    t("enable-event", "-k", WORKLOAD_EVENTS)  # AGAIN: not compared
    t("start")
    t("destroy", "nore")


AGAIN = 4


def test_no_relayd_as_the_stock_daemon(lttng: Lttng, tmp_path: Path) -> None:
    loopback_up()
    ours, stock = run_on_both(lttng, tmp_path, no_relayd_scenario)
    keep("no-relayd", ours, stock, tmp_path)
    # The stock lttng CLI sometimes dies of SIGPIPE on the second try (exit -13, nothing
    # printed: the stock daemon closed the socket before reading all of the request), and
    # sometimes prints what pylttng answers: that step is kept, not compared.
    again = ours.steps.pop(AGAIN)
    stock.steps.pop(AGAIN)
    assert_same_transcripts(ours, stock)
    for failed in (ours.steps[2], again):
        assert failed.rc == 104, failed  # LTTNG_ERR_RELAYD_CONNECT_FAIL, as an exit code
        assert "Unable to connect to lttng-relayd (channel channel0, session nore)" in (
            failed.output), failed


# --- trace file limits: the relay daemon splits the files --------------------------------

RELAYD_PORTS = (8342, 8343, 8344)
# "wrap": 2 one-page packets per file, 3 files that go round under a getppid flood;
# "all": one packet per file (the size is the sub-buffer's), a count never reached, the
# switch timer closing packets while the fork/exec workload runs: every event is kept.
LIMITS = {"wrap": (8192, 3), "all": (4096, 1000)}


def on_each_cpu(action: Callable[[], None]) -> None:
    """Run ``action`` pinned to each CPU in turn: every CPU's stream gets packets, so both
    runs write the same streams' files."""
    cpus = os.sched_getaffinity(0)
    try:
        for cpu in sorted(cpus):
            os.sched_setaffinity(0, {cpu})
            action()
    finally:
        os.sched_setaffinity(0, cpus)


def tracefiles_scenario(work: Workload) -> Callable[[Transcript], None]:
    def scenario(t: Transcript) -> None:
        relayd = Relayd(t.scratch / "relayd", "127.0.0.1", *RELAYD_PORTS).start()
        url = f"net://127.0.0.1:{RELAYD_PORTS[0]}:{RELAYD_PORTS[1]}"
        try:
            for name, (size, count) in LIMITS.items():
                t("create", name, "-U", url)
                t("enable-channel", "-k", "c", "-s", name, "--subbuf-size", "4k",
                  "--num-subbuf", "8", "--tracefile-size", str(size), "--tracefile-count",
                  str(count), *(("--switch-timer", "100000") if name == "all" else ()))
            t("enable-event", "-k", "-s", "wrap", "-c", "c", "--syscall", "getppid")
            t("enable-event", "-k", "-s", "all", "-c", "c", WORKLOAD_EVENTS)
            t("list", "all")
            for name in LIMITS:
                t("start", name)
            on_each_cpu(lambda: flood(0.3))
            on_each_cpu(lambda: work(t, 4))
            # The last created first: at destroy, the stock lttng-sessiond waits until
            # lttng-relayd no longer has the session's trace chunk, which lttng-relayd
            # 2.13 looks up under its own session id (main.c: relay_trace_chunk_exists()):
            # "wrap"'s (1) is "all"'s id in lttng-sessiond, so "wrap" would wait for "all".
            for name in reversed(LIMITS):
                t("destroy", name)
        finally:
            relayd.stop()
    return scenario


_DISCARDED = re.compile(r"\b\d+ events were discarded")


def without_discard_counts(transcript: Transcript) -> Transcript:
    """How many events the flood loses depends on timing, not on the daemon."""
    transcript.steps = [replace(s, output=_DISCARDED.sub("N events were discarded", s.output))
                        for s in transcript.steps]
    return transcript


def check_relayd_files(kernel: Path, size: int, count: int) -> dict[str, list[int]]:
    """Channel c's files as lttng-relayd 2.13 leaves them: ``c_<cpu>_<n>``, n < count, at
    most count per stream, each at most the size unless it holds one packet, the index of
    each non-empty one matching its packets (an empty ``c_<cpu>_0`` is the file the relay
    daemon opens at ADD_STREAM). Each stream's packet numbers, in order: consecutive, the
    newest kept."""
    files: dict[str, list[list[tuple[int, ...]]]] = defaultdict(list)
    for path in kernel.glob("c_*"):
        found = re.fullmatch(r"(c_\d+)_(\d+)", path.name)
        assert found and int(found[2]) < count, path.name
        packets = packets_in(path)
        if not packets:
            assert found[2] == "0" and not (kernel / "index" / f"{path.name}.idx").exists()
            continue
        assert index_of(kernel / "index" / f"{path.name}.idx")[1] == packets, path.name
        assert path.stat().st_size <= size or len(packets) == 1, path.name
        files[found[1]].append(packets)
    seqs = {}
    for stream, kept in files.items():
        assert len(kept) <= count, stream
        ordered = [e[8] for packets in sorted(kept, key=lambda f: f[0][8]) for e in packets]
        assert ordered == list(range(ordered[0], ordered[0] + len(ordered))), (stream, ordered)
        seqs[stream] = ordered
    assert len(seqs) == len(os.sched_getaffinity(0)), seqs  # every CPU's stream
    return seqs


def test_tracefile_limits_as_the_stock_daemon(lttng: Lttng, tmp_path: Path) -> None:
    """--tracefile-size/--tracefile-count of streamed sessions go to lttng-relayd, which
    splits the files: the same layout from both daemon pairs, traces babeltrace2 reads."""
    loopback_up()
    work = Workload()
    ours, stock = run_on_both(lttng, tmp_path, tracefiles_scenario(work))
    keep_transcripts("streaming/tracefiles", ours, stock)
    assert_same_transcripts(*(without_discard_counts(t) for t in (ours, stock)))
    listed = next(s.output for s in ours.steps if s.command == "list all")
    assert "Trace file count: 1000 per stream" in listed, listed
    assert "Trace file size:  4096 bytes" in listed, listed
    layouts = []
    for daemons in ("pylttng", "stock"):
        relayd = Relayd(tmp_path / daemons / "relayd", "127.0.0.1", *RELAYD_PORTS)
        found = {t.name.split("-")[0]: t for t in traces_of(relayd)}
        assert sorted(found) == ["all", "wrap"], found
        wrap = check_relayd_files(found["wrap"] / "kernel", *LIMITS["wrap"])
        # More packets than three files hold in some stream: its files went round.
        assert max(s[-1] for s in wrap.values()) >= 2 * LIMITS["wrap"][1], wrap
        assert "syscall_entry_getppid" in read_back(found["wrap"])
        kept = check_relayd_files(found["all"] / "kernel", *LIMITS["all"])
        assert all(s[0] == 0 for s in kept.values()), kept  # nothing went round
        assert max(len(s) for s in kept.values()) > 1, kept  # files were split
        pids = work.pids[str(tmp_path / daemons)]
        assert_counts(workload_counts(found["all"], pids), pids)
        layouts.append({name: tracefile_layout(trace / "kernel", split=True)
                        for name, trace in found.items()})
    assert layouts[0] == layouts[1]


# --- what pylttng does not carry out for a streamed session ---------------------------------

def test_streamed_session_refusals(lttng: Lttng, tmp_path: Path) -> None:
    """Refused with `Operation not supported`, never accepted and ignored: a trace file
    size without a count through a relay daemon (lttng-relayd 2.13 dies of SIGFPE when the
    first file is full: tests/host/test_consumer_relayd_tracefiles.py), at the start of a
    streamed session, at the record of a snapshot to a relay daemon. (Rotation, clear,
    schedules and snapshots of streamed sessions: test_streaming_rotation.py.)"""
    loopback_up()
    relayd = Relayd(tmp_path / "relayd", "127.0.0.1", *RELAYD_PORTS).start()
    url = f"net://127.0.0.1:{RELAYD_PORTS[0]}:{RELAYD_PORTS[1]}"
    try:
        lttng.ok("create", "limits", "-U", url)
        lttng.ok("enable-channel", "-k", "chan", "--tracefile-size", "1M")
        lttng.ok("enable-event", "-k", "-c", "chan", WORKLOAD_EVENTS)
        refused = lttng("start")
        assert refused.rc != 0 and "Operation not supported" in refused.text, refused
        lttng.ok("destroy")
        lttng.ok("create", "snaplimits", "--snapshot", "-U", url)
        lttng.ok("enable-channel", "-k", "chan", "--tracefile-size", "1M")
        lttng.ok("enable-event", "-k", "-c", "chan", WORKLOAD_EVENTS)
        lttng.ok("start")
        for where in ((), (url,)):  # its output, a URL given
            refused = lttng("snapshot", "record", *where)
            assert refused.rc != 0 and "Operation not supported" in refused.text, refused
        lttng.ok("destroy")
    finally:
        relayd.stop()
    assert traces_of(relayd) == []  # never started, no snapshot sent
