"""Fixtures of the VM test suite: it runs as root inside the test VM (tests/vm/runner.py)."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kernels import DAEMON_TESTS, QUICK_TESTS, SMOKE_TESTS, SUITE_ORDER

from bench.tracers import pids_of, stop_daemons


@dataclass
class Result:
    rc: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


# Python runs far slower on our debug kernel (make debug-kernel) under TCG than on the
# host: a daemon's start alone can take minutes there.  A command gets this long before
# a test takes it for hung.
DEBUG_KERNEL = platform.release().endswith("-pylttng-debug")
COMMAND_TIMEOUT_S = 900.0 if DEBUG_KERNEL else 120.0
# babeltrace2 reading a whole trace: longer than a command, and never less on that kernel.
READ_TIMEOUT_S = max(300.0, COMMAND_TIMEOUT_S)


def run(*cmd: str, env: dict[str, str] | None = None,
        timeout: float = COMMAND_TIMEOUT_S) -> Result:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def running_daemons() -> str | None:
    """Which daemons run: "pylttng" or "stock" when exactly that pair does, else None."""
    pylttng = bool(pids_of("pylttng-sessiond")) and bool(pids_of("pylttng-consumerd"))
    stock = run("pgrep", "-x", "lttng-sessiond").rc == 0
    if pylttng != stock:
        return "pylttng" if pylttng else "stock"
    return None


class Lttng:
    """The stock lttng CLI, spawning pylttng-sessiond when no daemon runs."""

    def __init__(self, home: Path) -> None:
        self.home = home
        sessiond = shutil.which("pylttng-sessiond")
        assert sessiond, "pylttng-sessiond is not on PATH"
        self.env = dict(os.environ, HOME=str(home), LTTNG_HOME=str(home),
                        LTTNG_SESSIOND_PATH=sessiond)
        self.timeout = COMMAND_TIMEOUT_S  # per command

    def __call__(self, *args: str) -> Result:
        return run("lttng", *args, env=self.env, timeout=self.timeout)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.rc == 0, f"lttng {' '.join(args)} exited {result.rc}: {result.text}"
        return result

    def traces(self, session: str) -> list[Path]:
        return sorted((self.home / "lttng-traces").glob(f"{session}-*"))


def keep_daemon_logs(test_name: str) -> None:
    """Copy the daemons' logs out of the guest's throw-away /var/run overlay."""
    out = os.environ.get("PYLTTNG_VM_OUT")
    if out is None:
        return
    dest = Path(out, "logs", test_name)
    dest.mkdir(parents=True, exist_ok=True)
    for log in Path("/var/run/lttng").rglob("*.log"):
        shutil.copy(log, dest / log.name)


# The daemons outlive a test: a Python daemon takes ~15 s to start under TCG, and most
# tests only need one that works.  Tests share one home (the root daemon writes traces
# under the home it started with); after each test its sessions are destroyed and its
# traces moved to homes/<test>.  A failed test, a test marked fresh_daemon, or a switch
# between pylttng's and the stock daemons starts from no daemon at all.
FAILED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--stress", action="store_true",
                     help="the long forms of the reliability tests (make stress)")
    parser.addoption("--ci-suite", choices=SUITE_ORDER, default="full",
                     help="what CI runs in this guest (tests/vm/kernels.py: Kernel.ci_suites); "
                          "an option, not a list of files: the guest's command goes on the "
                          "kernel's command line, which 6.12 caps at 2048 bytes")


@pytest.fixture(scope="session")
def stress(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--stress"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fresh_daemon: start the test with no daemon running")


def wanted_daemons(item: pytest.Item) -> str:
    """The `daemon` fixture's parameter, or pylttng's daemons for the `lttng` fixture."""
    callspec = getattr(item, "callspec", None)
    return str(callspec.params.get("daemon", "pylttng")) if callspec else "pylttng"


def through_stock_daemons(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec else ()
    return "stock" in params or "stock" in item.fixturenames


def in_ci_suite(item: pytest.Item, suite: str) -> bool:
    """kernel: every test the kernel can change, through pylttng's daemons; daemons: every
    other test; quick and smoke: the QUICK_TESTS and SMOKE_TESTS of kernels.py."""
    file_name = item.path.name
    kernel_facing = file_name not in DAEMON_TESTS and not through_stock_daemons(item)
    if suite in ("kernel", "daemons"):
        return kernel_facing == (suite == "kernel")
    if suite in ("quick", "smoke"):
        for entry in QUICK_TESTS if suite == "quick" else SMOKE_TESTS:
            name, _, test = entry.partition("::")
            if name == file_name and test in ("", item.name.split("[")[0]):
                return True
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the CI suite's tests (--ci-suite); run the stock-daemon variants last, so each
    pair of daemons starts about once."""
    suite = config.getoption("--ci-suite")
    left_out = [item for item in items if not in_ci_suite(item, suite)]
    if left_out:
        items[:] = [item for item in items if in_ci_suite(item, suite)]
        config.hook.pytest_deselected(items=left_out)
    items.sort(key=through_stock_daemons)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    if outcome.get_result().failed:  # type: ignore[attr-defined]
        item.stash[FAILED] = True


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = os.environ.get("PYLTTNG_VM_OUT")
    home = Path(out, "home") if out else tmp_path_factory.mktemp("home")
    home.mkdir(parents=True, exist_ok=True)
    return home


