"""Absurd kernel-domain input (issue 23, "Bad input"): channel sizes no machine has, names
too long or with a slash, events and contexts that do not exist, pids beyond pid_max —
pylttng-sessiond answers each as the stock lttng-sessiond 2.13 on pylttng.ko does, text
and exit code, command by command.  Session names and URLs, which need no kernel, are
tests/host/test_absurd_input.py's.

Whatever is accepted must then trace: the session is started and stopped, and
babeltrace2 reads what it wrote.
"""

from __future__ import annotations

from pathlib import Path

from conftest import Lttng, babeltrace2
from differential import Transcript, assert_same_transcripts, keep_transcripts, run_on_both

LONG = "y" * 300  # over LTTNG_SYMBOL_NAME_LEN (256)


def absurd_channels(t: Transcript) -> None:
    t("create", "abs", "-o", str(t.scratch / "abs"))
    # Sizes: 64 GiB a CPU, not a power of two, below a page, beyond 64 bits, zero.
    t("enable-channel", "-k", "--subbuf-size", "1G", "--num-subbuf", "64", "huge")
    t("enable-channel", "-k", "--subbuf-size", "3", "tiny")
    t("enable-channel", "-k", "--subbuf-size", "4096", "--num-subbuf", "3", "odd")
    t("enable-channel", "-k", "--subbuf-size", "99999999999999999999", "over")
    t("enable-channel", "-k", "--num-subbuf", "0", "none")
    t("enable-channel", "-k", "--tracefile-size", "1", "--tracefile-count", "99999999", "files")
    t("enable-channel", "-k", "--switch-timer", "99999999999", "timer")
    t("enable-channel", "-k", "--read-timer", "0", "reader")
    # Names: too long, a path, the metadata channel's, twice the same.
    t("enable-channel", "-k", LONG)
    t("enable-channel", "-k", "a/b")
    t("enable-channel", "-k", "metadata")
    t("enable-channel", "-k", "--subbuf-size", "8k", "--num-subbuf", "2", "chan")
    t("enable-channel", "-k", "chan")
    # Events and contexts that do not exist, a pid beyond pid_max.
    t("enable-event", "-k", "-c", "chan", LONG)
    t("enable-event", "-k", "-c", "chan", "--syscall", "no_such_syscall")
    t("enable-event", "-k", "-c", "chan", "--probe", "no_such_symbol_xyz+0x0", "p1")
    t("enable-event", "-k", "-c", "nosuch", "sched_switch")
    t("add-context", "-k", "-c", "chan", "-t", "no_such_context")
    t("add-context", "-k", "-c", "chan", "-t", "perf:cpu:no_such_counter")
    t("track", "-k", "--pid", "4194305")
    t("enable-event", "-k", "-c", "chan", "sched_process_fork")
    t("start")
    t("stop")
    t("list", "abs")
    t("destroy", "abs")


def test_absurd_channels_events_and_contexts(lttng: Lttng, tmp_path: Path) -> None:
    ours, stock = run_on_both(lttng, tmp_path, absurd_channels)
    keep_transcripts("absurd", ours, stock)
    assert_same_transcripts(ours, stock)
    said = {s.command.split()[-1]: (s.rc, s.output) for s in ours.steps
            if s.command.startswith("enable-channel")}
    # Refused: memory no machine has (by the daemon), a name that would be a path.
    assert said["huge"] == (1, "Error: Channel huge: Not enough memory (session abs)\n")
    assert said["a/b"][0] == 1 and "Invalid channel name" in said["a/b"][1]
    # The session the refusals left behind traced: each daemon's trace reads.
    for daemons in ("pylttng", "stock"):
        read = babeltrace2(str(tmp_path / daemons / "abs"))
        assert read.rc == 0 and not read.err.strip(), read
