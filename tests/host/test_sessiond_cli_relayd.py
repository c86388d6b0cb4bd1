"""Sessions streamed to a relay daemon, as far as this host goes without a kernel tracer:
the stock `lttng` CLI creates, lists, saves and loads them against pylttng-sessiond and
against the stock lttng-sessiond, with the same outputs (URLs, default ports, errors)."""

from __future__ import annotations

import pathlib

from test_sessiond_cli import pytestmark, same_as_stock_sessiond

__all__ = ["pytestmark"]

SCENARIO = [
    "create n1 -U net://127.0.0.1",
    "create n2 --ctrl-url tcp://127.0.0.1:6342/sub/dir --data-url tcp://127.0.0.1:6343",
    "create n3 --set-url net6://[::1]:7000:7001",
    "create n4 --ctrl-url tcp://127.0.0.1:5342",  # the CLI wants both
    "create n5 -U net://127.0.0.1:5342:5342",  # one port for both
    "create n6 -U net://localhost:8000/a/../b",  # no walking up
    "create -U net://127.0.0.1",
    "list",
    "list n2",
    "status",
    "save -o {home}/saved n2",
    "destroy n2",
    "load -i {home}/saved/n2.lttng",
    "list n2",
    "save -o {home}/again n2",
    "destroy -a",
]


def test_streamed_sessions_as_stock_sessiond(tmp_path: pathlib.Path) -> None:
    got = same_as_stock_sessiond(tmp_path, SCENARIO)
    assert "tcp4://127.0.0.1:6342/sub/dir [data: 6343]" in got[8][0]
    saved = [(h / "again" / "n2.lttng").read_text() for h in (tmp_path / "stock", tmp_path / "ours")]
    assert saved[0] == saved[1]
    assert "<control_uri>tcp4://127.0.0.1:6342/sub/dir</control_uri>" in saved[1]