def archive_traces(home: Path, test_name: str) -> None:
    """Move the traces left in the shared home to homes/<test_name> (none: no folder)."""
    traces = sorted((home / "lttng-traces").glob("*"))
    if not traces:
        return
    dest = Path(os.environ.get("PYLTTNG_VM_OUT", home), "homes", test_name, "lttng-traces")
    dest.mkdir(parents=True, exist_ok=True)
    for trace in traces:
        shutil.move(trace, dest / trace.name)


@pytest.fixture
def lttng(shared_home: Path, request: pytest.FixtureRequest) -> Iterator[Lttng]:
    node = request.node
    archive_traces(shared_home, f"{node.name}.before")
    cli = Lttng(shared_home)
    want = wanted_daemons(node)
    if node.get_closest_marker("fresh_daemon") or running_daemons() != want:
        stop_daemons()
        if want == "stock":
            start_stock_sessiond(cli.env)
    yield cli
    run("lttng", "destroy", "-a", env=cli.env)
    keep_daemon_logs(node.name)
    archive_traces(shared_home, node.name)
    if node.stash.get(FAILED, False):
        stop_daemons()


@pytest.fixture(params=["pylttng", "stock"])
def daemon(request: pytest.FixtureRequest, lttng: Lttng) -> Lttng:
    """The lttng CLI talking to pylttng-sessiond, or to the stock lttng-sessiond (and its
    lttng-consumerd) driving pylttng.ko: every scenario of issue 3 runs through both.
    (The `lttng` fixture starts the daemons the parameter names.)"""
    if request.param == "stock":
        lttng.env.pop("LTTNG_SESSIOND_PATH")
    return lttng


STOCK_SESSIOND = "/usr/bin/lttng-sessiond"


def start_stock_sessiond(env: dict[str, str], log: Path | None = None) -> None:
    """Start the stock lttng-sessiond as root; it finds its lttng-consumerd by itself.

    (Never pass it --kconsumerd-cmd: getopt takes it for --kconsumerd-cmd-sock, and the
    consumer then replaces its own binary with its command socket in the guest's overlay.)
    """
    argv = [STOCK_SESSIOND, "--background"]
    if log is not None:
        argv += ["-vvv", "--verbose-consumer"]
    with open(log or os.devnull, "ab") as sink:
        # --background keeps stderr (the -vvv log); the parent exits once it is ready.
        started = subprocess.run(argv, stdout=sink, stderr=sink, env=env, timeout=COMMAND_TIMEOUT_S,
                                 check=False)
    assert started.returncode == 0, log.read_text(errors="replace") if log else argv


MODULE_REFCNT = Path("/sys/module/pylttng/refcnt")


def settled_refcount(baseline: int, timeout: float) -> int:
    """pylttng.ko's reference count once it is back to ``baseline`` (the module releases
    some files in the background), or as it is after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    count = int(MODULE_REFCNT.read_text())
    while count != baseline and time.monotonic() < deadline:
        time.sleep(0.5)
        count = int(MODULE_REFCNT.read_text())
    return count


def meminfo_kb(field: str) -> int:
    """A /proc/meminfo figure, in kB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/meminfo")


def babeltrace2(*args: str, timeout: float = READ_TIMEOUT_S) -> Result:
    return run("babeltrace2", *args, timeout=timeout)


