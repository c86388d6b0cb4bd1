"""Issue 3, dynamic probes: `enable-event -k --probe` (kprobe) and `--function` (kretprobe)."""

from __future__ import annotations

import os
import re
import time

from conftest import Lttng, read_trace

# Every openat() goes through it on 6.1, and it can be kprobed.
SYMBOL = "do_sys_openat2"


def touch_files(count: int) -> None:
    for _ in range(count):
        os.close(os.open("/etc/hostname", os.O_RDONLY))


def test_bad_symbol_gets_lttng_error(daemon: Lttng) -> None:
    lttng = daemon
    lttng.ok("create", "dup")
    bad = lttng("enable-event", "-k", "--probe", "no_such_symbol_xyz", "myprobe")
    assert bad.rc == 43
    assert ("Error: Event myprobe: Enable kernel event failed (channel channel0, session dup)"
            in bad.text)
    bad_fn = lttng("enable-event", "-k", "--function", "no_such_symbol_xyz", "myfn")
    assert bad_fn.rc == 43, bad_fn.text


def test_kprobe_and_kretprobe_events(daemon: Lttng) -> None:
    lttng = daemon
    lttng.ok("create", "kp")
    made = lttng.ok("enable-event", "-k", "--probe", f"{SYMBOL}+0x0", "myprobe")
    assert "kernel event myprobe created in channel channel0" in made.out
    lttng.ok("enable-event", "-k", "--function", SYMBOL, "myfn")
    listed = lttng.ok("list", "kp")
    assert "      myprobe (type: probe) [enabled]" in listed.out
    assert f"        offset: 0x0\n        symbol: {SYMBOL}\n" in listed.out
    lttng.ok("start")
    touch_files(5)
    time.sleep(0.3)
    lttng.ok("stop")
    lttng.ok("destroy")

    lines = read_trace(lttng, "kp")
    hits = [line for line in lines if " myprobe: " in line]
    assert len(hits) >= 5
    ips = {re.search(r"\{ ip = (0x[0-9A-Fa-f]+) \}$", line).group(1)  # type: ignore[union-attr]
           for line in hits}
    assert len(ips) == 1, ips
    ip = int(ips.pop(), 16)
    assert ip >= 0xFFFF800000000000
    entries = [line for line in lines if " myfn_entry: " in line]
    exits = [line for line in lines if " myfn_exit: " in line]
    assert len(entries) >= 5 and len(exits) >= 5
    # Both carry the function's address and its caller (the same at entry and exit).
    pair = re.compile(r"\{ ip = (0x[0-9A-Fa-f]+), parent_ip = (0x[0-9A-Fa-f]+) \}$")
    for line in entries[:3] + exits[:3]:
        m = pair.search(line)
        assert m, line
        assert int(m.group(1), 16) == ip and int(m.group(2), 16) >= 0xFFFF800000000000, line
