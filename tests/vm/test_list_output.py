"""`lttng list <session>` and `lttng status` print what the stock lttng-sessiond 2.13 makes them print."""

from __future__ import annotations

import os
import re
from pathlib import Path

from conftest import Lttng

TRANSCRIPT = Path(os.environ.get("PYLTTNG_SHARED", Path(__file__).resolve().parents[3] / "shared"),
                  "reference", "lttng-2.13-kernel-transcript.txt")


def reference_block(command: str) -> str:
    """The output of the first `+ <command>` in the stock transcript."""
    text = TRANSCRIPT.read_text()
    start = text.index(f"+ {command}\n") + len(command) + 3
    end = text.index("+ echo rc=", start)
    return text[start:end]


def normalized(text: str, home: Path) -> str:
    text = text.replace(str(home), "$LTTNG_HOME")
    return re.sub(r"-\d{8}-\d{6}", "-<date>", text)


def test_list_session_matches_stock(lttng: Lttng) -> None:
    lttng.ok("create", "dup")
    lttng.ok("enable-event", "-k", "no_such_tracepoint_xyz")
    lttng.ok("enable-event", "-k", "sched_switch")
    lttng.ok("start")
    # The reference session also had a syscall rule (a later issue): drop its line.
    expected = "".join(line for line in reference_block("lttng list dup").splitlines(True)
                       if "no_such_syscall" not in line)
    got = lttng.ok("list", "dup").out
    assert normalized(got, lttng.home) == normalized(expected, lttng.home)
    lttng.ok("stop")
    status = lttng.ok("status").out
    assert normalized(status, lttng.home) == normalized(
        expected.replace("[active]", "[inactive]"), lttng.home)