def counted_events(trace: Path, *, discards_allowed: bool = False,
                   timeout: float = READ_TIMEOUT_S) -> int:
    """How many events babeltrace2 decodes reading the whole trace (its counter sink), with
    no error and no warning but, where ``discards_allowed``, its report of events that full
    buffers discarded."""
    read = babeltrace2("-c", "sink.utils.counter", "-p", "step=+0", str(trace), timeout=timeout)
    assert read.rc == 0, read.err
    others = [line for line in read.err.splitlines()
              if line.strip() and not (discards_allowed and "discarded" in line.lower())]
    assert not others, read.err
    total = re.search(r"^\s*(\d+) Event messages$", read.out, re.MULTILINE)
    assert total, read.out
    return int(total.group(1))


# babeltrace2's report of what a discard-mode channel dropped when a flood outran the
# consumer ("Tracer discarded N events between ..."), and "may have discarded" before a
# stream's first packet when its count is not 0: accounting, not a complaint.
DISCARDED_EVENTS = re.compile(
    r"^WARNING: Tracer (may have )?discarded (\d+ )?events? between .*\n", re.MULTILINE)


def babeltrace2_lines(trace: Path, *options: str,
                      tolerated: re.Pattern[str] | None = None) -> list[str]:
    """The trace as babeltrace2 text lines; babeltrace2 must read it without a complaint
    (but the ones ``tolerated`` matches, whole lines)."""
    read = babeltrace2(*options, str(trace))
    assert read.rc == 0, read.err
    err = read.err if tolerated is None else tolerated.sub("", read.err)
    assert err.strip() == "", f"babeltrace2 warned: {read.err}"
    return read.out.splitlines()


def read_trace(lttng: Lttng, session: str, *options: str) -> list[str]:
    """babeltrace2_lines() of the session's one trace."""
    [trace] = lttng.traces(session)
    return babeltrace2_lines(trace, *options)


def read_kernel_trace(lttng: Lttng, session: str, *options: str) -> list[str]:
    """read_trace() of a kernel session recorded in the default channel, whose metadata
    and per-CPU stream files must be where lttng-consumerd puts them."""
    [trace] = lttng.traces(session)
    assert (trace / "kernel" / "metadata").is_file()
    assert list((trace / "kernel").glob("channel0_*"))
    return babeltrace2_lines(trace, *options)


SCHED_SWITCH_FIELDS = ("prev_comm", "prev_tid", "prev_prio", "prev_state",
                       "next_comm", "next_tid", "next_prio")


def assert_sched_switch_fields(lines: list[str]) -> None:
    """The trace has a sched_switch event with LTTng-modules' field names."""
    switches = [line for line in lines if " sched_switch: " in line]
    assert switches, "no sched_switch event"
    for field in SCHED_SWITCH_FIELDS:
        assert f" {field} = " in switches[0], f"sched_switch lacks {field}: {switches[0]}"


def fork_exec_workload(count: int) -> list[int]:
    """Fork and exec /bin/true `count` times; return the children's pids."""
    pids = []
    for _ in range(count):
        child = subprocess.Popen(["/bin/true"])
        child.wait()
        pids.append(child.pid)
    return pids


def assert_forks_and_execs(lines: list[str], pids: list[int]) -> None:
    """Each child of fork_exec_workload() left its sched_process_fork and _exec events."""
    forks = [line for line in lines if " sched_process_fork: " in line]
    execs = [line for line in lines if " sched_process_exec: " in line]
    for pid in pids:
        assert any(re.search(rf"\bchild_tid = {pid}\b", line) for line in forks), \
            f"fork of {pid} missing"
        assert any(f'filename = "/bin/true", tid = {pid},' in line for line in execs), \
            f"exec of {pid} missing"


def build_c_program(request: pytest.FixtureRequest, tmp_path: Path, name: str, source: str,
                    *cflags: str) -> Path:
    """Compile a test's C program with the host's gcc, on the shared output folder (a
    regular file system, kept for a look after the run) when there is one."""
    out = os.environ.get("PYLTTNG_VM_OUT")
    where = Path(out, "programs", request.node.name) if out else tmp_path
    where.mkdir(parents=True, exist_ok=True)
    (where / f"{name}.c").write_text(source)
    built = run("gcc", *cflags, "-o", str(where / name), str(where / f"{name}.c"))
    assert built.rc == 0, built.text
    return (where / name).resolve()
