"""bench/profile.py's pure parts: folding perf samples, summarising collapsed stacks."""

from __future__ import annotations

from bench.profile import fold_perf_script, summarize_collapsed

PERF_SCRIPT = """\
syscall_loop
\tffffffff81001234 pyl_rb_reserve+0x12
\tffffffff81005678 pyl_sc_probe+0x40
\tffffffff81009abc do_syscall_64+0x5c

syscall_loop
\tffffffff81001234 pyl_rb_reserve+0x30
\tffffffff81005678 pyl_sc_probe+0x40
\tffffffff81009abc do_syscall_64+0x5c

swapper
\tffffffff8100aaaa default_idle+0x1
"""


def test_perf_samples_fold_outer_frame_first() -> None:
    folded = sorted(fold_perf_script(PERF_SCRIPT))
    assert folded == ["swapper;default_idle 1",
                      "syscall_loop;do_syscall_64;pyl_sc_probe;pyl_rb_reserve 2"]


def test_summary_shares_by_self_and_total() -> None:
    text = summarize_collapsed(["main;drain;write 3", "main;drain 1", "main;poll 4", "junk"])
    lines = text.splitlines()
    assert lines[0] == "8 samples"
    own = lines[lines.index("self %  frame") + 1:lines.index("total %  frame") - 1]
    assert own == ["  50.0  poll", "  37.5  write", "  12.5  drain"]
    assert "  100.0  main" in lines
    assert "   50.0  drain" in lines


def test_no_samples_is_said() -> None:
    assert summarize_collapsed([]) == "no samples\n"
