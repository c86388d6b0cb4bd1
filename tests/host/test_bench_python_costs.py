"""bench/python_costs.py without valgrind: the waiters it counts wake up once per byte and
end after N bytes; callgrind's totals line is read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.python_costs import total_instructions

ROOT = Path(__file__).resolve().parents[2]


def bench_env() -> dict[str, str]:
    """The checkout on the path, for `bench`; pylttng comes from build/pypath (the PYTHONPATH
    `make check` runs the host tests with)."""
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), str(ROOT)) if p)
    return {**os.environ, "PYTHONPATH": path}


def start_waiter(kind: str, ops: int, fifo: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.python_costs", "--wait", kind, str(ops), str(fifo)],
        env=bench_env(),
    )


@pytest.mark.parametrize("kind", ["trio-wakeup", "thread-wakeup"])
def test_waiter_reads_each_byte_then_ends(kind: str, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    waiter = start_waiter(kind, 3, fifo)
    with open(fifo, "wb", buffering=0) as pipe:
        pipe.write(b"xxx")
    assert waiter.wait(timeout=30) == 0


def test_waiter_stops_at_end_of_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    waiter = start_waiter("trio-wakeup", 5, fifo)
    with open(fifo, "wb", buffering=0) as pipe:
        pipe.write(b"x")
    assert waiter.wait(timeout=30) == 0  # 1 byte of 5, then the writer hung up


def test_callgrind_totals(tmp_path: Path) -> None:
    out = tmp_path / "callgrind.out"
    out.write_text("events: Ir\nsummary: 1234\ntotals: 1234\n")
    assert total_instructions(out) == 1234
    out.write_text("events: Ir\n")
    with pytest.raises(RuntimeError, match="no callgrind totals"):
        total_instructions(out)


def test_step_counter_consumes_each_stand_in_subbuffer() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.python_costs", "--step", "5"],
        env=bench_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
