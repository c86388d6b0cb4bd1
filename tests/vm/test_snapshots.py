"""Flight-recorder snapshots, pylttng-sessiond against the stock daemons on pylttng.ko:
the same CLI transcript, and snapshot folders that babeltrace2 reads."""

from __future__ import annotations

from pathlib import Path

from conftest import Lttng, babeltrace2_lines, fork_exec_workload
from differential import Transcript, assert_same_transcripts, normalise_dates, run_on_both


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
