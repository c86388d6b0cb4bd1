"""Issue 23, security: who may reach the root session daemon, and where it may write for
them. Run through pylttng-sessiond and, for comparison, the stock lttng-sessiond (with its
lttng-consumerd) on pylttng.ko, each started as `--group=users`.

Users are plain uids without a passwd entry; the stock `lttng` CLI runs as them through
setpriv(1), with `--group=users` so that it looks for the root daemon's socket.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import STOCK_SESSIOND, Result, babeltrace2_lines, run

from bench.tracers import stop_daemons

GROUP, GROUP_GID = "users", 100
ALICE, BOB, EVE = 40001, 40003, 40002  # Alice and Bob are in the group, Eve is not
RUNDIR = Path("/var/run/lttng")
SOCKET = RUNDIR / "client-lttng-sessiond"
TOP = Path("/tmp/pylttng-security")


def as_user(uid: int, *args: str, member: bool = True) -> Result:
    home = TOP / str(uid)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LTTNG_HOME": str(home)}
    groups = [f"--groups={GROUP_GID}"] if member else ["--clear-groups"]
    return run("setpriv", f"--reuid={uid}", f"--regid={uid}", *groups, "--",
               "lttng", f"--group={GROUP}", *args, env=env)


# One daemon per module and kind: a Python daemon takes ~15 s to start under TCG.
@pytest.fixture(scope="module", params=["pylttng", "stock"])
def root_daemon(request: pytest.FixtureRequest) -> Iterator[str]:
    stop_daemons()
    shutil.rmtree(TOP, ignore_errors=True)
    TOP.mkdir(mode=0o755)
    for uid in (ALICE, BOB, EVE):
        home = TOP / str(uid)
        home.mkdir(mode=0o700)
        os.chown(home, uid, uid)
    if request.param == "pylttng":
        sessiond = shutil.which("pylttng-sessiond")
        assert sessiond
        argv = [sessiond, "--daemonize", f"--group={GROUP}"]
    else:
        argv = [STOCK_SESSIOND, "--background", f"--group={GROUP}"]
    started = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    assert started.returncode == 0, started.stderr
    yield request.param
    run("lttng", "destroy", "-a")
    stop_daemons()


def test_proc_lttng_is_roots_alone() -> None:
    subprocess.run(["modprobe", "pylttng"], check=True)
    st = os.stat("/proc/lttng")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 0, 0)


def test_socket_and_logs(root_daemon: str) -> None:
    st = SOCKET.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o660, 0, GROUP_GID)
    if root_daemon == "pylttng":
        logs = list(RUNDIR.glob("*.log"))
        assert logs, "the daemon keeps its log in its rundir"
        for log in logs:
            assert stat.S_IMODE(log.stat().st_mode) & 0o007 == 0, log


def test_outsiders_are_refused(root_daemon: str) -> None:
    # Eve, outside the group, cannot even connect(2): the socket's mode says so.
    probe = ("import socket; s = socket.socket(socket.AF_UNIX); "
             f"s.connect({str(SOCKET)!r})")
    eve = run("setpriv", f"--reuid={EVE}", f"--regid={EVE}", "--clear-groups", "--",
              "python3", "-c", probe)
    assert eve.rc != 0 and "PermissionError" in eve.err, eve.text
    # Alice can, and her sessions are hers alone.
    assert as_user(ALICE, "create", "alices", f"--output={TOP / str(ALICE) / 'trace'}").rc == 0
    listed = as_user(BOB, "list")
    assert "alices" not in listed.out, listed.text
    assert as_user(BOB, "destroy", "alices").rc != 0
    assert "alices" in as_user(ALICE, "list").out
    assert as_user(ALICE, "destroy", "alices").rc == 0


def test_trace_files_belong_to_the_sessions_user(root_daemon: str) -> None:
    trace = TOP / str(ALICE) / "trace"
    for args in (("create", "mine", f"--output={trace}"), ("enable-event", "-k", "sched_switch"),
                 ("start",)):
        done = as_user(ALICE, *args)
        assert done.rc == 0, done.text
    subprocess.run(["sleep", "0.3"], check=True)
    for args in (("stop",), ("destroy",)):
        assert as_user(ALICE, *args).rc == 0
    files = list(trace.rglob("*"))
    assert any(p.name == "metadata" for p in files), files
    for path in [trace, *files]:
        st = path.lstat()
        assert (st.st_uid, st.st_gid) == (ALICE, ALICE), f"{path}: {st.st_uid}:{st.st_gid}"
    assert any("sched_switch" in line for line in babeltrace2_lines(trace))


@pytest.mark.parametrize("where", ["/etc/pylttng-escape", "bob", "link"])
def test_no_writing_where_the_user_may_not(root_daemon: str, where: str) -> None:
    bobs = TOP / str(BOB)
    if where == "bob":
        target, expect_absent = bobs / "stolen", bobs / "stolen"
    elif where == "link":
        # Alice's own folder, but a symbolic link in it leads to /etc.
        (TOP / str(ALICE) / "etc").symlink_to("/etc")
        target, expect_absent = TOP / str(ALICE) / "etc" / "pylttng-escape", Path(
            "/etc/pylttng-escape")
    else:
        target = expect_absent = Path(where)
    results = [as_user(ALICE, "create", "escape", f"--output={target}")]
    if results[0].rc == 0:
        results.append(as_user(ALICE, "enable-event", "-k", "sched_switch"))
        results.append(as_user(ALICE, "start"))
        as_user(ALICE, "destroy", "escape")
    assert any(r.rc != 0 for r in results), [r.text for r in results]
    assert not expect_absent.exists()


def test_session_names_stay_names(root_daemon: str) -> None:
    for name in ("../escape", "a/b"):
        made = as_user(ALICE, "create", name, f"--output={TOP / str(ALICE) / 'n'}")
        assert made.rc != 0, made.text
