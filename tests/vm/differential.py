"""Run one scripted `lttng` scenario against pylttng-sessiond and against the stock
lttng-sessiond + lttng-consumerd (both on pylttng.ko), and compare what the CLI printed.

A scenario is a function of the CLI that returns its transcript: the commands it ran,
with exit code and output. Names that must differ between two runs (the home folder,
dates, the scenario's scratch folder) are normalised before the comparison.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conftest import Lttng, start_stock_sessiond

from bench.tracers import stop_daemons

_DATE = re.compile(r"\d{8}-\d{6}")
_ISO_DATE = re.compile(r"\d{8}T\d{6}[+-]\d{4}")
# The CLI prints one dot per poll while it waits (data pending, a rotation, a clear): how many
# depends on timing, not on the daemon.  `destroy` prints "Destroying session X", its dots
# and a line break only once a poll found it still busy, so all of that goes.
_WAIT_DOTS = re.compile(
    r"(Waiting for data availability|Waiting for rotation to complete"
    r'|Waiting for clear of session "[^"]+")\.*'
)
_DESTROYING = re.compile(r"^Destroying session [^\s.]+\.*\n?", re.MULTILINE)
_BLANK_BEFORE_DESTROYED = re.compile(r"\n\n(?=Session \S+ destroyed)")
# The CLI spawns pylttng-sessiond itself (LTTNG_SESSIOND_PATH); the stock one is started
# beforehand.
_SPAWNING = re.compile(r"^Spawning a session daemon\n", re.MULTILINE)
# The CLI's own PERROR lines carry the time and its pid.
_PERROR = re.compile(r"^PERROR - [\d:.]+ \[\d+/\d+\]", re.MULTILINE)


@dataclass(frozen=True)
class Step:
    command: str
    rc: int
    output: str


class Transcript:
    """The CLI as a scenario sees it: every command's exit code and normalised output."""

    def __init__(self, lttng: Lttng, scratch: Path) -> None:
        self.lttng = lttng
        self.scratch = scratch
        self.steps: list[Step] = []

    def __call__(self, *args: str) -> Step:
        result = self.lttng(*args)
        step = Step(self.normalise(" ".join(args)), result.rc, self.normalise(result.text))
        self.steps.append(step)
        return step

    def normalise(self, text: str) -> str:
        text = text.replace(str(self.scratch), "$SCRATCH").replace(str(self.lttng.home), "$HOME")
        text = _DESTROYING.sub("", _WAIT_DOTS.sub(r"\1", _SPAWNING.sub("", text)))
        text = _PERROR.sub("PERROR - TIME [PID]", _BLANK_BEFORE_DESTROYED.sub("\n", text))
        return normalise_dates(text)


def normalise_dates(text: str) -> str:
    return _ISO_DATE.sub("DATE", _DATE.sub("DATE", text))


Scenario = Callable[[Transcript], None]


def run_on_both(lttng: Lttng, scratch: Path, scenario: Scenario) -> tuple[Transcript, Transcript]:
    """The scenario under pylttng's daemons, then under the stock ones, each from no
    daemon and an empty scratch folder per run (scratch/pylttng, scratch/stock)."""
    runs = []
    for daemons in ("pylttng", "stock"):
        stop_daemons()
        cli = Lttng(lttng.home)
        if daemons == "stock":
            cli.env.pop("LTTNG_SESSIOND_PATH")
            start_stock_sessiond(cli.env)
        folder = scratch / daemons
        folder.mkdir(parents=True)
        transcript = Transcript(cli, folder)
        try:
            scenario(transcript)
        finally:
            cli("destroy", "-a")
        runs.append(transcript)
    stop_daemons()
    return runs[0], runs[1]


def assert_same_transcripts(ours: Transcript, stock: Transcript) -> None:
    """Command by command: same exit code, same output once normalised."""
    assert [s.command for s in ours.steps] == [s.command for s in stock.steps]
    for mine, theirs in zip(ours.steps, stock.steps, strict=True):
        assert (mine.rc, mine.output) == (theirs.rc, theirs.output), (
            f"`lttng {mine.command}` differs:\n"
            f"pylttng (exit {mine.rc}):\n{mine.output}\n"
            f"stock (exit {theirs.rc}):\n{theirs.output}"
        )


def keep_transcripts(where: str, ours: Transcript, stock: Transcript) -> Path | None:
    """Both transcripts in the run's output folder, $PYLTTNG_VM_OUT/where/{pylttng,stock}.txt,
    for a look afterwards; that folder (None outside the test VM)."""
    out = os.environ.get("PYLTTNG_VM_OUT")
    if out is None:
        return None
    dest = Path(out, where)
    dest.mkdir(parents=True, exist_ok=True)
    for which, transcript in (("pylttng", ours), ("stock", stock)):
        text = "".join(f"$ lttng {s.command}\n[exit {s.rc}]\n{s.output}\n" for s in transcript.steps)
        (dest / f"{which}.txt").write_text(text)
    return dest
