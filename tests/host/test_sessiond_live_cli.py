"""`lttng create --live` through the stock `lttng` 2.13 CLI against pylttng-sessiond and
against the stock lttng-sessiond, side by side (test_sessiond_cli.py runs them): the
same messages at create, the same `lttng list` (the live timer interval, the tcp4:// URL
of the relay daemon), the same refusals. No relay daemon is needed: both daemons reach it
only at the first kernel-domain command (cmd_setup_relayd())."""

from __future__ import annotations

import pathlib

import test_sessiond_cli
from test_sessiond_cli import same_as_stock_sessiond

pytestmark = test_sessiond_cli.pytestmark

URL = "net://127.0.0.1:7342:7343"  # nothing listens there: never connected to here

SCENARIO = [
    f"create lv --live=2000000 -U {URL}",
    f"create lv1 --live -U {URL}",
    "list",
    "list lv",
    "list lv1",
    # Live and snapshot modes exclude each other (refused by the CLI itself), and a live
    # session streams to a relay daemon only.
    f"create other --live --snapshot -U {URL}",
    "create other --live -o /tmp/nowhere",
    "create other --live=0",
    "destroy -a",
]


def test_live_sessions_as_the_stock_sessiond(tmp_path: pathlib.Path) -> None:
    got = same_as_stock_sessiond(tmp_path, SCENARIO)
    created = got[0][0]
    assert "Live session lv created." in created, created
    assert "Live timer interval set to 2000000 us" in created, created
    listed = got[2][0]  # `lttng list` (list.c prints the timer in that listing only)
    assert "Live timer interval: 2000000 us" in listed, listed
    assert "Live timer interval: 1000000 us" in listed, listed
    assert "tcp4://127.0.0.1:7342/ [data: 7343]" in got[3][0], got[3][0]
    refused = [rc for _, rc in got[5:8]]
    assert all(refused), got[5:8]
