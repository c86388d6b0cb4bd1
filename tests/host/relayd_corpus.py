"""Traffic between the stock lttng-tools 2.13 daemons and the stock lttng-relayd, as
recorded by capture_relayd_traffic.py (data/lttng-2.13-relayd-traffic.json).

One entry per TCP connection that lttng-sessiond / lttng-consumerd opened to the relay
daemon: its kind (control or data connection), the scenario and lttng command during
which it was opened, and the two byte streams as they went by: what the peer sent to the
relay daemon and what the relay daemon answered.
"""

from __future__ import annotations

import base64
import json
import pathlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

CORPUS = pathlib.Path(__file__).parent / "data" / "lttng-2.13-relayd-traffic.json"

Kind = Literal["control", "data"]


@dataclass(frozen=True)
class CapturedConnection:
    scenario: str
    kind: Kind
    opened_during: str  # the lttng command line that was running when it was opened
    to_relayd: bytes
    from_relayd: bytes


def _pack(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw, 9)).decode()


def _unpack(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


def dump(connections: Sequence[CapturedConnection], about: str) -> str:
    entries = [
        {
            "scenario": c.scenario,
            "kind": c.kind,
            "opened_during": c.opened_during,
            "to_relayd": _pack(c.to_relayd),
            "from_relayd": _pack(c.from_relayd),
        }
        for c in connections
    ]
    return json.dumps({"_about": about, "connections": entries}, indent=1) + "\n"


def load(path: pathlib.Path = CORPUS) -> list[CapturedConnection]:
    doc = json.loads(path.read_text())
    out = []
    for e in doc["connections"]:
        kind = e["kind"]
        if kind not in ("control", "data"):
            raise ValueError(f"unknown connection kind {kind!r} in {path}")
        out.append(
            CapturedConnection(
                scenario=e["scenario"],
                kind=kind,
                opened_during=e["opened_during"],
                to_relayd=_unpack(e["to_relayd"]),
                from_relayd=_unpack(e["from_relayd"]),
            )
        )
    return out
