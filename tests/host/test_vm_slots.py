"""Guest slots (tests/vm/vm_slots.py): how many test VMs run at once, and their locks."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / "tests" / "vm"))

import vm_slots


@pytest.fixture
def slots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(vm_slots, "lock_path", lambda slot: tmp_path / f"slot{slot}.lock")
    monkeypatch.setenv(vm_slots.SLOTS_ENV, "2")
    return tmp_path


def test_count_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(vm_slots.SLOTS_ENV, "3")
    assert vm_slots.count() == 3
    monkeypatch.delenv(vm_slots.SLOTS_ENV)
    assert vm_slots.count() >= 1
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(vm_slots.SLOTS_ENV, bad)
        with pytest.raises(SystemExit, match=vm_slots.SLOTS_ENV):
            vm_slots.count()


def test_guests_take_distinct_slots_and_the_third_waits(slots: Path) -> None:
    with vm_slots.one_slot() as first, vm_slots.one_slot() as second:
        assert {first, second} == {0, 1}
        taken = threading.Event()

        def third() -> None:
            with vm_slots.one_slot():
                taken.set()

        waiter = threading.Thread(target=third)
        waiter.start()
        assert not taken.wait(1.5)  # both slots held: it waits
    assert taken.wait(5)  # ... and gets one once they are free
    waiter.join()


def test_a_benchmark_waits_for_every_guest(slots: Path) -> None:
    alone = threading.Event()

    def bench() -> None:
        with vm_slots.every_slot():
            alone.set()

    with vm_slots.one_slot():
        waiter = threading.Thread(target=bench)
        waiter.start()
        assert not alone.wait(1.5)
    assert alone.wait(5)
    waiter.join()
