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
from .tracers import STOCK_PEER

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
    if abs(value) >= 1 or f"{value:.3g}" == "1":   # 0.9996 reads 1.00, not 1
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


# The plot's short names and colours, one per peer (a consumer's output mode aside).
PEER_LABELS = {STOCK_PEER: "stock daemons/pylttng.ko"}
PEER_COLORS = {"ftrace": "tab:gray", "ftrace-mono": "silver", "perf": "tab:purple",
               "trace-cmd": "tab:brown", "pylttng": "tab:blue", STOCK_PEER: "tab:orange"}
OUTPUTS = ("mmap", "splice")
# Panels of figures whose name has no "workload:" part, by figure number.
PANEL_NAMES = {"6": "control plane", "7": "loss on the default channel"}


def peer_and_output(tracer: str) -> tuple[str, str]:
    """("pylttng", "mmap") for "pylttng-mmap"; ("ftrace", "") for "ftrace"."""
    for output in OUTPUTS:
        if tracer.endswith(f"-{output}"):
            return tracer.removesuffix(f"-{output}"), output
    return tracer, ""


def peer_label(tracer: str) -> str:
    peer, output = peer_and_output(tracer)
    return PEER_LABELS.get(peer, peer) + (f" ({output})" if output else "")


def panel_of(figure: str) -> tuple[str, str]:
    """(panel, the figure's name within it): "1. syscall loop: ns per event" ->
    ("syscall loop", "ns per event"); "6. sessiond RSS idle" -> ("control plane", ...)."""
    number, _, name = figure.partition(". ")
    workload, colon, what = name.partition(": ")
    if colon:
        return workload, what
    return PANEL_NAMES.get(number, name), name


@dataclass
class Bar:
    tracer: str
    median: float   # each divided by the reference's median
    low: float
    high: float
    value: str = ""  # the median itself, with its unit


@dataclass
class Group:
    """One figure of one panel: its peers side by side, against one reference."""

    name: str
    better: str
    reference: str
    bars: list[Bar]
    targets: list[str]


def plot_groups(figures: list[Row]) -> dict[str, list[Group]]:
    """Panel -> its groups, in the table's order: every figure with a reference, each
    peer's median and range divided by the reference's median (the reference at 1).
    Figures without a reference (events recorded, discarded) are the table's alone."""
    panels: dict[str, list[Group]] = {}
    groups: dict[tuple[str, str], Group] = {}
    for r in figures:
        ref = r.get("reference_summary")
        if not r["reference"] or not ref or not ref["median"] or not r["summary"]:
            continue
        key = (r["figure"], r["reference"])
        if key not in groups:
            panel, name = panel_of(r["figure"])
            output = peer_and_output(r["reference"])[1]
            panel += f", --output {output}" if output else ""  # a panel per output mode
            base = ref["median"]
            groups[key] = Group(name,
                                r.get("better", "lower"), r["reference"],
                                [Bar(r["reference"], 1.0, ref["low"] / base,
                                     ref["high"] / base, f"{number(base)} {r['unit']}")], [])
            panels.setdefault(panel, []).append(groups[key])
        group, base = groups[key], ref["median"]
        s = r["summary"]
        group.bars.append(Bar(r["tracer"], s["median"] / base, s["low"] / base,
                              s["high"] / base, f"{number(s['median'])} {r['unit']}"))
        if cell := target_cell(r):
            group.targets.append(f"target {cell.replace('**', '')}")
    return panels


def plot(results: dict[str, Any], dest: Path) -> None:
    """One panel per workload; in each, one group of bars per figure, the peers side by
    side: each peer's median divided by the reference's median, whiskers its range over
    the runs likewise (overlapping whiskers: no difference shown). Each group says which
    way is better and, where issue 4 sets a target, its verdict."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = plot_groups(results["figures"])
    if not panels:
        return
    columns = 2 if len(panels) > 1 else 1
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(8 * columns, 5.2 * rows), squeeze=False)
    legend: dict[str, Any] = {}  # peer label -> one of its bars, for the figure's legend
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (panel, groups) in zip(axes.flat, panels.items(), strict=False):
        width = 0.8 / max(3, *(len(g.bars) for g in groups))
        top = 0.0
        for x, group in enumerate(groups):
            offset = x - width * (len(group.bars) - 1) / 2
            for i, bar in enumerate(group.bars):
                peer = peer_and_output(bar.tracer)[0]
                label = PEER_LABELS.get(peer, peer)
                drawn = ax.bar(offset + i * width, bar.median, width * 0.9,
                               yerr=[[bar.median - bar.low], [bar.high - bar.median]],
                               capsize=2, color=PEER_COLORS.get(peer, "tab:green"),
                               edgecolor="black", linewidth=0.4, error_kw={"linewidth": 0.8})
                legend.setdefault(label, drawn)
                ax.annotate(bar.value, (offset + i * width, bar.high), xytext=(0, 3),
                            textcoords="offset points", rotation=90, ha="center",
                            va="bottom", fontsize=6.5)
                top = max(top, bar.high)
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
        ax.set_xticks(range(len(groups)), [
            "\n".join([textwrap.fill(g.name, 20),
                       "↓ lower is better" if g.better == "lower" else "↑ higher is better",
                       *(textwrap.fill(t, 24) for t in g.targets)])
            for g in groups], fontsize=8)
        references = sorted({PEER_LABELS.get(peer_and_output(g.reference)[0],
                                              peer_and_output(g.reference)[0])
                             for g in groups})
        ax.set_ylim(0, top * 1.3)   # room for the values above the bars
        ax.set_ylabel(f"÷ median of {', '.join(references)}", fontsize=9)
        ax.set_title(panel, fontsize=11, fontweight="bold")
        ax.grid(axis="y", linewidth=0.3)
        ax.set_axisbelow(True)
    fig.suptitle("pylttng benchmark" + (" (smoke run: one run each)" if results["meta"]["quick"]
                                        else "")
                 + ": each peer's median ÷ the reference's median (dotted line at 1); "
                 "whiskers: min–max over the runs", fontsize=12)
    fig.legend(list(legend.values()), list(legend), loc="upper center", ncol=len(legend),
               bbox_to_anchor=(0.5, 0.975), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
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
