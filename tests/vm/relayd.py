"""The stock lttng-relayd 2.13 in the test VM: bench/relayd.py, shared with the benchmark's
streaming step. Network namespaces to put it in are in tests/vm/netns.py."""

from __future__ import annotations

from bench.relayd import Relayd, loopback_up, traces_of

__all__ = ["Relayd", "loopback_up", "traces_of"]
