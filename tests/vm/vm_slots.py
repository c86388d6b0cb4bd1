"""How many test VMs this machine runs side by side, and the lock that holds each place.

Under TCG one host thread runs all of a guest's vCPUs (runner.py: `thread=single`), so a
machine can run one guest per core without a guest starving another; more would slow
each until its daemons time out.  Each place ("slot") is a lock file; a guest holds one
for as long as it runs.  PYLTTNG_VM_SLOTS overrides the count (1: one guest at a time).

A benchmark takes every slot: its figures must not share the machine with a test run.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

SLOTS_ENV = "PYLTTNG_VM_SLOTS"


def count() -> int:
    """How many guests may run at once: $PYLTTNG_VM_SLOTS, else one per core."""
    wanted = os.environ.get(SLOTS_ENV, "")
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise SystemExit(f"{SLOTS_ENV}={wanted!r}: want a whole number of at least 1")
        return int(wanted)
    return max(1, os.cpu_count() or 1)


def lock_path(slot: int) -> Path:
    # Slot 0 keeps the name the one-guest lock had, so older checkouts' runners on this
    # machine still wait for it.
    return Path("/tmp/pylttng-vm.lock") if slot == 0 else Path(f"/tmp/pylttng-vm.{slot}.lock")


@contextmanager
def one_slot() -> Iterator[int]:
    """Wait for a free slot and hold it; yields its number.  Slot 0 is tried last, since
    older runners wait for that one alone."""
    while True:
        for slot in reversed(range(count())):
            with open(lock_path(slot), "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                yield slot
                return
        time.sleep(1)


@contextmanager
def every_slot() -> Iterator[None]:
    """Hold every slot: no other guest runs until this one is done.  Taken in order,
    blocking; one_slot() never blocks holding a lock, so the two cannot deadlock."""
    with ExitStack() as stack:
        for slot in range(count()):
            lock = stack.enter_context(open(lock_path(slot), "w"))
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield
