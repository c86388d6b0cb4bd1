"""Flight-recorder snapshots, pylttng-sessiond against the stock daemons on pylttng.ko:
the same CLI transcript, and snapshot folders that babeltrace2 reads."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import DISCARDED_EVENTS, Lttng, babeltrace2_lines, fork_exec_workload
from differential import (
    Transcript,
    assert_same_transcripts,
    keep_transcripts,
    normalise_dates,
    run_on_both,
)
from relayd import Relayd, loopback_up
from test_streaming import on_each_cpu
from test_tracefiles import flood


def snapshot_session(t: Transcript) -> None:
    out = t.scratch / "snap"
    t("create", "snap", "--snapshot", "-o", str(out))
    t("list", "snap")
    t("enable-event", "-k", "sched_switch,sched_process_fork,sched_process_exec")
    t("snapshot", "record")  # before the first start
    t("start")
    fork_exec_workload(20)
    t("snapshot", "list-output")
    t("--mi", "xml", "snapshot", "list-output")
    t("snapshot", "add-output", str(t.scratch / "other"))  # one output only
    t("snapshot", "record")
    fork_exec_workload(20)
    t("snapshot", "record", "-n", "named")
    t("snapshot", "record", "-m", "1k")  # not one packet of each stream fits
    t("snapshot", "record", f"file://{t.scratch / 'direct'}")
    t("stop")
    t("snapshot", "record")  # a stopped session keeps its buffers
    t("snapshot", "del-output", "1")
    t("snapshot", "list-output")
    t("snapshot", "record")  # nowhere to go
    t("snapshot", "add-output", "-n", "again", str(t.scratch / "again"))
    t("snapshot", "list-output")
    t("destroy", "snap")
    t("create", "plain", "-o", str(t.scratch / "plain"))
    t("snapshot", "record")  # not a snapshot session
    t("snapshot", "list-output")
    t("destroy", "plain")


def snapshot_folders(scratch: Path) -> list[str]:
    """The snapshot folders, relative to the scratch folder, dates replaced."""
    found = sorted(p.parent.relative_to(scratch) for p in scratch.rglob("kernel/metadata"))
    return [normalise_dates(str(p)) for p in found]


def test_snapshots_as_the_stock_daemon(lttng: Lttng, tmp_path: Path) -> None:
    ours, stock = run_on_both(lttng, tmp_path, snapshot_session)
    assert_same_transcripts(ours, stock)
    assert snapshot_folders(tmp_path / "pylttng") == snapshot_folders(tmp_path / "stock")
    for daemons in ("pylttng", "stock"):
        snapshots = sorted((tmp_path / daemons).rglob("kernel/metadata"))
        assert len(snapshots) == 4, snapshots  # record, named, direct, after stop
        for metadata in snapshots:
            lines = babeltrace2_lines(metadata.parent.parent)
            assert any(" sched_switch: " in line for line in lines), metadata
            assert list(metadata.parent.glob("channel0_*")), metadata


# --- --tracefile-size / --tracefile-count ----------------------------------------------------

SNAPSHOT_RELAYD_PORTS = (8352, 8353, 8354)
# 4 KiB packets, three to a file, a count the 8 packets of a full ring never reach.
TRACEFILE_SIZE, TRACEFILE_COUNT = 12288, 5
INDEX_HEADER_SIZE = 16  # ctf-index.h: struct ctf_packet_index_file_hdr


def tracefiles_scenario(t: Transcript) -> None:
    relayd = Relayd(t.scratch / "relayd", "127.0.0.1", *SNAPSHOT_RELAYD_PORTS).start()
    url = "net://127.0.0.1:{}:{}".format(*SNAPSHOT_RELAYD_PORTS[:2])
    try:
        t("create", "tf", "--snapshot", "-o", str(t.scratch / "local"))
        t("enable-channel", "-k", "c", "--subbuf-size", "4k", "--num-subbuf", "8",
          "--tracefile-size", str(TRACEFILE_SIZE), "--tracefile-count", str(TRACEFILE_COUNT))
        t("enable-event", "-k", "-c", "c", "--syscall", "getppid")
        t("start")
        on_each_cpu(lambda: flood(0.2))  # every CPU's ring goes round
        t("stop")  # nothing overwrites a packet while it is copied: the same packets
        t("snapshot", "record")
        t("snapshot", "record")  # each stream goes on from the file it ended in
        t("snapshot", "record", url)  # the relay daemon splits, from its file 0
        t("destroy", "tf")
    finally:
        relayd.stop()


def snapshot_files(scratch: Path) -> list[str]:
    """Every file of every snapshot, relative to the scratch folder, dates replaced."""
    return sorted(normalise_dates(str(p.relative_to(scratch)))
                  for folder in scratch.rglob("kernel") for p in folder.rglob("*") if p.is_file())


# The index files of a snapshot have no entry (lttng-consumerd creates one with each next
# file, and writes none for a snapshot): babeltrace2 says so, and reads the packets.
# Full buffers discard events and lose packets under the flood: babeltrace2 says so too.
_TOLERATED = re.compile(
    DISCARDED_EVENTS.pattern + r"|^WARNING: Tracer (may have )?lost .*\n"
    r"|^.* W PLUGIN/SRC\.CTF\.FS/DS build_index_from_idx_file@.* Invalid LTTng trace index "
    r"file; indexed size != stream file size: file-size=\d+, total-packets-size=0\n",
    re.MULTILINE,
)


def test_snapshot_tracefile_limits_as_the_stock_daemon(lttng: Lttng, tmp_path: Path) -> None:
    """A snapshot's streams are split in trace files as the stock lttng-consumerd splits
    them, locally and through lttng-relayd: the same files, each snapshot readable. The
    stock's ways kept: a local snapshot goes on from the file number where the stream's
    previous one ended, and each file after a stream's first gets an empty index."""
    loopback_up()
    ours, stock = run_on_both(lttng, tmp_path, tracefiles_scenario)
    kept = keep_transcripts("snapshots/tracefiles", ours, stock)
    if kept is not None:
        for daemons in ("pylttng", "stock"):
            files = snapshot_files(tmp_path / daemons)
            (kept / f"{daemons}.files").write_text("\n".join(files) + "\n")
    assert_same_transcripts(ours, stock)
    assert snapshot_files(tmp_path / "pylttng") == snapshot_files(tmp_path / "stock")
    for daemons in ("pylttng", "stock"):
        kernels = sorted((tmp_path / daemons).rglob("kernel"))
        assert len(kernels) == 3, kernels  # two local snapshots, one on the relay daemon
        for kernel in kernels:
            data = list(kernel.glob("c_*"))
            assert data and all(re.fullmatch(r"c_\d+_[0-4]", p.name) for p in data), data
            assert all(p.stat().st_size <= TRACEFILE_SIZE for p in data), kernel
            assert max(int(p.name.rsplit("_", 1)[1]) for p in data) > 0, kernel  # split
            assert (kernel / "metadata").is_file()  # never split
            assert {p.stat().st_size for p in kernel.glob("index/*")} <= {INDEX_HEADER_SIZE}
            if daemons == "pylttng":  # the stock's are the same files; reading is slow
                lines = babeltrace2_lines(kernel.parent, tolerated=_TOLERATED)
                assert any(" syscall_entry_getppid: " in line for line in lines), kernel
