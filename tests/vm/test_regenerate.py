"""`lttng regenerate metadata` and `regenerate statedump`, pylttng-sessiond against the
stock daemons on pylttng.ko: same CLI transcript, and traces babeltrace2 reads."""

from __future__ import annotations

from pathlib import Path

from conftest import Lttng, babeltrace2_lines, fork_exec_workload
from differential import Transcript, assert_same_transcripts, run_on_both


def regenerate_session(t: Transcript) -> None:
    t("create", "regen", "-o", str(t.scratch / "regen"))
    t("enable-event", "-k", "sched_switch,sched_process_fork,lttng_statedump_start")
    t("regenerate", "metadata")  # not started
    t("regenerate", "statedump")
    t("start")
    fork_exec_workload(10)
    t("regenerate", "metadata")
    t("regenerate", "statedump")
    fork_exec_workload(10)
    t("stop")
    t("regenerate", "metadata")  # stopped
    t("destroy", "regen")


def test_regenerate_as_the_stock_daemon(lttng: Lttng, tmp_path: Path) -> None:
    ours, stock = run_on_both(lttng, tmp_path, regenerate_session)
    assert_same_transcripts(ours, stock)
    for daemons in ("pylttng", "stock"):
        trace = tmp_path / daemons / "regen"
        metadata = (trace / "kernel" / "metadata").read_bytes()
        # Started over, not appended to: one trace block in the file.
        assert metadata.count(b"trace {") == 1, daemons
        lines = babeltrace2_lines(trace)
        assert any(" sched_process_fork: " in line for line in lines), daemons
        starts = [line for line in lines if " lttng_statedump_start: " in line]
        assert len(starts) == 2, (daemons, starts)  # at start and on regenerate
