"""Medians, spread and ratios: the numbers of the report, from repeated runs."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class Summary:
    """A measured quantity over repeated runs: median and the full range."""

    median: float
    low: float
    high: float
    runs: int

    @property
    def spread(self) -> float:
        """(high - low) / median: how far one run may stray; 0 for a single run."""
        return (self.high - self.low) / self.median if self.median else 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"spread": self.spread}


def summarize(values: list[float]) -> Summary | None:
    """None when nothing was measured (a tracer that cannot run a workload)."""
    if not values:
        return None
    return Summary(statistics.median(values), min(values), max(values), len(values))


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return value / base


def per_event_cost_ns(traced_ns_per_call: float, untraced_ns_per_call: float) -> float:
    """Producer cost of one event: each call records an entry and an exit event."""
    return (traced_ns_per_call - untraced_ns_per_call) / 2


def paired_medians(traced: list[float], untraced: list[float]) -> list[float]:
    """Traced minus the untraced median, run by run: the cost, with its own spread."""
    base = statistics.median(untraced)
    return [per_event_cost_ns(t, base) for t in traced]


class Verdict(Enum):
    """Whether a target holds, judged on ranges, never on medians alone."""

    MET = "met"
    NOT_MET = "not met"
    UNDECIDED = "undecided"


def at_most(low: float, high: float, limit_low: float, limit_high: float) -> Verdict:
    """Is "value <= limit" shown, when the value spans [low, high] over the runs and the
    limit spans [limit_low, limit_high] (the reference's runs scaled by the bound)?

    Met only when the ranges do not overlap and the value's lies below (every run below
    every run of the limit); not met when they do not overlap and the value's lies above;
    undecided when they overlap, a shared end included.
    """
    if high < limit_low:
        return Verdict.MET
    if low > limit_high:
        return Verdict.NOT_MET
    return Verdict.UNDECIDED


def within_bound(low: float, high: float, bound: float, exact: bool = False) -> Verdict:
    """Against a constant bound (no range of its own): "value <= bound" (or, exact,
    "value == bound") is met when every run satisfies it, not met when the range lies
    wholly on the wrong side of the bound, undecided when it spans the bound."""
    if exact:
        if low == high == bound:
            return Verdict.MET
        return Verdict.NOT_MET if low > bound or high < bound else Verdict.UNDECIDED
    if high <= bound:
        return Verdict.MET
    return Verdict.NOT_MET if low > bound else Verdict.UNDECIDED
