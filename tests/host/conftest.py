"""Fixtures shared by the host tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_consumer_fakering import PAGE, FakeRing


@pytest.fixture
def ring() -> Iterator[FakeRing]:
    """A fake ring buffer of 4 sub-buffers of 4 pages (test_consumer_fakering.py)."""
    r = FakeRing(n_subbufs=4, subbuf_size=4 * PAGE)
    yield r
    r.close()
