"""results.json -> results.md (the table) and results.png (the ratios), on the host.

    python3 -m bench.report RESULTS_JSON DEST_DIR

Targets are issue 4's; a target not met is reported, never a failure: benchmarks are
not tests. The exit status is 1 only when the run itself recorded errors.

A target is judged on ranges (min-max over the runs), never on medians alone: "met" only
when the ranges do not overlap and ours lies on the claimed side, "not met" when they do
not overlap and ours lies on the other side, "undecided (ranges overlap)" otherwise
(bench/stats.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .stats import Verdict, at_most, within_bound

Row = dict[str, Any]


@dataclass(frozen=True)
class Target:
    figure: str
    tracer: str
    on: str        # "ratio" (to the row's reference) or "value" (the row's own range)
    bound: float
    exact: bool = False   # value must equal bound (zero discarded events)
    decimals: int | None = None   # judged at the precision the issue states the bound with

    def label(self, unit: str = "") -> str:
        """"≤ 0.9 x ref", "≤ 60 MiB" (a value's bound in the row's unit)."""
        what = "x ref" if self.on == "ratio" else unit
        bound = f"{self.bound:g}" if self.decimals is None else f"{self.bound:.{self.decimals}f}"
        return f"{'=' if self.exact else '≤'} {bound}{' ' + what if what else ''}"

    def verdict(self, row: Row) -> Verdict | None:
        """None when the row or its reference was not measured.

        On "ratio": ours <= bound x the reference, both ranges compared (the reference's
        scaled by the bound). On "value": the range against the bound, to `decimals`.
        """
        summary = row.get("summary")
        if not summary:
            return None
        low, high = summary["low"], summary["high"]
        if self.on == "ratio":
            ref = row.get("reference_summary")
            if not ref:
                return None
            return at_most(low, high, self.bound * ref["low"], self.bound * ref["high"])
        if self.decimals is not None:
            low, high = round(low, self.decimals), round(high, self.decimals)
        return within_bound(low, high, self.bound, exact=self.exact)


TARGETS = [
    Target("1. syscall loop: ns per event", "pylttng", "ratio", 0.9),
    Target("2. hackbench: slowdown", "pylttng", "ratio", 1.0),
    # LTTng-modules' 8.0 B is its event records' size (compact headers): the on-disk figure
    # adds a fixed ~6 KiB per trace that LTTng-modules writes too (bench/ctf_packets.py).
    # Stated to 0.1 B: the few events that follow an idle gap longer than a compact
    # header's 27-bit timestamp carry a full one (+9 B), in LTTng-modules' format as here.
    Target("4. syscall loop: bytes per event record", "pylttng", "value", 8.0, decimals=1),
    Target("1. syscall loop: discarded", "pylttng", "value", 0, exact=True),
    Target("5. consumer: CPU s per MB", "pylttng-mmap", "ratio", 1.0),
    Target("5. consumer: CPU s per MB", "pylttng-splice", "ratio", 1.0),
    Target("6. control plane: create..destroy wall time", "pylttng", "ratio", 1.5),
    Target("6. sessiond RSS idle", "pylttng", "value", 60.0),
]


def target_for(row: Row) -> Target | None:
    return next((t for t in TARGETS if t.figure == row["figure"] and t.tracer == row["tracer"]),
                None)


def number(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def verdict_text(target: Target, verdict: Verdict | None) -> str:
    if verdict is None:
        return "not measured"
    if verdict is Verdict.UNDECIDED:
        return ("undecided (ranges overlap)" if target.on == "ratio"
                else "undecided (range spans the bound)")
    return str(verdict.value)


def target_cell(row: Row) -> str:
    target = target_for(row)
    if target is None:
        return ""
    verdict = target.verdict(row)
    text = verdict_text(target, verdict)
    label = target.label(row.get("unit", ""))
    return f"{label}: {f'**{text}**' if verdict is Verdict.NOT_MET else text}"


def guest_time_sentence(guest_time: dict[str, float] | None) -> str:
    """How long the run took on the guest's clock, and how much of it the CPUs idled."""
    if not guest_time:
        return ""  # results.json written before bench.run recorded it
    return (f" The run took {guest_time['wall_s']:.1f} s of the guest's clock; its CPUs were "
            f"busy {guest_time['busy_s']:.1f} s and idle {guest_time['idle_s']:.1f} s.")


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        "# pylttng benchmark" + (" (smoke run: one run each, tiny sizes)" if meta["quick"]
                                 else ""),
        "",
        (f"Kernel {meta['kernel']} in the test VM, {meta['cpus']} CPU(s), clocksource "
         f"{meta.get('clocksource', '?')}"
         + (" (QEMU's instruction counter: a guest nanosecond is one emulated instruction)"
            if meta.get("instruction_clock") else "")
         + f", {meta['reps']} "
         f"run(s) per tracer and workload; {meta['buffer']['num_subbuf']} × "
         f"{meta['buffer']['subbuf_size'] >> 20} MiB sub-buffers per CPU for every tracer "
         f"({meta['buffer']['bytes_per_cpu'] >> 20} MiB per CPU). Counted by: "
         f"{meta['counter']}."
         + guest_time_sentence(meta.get("guest_time"))),
        "See bench/README.md for how to read this table.",
        "",
        "| figure | better | tracer | median | range | runs | ratio | vs | target / verdict |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for row in results["figures"]:
        s = row["summary"]
        cells = [row["figure"], row.get("better", ""), row["tracer"],
                 f"{number(s['median'])} {row['unit']}" if s
                 else f"— {row.get('note', '')}".strip(),
                 f"{number(s['low'])}–{number(s['high'])}" if s else "—",
                 str(s["runs"]) if s else "0", number(row["ratio"]),
                 row["reference"] or "", target_cell(row)]
        lines.append("| " + " | ".join(cells) + " |")
    if results.get("errors"):
        lines += ["", "## Errors", ""]
        lines += [f"```\n{error.strip()}\n```" for error in results["errors"]]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], dest: Path) -> None:
    """One horizontal bar per ratio, grouped by figure; the line at 1 is parity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results["figures"] if r["ratio"] is not None]
    labels = [f"{r['figure']} — {r['tracer']} / {r['reference']}" for r in rows]
    ratios = [r["ratio"] for r in rows]
    shade: dict[Verdict | None, str] = {Verdict.MET: "tab:green", Verdict.NOT_MET: "tab:red"}
    colors = [shade.get(t.verdict(r) if (t := target_for(r)) else None, "tab:blue")
              for r in rows]
    fig, ax = plt.subplots(figsize=(11, 0.35 * len(rows) + 1.5))
    ax.barh(range(len(rows)), ratios, color=colors)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("ratio to the reference tracer (log scale; green/red: issue 4 target "
                  "met/not met, on ranges)")
    ax.set_title("pylttng benchmark" + (" (smoke run)" if results["meta"]["quick"] else ""))
    fig.tight_layout()
    fig.savefig(dest, dpi=100)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    args.dest.mkdir(parents=True, exist_ok=True)
    if args.results.resolve() != (args.dest / "results.json").resolve():
        shutil.copy(args.results, args.dest / "results.json")
    (args.dest / "results.md").write_text(markdown(results))
    plot(results, args.dest / "results.png")
    print((args.dest / "results.md").read_text())
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
