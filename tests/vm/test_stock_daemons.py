"""The stock lttng-sessiond and lttng-consumerd 2.13 drive pylttng.ko (ABI compatibility)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import (
    Lttng,
    assert_forks_and_execs,
    assert_sched_switch_fields,
    fork_exec_workload,
    keep_daemon_logs,
    read_kernel_trace,
    read_trace,
    run,
    start_stock_sessiond,
    stop_daemons,
)


class StockLttng(Lttng):
    """The stock lttng CLI talking to the stock root lttng-sessiond."""

    def __init__(self, home: Path, log: Path) -> None:
        super().__init__(home)
        self.log = log


def module_loaded() -> bool:
    return any(line.split()[0] == "pylttng" for line in Path("/proc/modules").read_text()
               .splitlines())


@pytest.fixture
def stock(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[StockLttng]:
    stop_daemons()
    run("modprobe", "-r", "pylttng")
    out = os.environ.get("PYLTTNG_VM_OUT")
    home = Path(out, "homes", request.node.name) if out else tmp_path / "home"
    home.mkdir(parents=True)
    log = home / "lttng-sessiond.log"
    env = dict(os.environ, HOME=str(home), LTTNG_HOME=str(home))
    start_stock_sessiond(env, log)
    yield StockLttng(home, log)
    run("lttng", "destroy", "-a", env=env)
    keep_daemon_logs(request.node.name)
    stop_daemons()


def test_stock_sessiond_autoloads_pylttng(stock: StockLttng) -> None:
    assert module_loaded(), "the stock sessiond did not load pylttng.ko"
    log = stock.log.read_text(errors="replace")
    # libkmod loads these by module name (no alias lookup): the stub modules of kmod/stubs.
    for name in ("lttng-ring-buffer-client-discard", "lttng-ring-buffer-metadata-client",
                 "lttng-ring-buffer-client-mmap-overwrite"):
        assert f"Modprobe successfully {name}" in log, log[-3000:]
    assert "Kernel tracer version validated (2.13, ABI 2.6)" in log
    assert "No kernel tracer available" not in log


def test_stock_daemons_trace_read_by_babeltrace2(stock: StockLttng) -> None:
    stock.ok("create", "stock")
    enabled = stock.ok("enable-event", "-k", "sched_switch,sched_process_fork,sched_process_exec")
    for name in ("sched_switch", "sched_process_fork", "sched_process_exec"):
        assert f"kernel event {name} created in channel channel0" in enabled.out
    stock.ok("start")
    pids = fork_exec_workload(5)
    time.sleep(0.5)
    stock.ok("stop")
    stock.ok("destroy")

    lines = read_kernel_trace(stock, "stock")
    assert_sched_switch_fields(lines)
    assert_forks_and_execs(lines, pids)


def test_stock_sessiond_lists_kernel_events(stock: StockLttng) -> None:
    listed = stock.ok("list", "-k")
    assert listed.out.startswith("Kernel events:\n-------------\n"), listed.out[:200]
    assert ("      sched_switch (loglevel: TRACE_EMERG (0)) (type: tracepoint)\n"
            in listed.out)
    assert listed.out.count("(type: tracepoint)") > 500


def test_stock_daemons_statedump_and_wildcards(stock: StockLttng, tmp_path: Path) -> None:
    held = tmp_path / "held-by-the-stock-test.txt"
    held.write_text("x")
    with open(held):
        stock.ok("create", "sdump")
        stock.ok("enable-event", "-k", "lttng_statedump_*")
        stock.ok("enable-event", "-k", "sched_process_e*c")   # '*' inside the name
        stock.ok("start")
        fork_exec_workload(2)
        stock.ok("regenerate", "statedump")
        time.sleep(0.3)
        stock.ok("stop")
        stock.ok("destroy")
    lines = read_trace(stock, "sdump")
    assert sum(" lttng_statedump_start: " in line for line in lines) == 2
    assert sum(" lttng_statedump_end: " in line for line in lines) == 2
    me = os.getpid()
    assert sum(" lttng_statedump_process_state: " in line
               and re.search(rf"\btid = {me}, pid = {me},", line) is not None
               for line in lines) == 2
    assert sum(" lttng_statedump_file_descriptor: " in line and f'filename = "{held}"' in line
               for line in lines) == 2
    assert any(" sched_process_exec: " in line for line in lines)
    assert not any(" sched_process_fork: " in line for line in lines)
