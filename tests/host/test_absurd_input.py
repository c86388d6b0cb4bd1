"""Absurd session names, URLs, snapshot outputs, rotation schedules and tracker values
(issue 23, "Bad input"): pylttng-sessiond answers each as the stock lttng-sessiond 2.13
does, text and exit code, command by command (see test_sessiond_cli.py).

Many are refused by the CLI before any daemon hears of them; those that reach the daemon
must get lttng's error, and those the stock daemon accepts must be accepted alike (and
stay where they belong: `..` as a session name is a folder name under lttng-traces/, not
a way out of it).  Kernel-domain absurdities (channel sizes, names, events) need the
kernel tracer: tests/vm/test_absurd_input.py.
"""

from __future__ import annotations

import pathlib

from test_sessiond_cli import pytestmark, same_as_stock_sessiond

__all__ = ["pytestmark"]

LONG_NAME = "x" * 300  # over LTTNG_NAME_MAX (255)
LONG_PATH = "/d" * 2100  # over PATH_MAX once the date is added

SESSIONS = [
    f"create {LONG_NAME}",
    "create a/b",
    "create ..",
    "create .",
    "create -x",
    "create a..b",
    "create sess\u00e9",
    "create s1 --set-url=bogus://x",
    "create s2 --set-url=net://host:99999",
    "create s3 --set-url=net://[::1",
    "create s4 --set-url=file://relative/path",
    f"create s5 --set-url=file://{LONG_PATH}",
    "create s6 -o relative/dir",
    "create s7 --ctrl-url=net://127.0.0.1:5342",
    "create s8 --data-url=net://127.0.0.1",
    "create s9 --ctrl-url=tcp://127.0.0.1:1 --data-url=tcp://127.0.0.1:2",
    "create s10 --set-url=net6://::1",
    "create s11 --set-url=net://127.0.0.1:0",
    "create s12 --set-url=net://127.0.0.1:65536:1",
    "create s13 --snapshot --set-url=net://",
    "create s14 --live=0",
    "create s15 --live=-5",
    "create s16 --live=99999999999999999999",
    "create s17 --shm-path=relative",
    "list",
    "destroy -a",
]

OUTPUTS_AND_SCHEDULES = [
    "create snap --snapshot --no-output",
    "snapshot add-output bogus://x -s snap",
    "snapshot add-output file://rel -s snap",
    f"snapshot add-output -n {LONG_NAME} {{home}}/o2 -s snap",
    "snapshot add-output --max-size 99999999999999999999999 {home}/o4 -s snap",
    "snapshot add-output --max-size 1 {home}/o3 -s snap",
    "snapshot add-output net://127.0.0.1:99999 -s snap",
    "snapshot list-output -s snap",
    "snapshot del-output 99 -s snap",
    "snapshot del-output -1 -s snap",
    "snapshot record -s snap bogus://x",
    "enable-rotation -s snap --timer 0",
    "enable-rotation -s snap --size 1",
    "create plain -o {home}/plain",
    "enable-rotation -s plain --timer 99999999999999999999",
    "enable-rotation -s plain --size 0",
    "enable-rotation -s plain --size 1",
    "disable-rotation -s plain --timer",
    "rotate nosuch",
    "clear nosuch",
    "track -k --pid 99999999999 -s plain",
    "track -k --pid -1 -s plain",
    "track -k --userspace --pid 1 -s plain",
    "save -o relative nosuch",
    "load --input-path /nonexistent nosuch",
    "regenerate metadata -s nosuch",
    "list",
    "destroy -a",
]


def test_absurd_session_names_and_urls(tmp_path: pathlib.Path) -> None:
    got = same_as_stock_sessiond(tmp_path, SESSIONS)
    refused = sum(1 for _, rc in got if rc != 0)
    assert refused >= 15, got  # the scenario is about refusals: most commands must be
    listed = got[SESSIONS.index("list")][0]
    assert "lttng-traces/..-" in listed, listed  # `..` names a folder, not a way out


def test_absurd_snapshot_outputs_schedules_and_trackers(tmp_path: pathlib.Path) -> None:
    got = same_as_stock_sessiond(tmp_path, OUTPUTS_AND_SCHEDULES)
    by_command = dict(zip(OUTPUTS_AND_SCHEDULES, got, strict=True))
    assert by_command["snapshot add-output bogus://x -s snap"] == ("Error: Invalid parameter\n", 1)
