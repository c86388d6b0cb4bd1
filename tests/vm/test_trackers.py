"""Process attribute trackers: `lttng track -k` through pylttng's daemons and
through the stock lttng-sessiond and lttng-consumerd driving pylttng.ko, and the session
fd's tracker ioctls driven directly.

Two copies of a tiny C worker wait for a line on stdin, then each make CALLS getppid()
calls and CALLS calls of a noinline function; only one of them is tracked.  babeltrace2
reads the trace, whose events carry the pid, vpid, uid, vuid, gid and vgid contexts: every
event must be the tracked worker's (or, for the statedump, the session daemon's), and the
tracked worker's system call, kprobe, uprobe and sched_switch events must all be there.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Lttng, build_c_program, read_trace, run
from differential import Transcript, assert_same_transcripts, run_on_both
from pylttng.protocol import kernel_abi as abi
from test_contexts import context_of

from bench.tracers import pids_of

CALLS = 50
WORK = "pyl_tracked_work"
WORKER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

__attribute__((noinline)) void pyl_tracked_work(void)
{
	__asm__ volatile("" ::: "memory");
}

/* Prints its pid and its pid in the root namespace, waits for a line, works. */
int main(int argc, char **argv)
{
	char self[32] = "", go[8];
	int n = atoi(argv[1]);

	if (readlink("/proc/self", self, sizeof(self) - 1) < 0)
		return 1;
	printf("%d %s\n", getpid(), self);
	fflush(stdout);
	if (read(0, go, sizeof(go)) <= 0)
		return 1;
	for (int i = 0; i < n; i++) {
		syscall(SYS_getppid);
		pyl_tracked_work();
	}
	return 0;
}
"""
CONTEXTS = ("pid", "vpid", "uid", "vuid", "gid", "vgid")
# The x86-64 system call getppid() enters through; kprobed on every kernel we boot.
GETPPID_FN = "__x64_sys_getppid"
TRACKED_ID = 12345


@pytest.fixture(scope="module")
def worker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worker, in the runner's output folder: any uid may run it there, and, unlike
    the guest's overlay /tmp, the inode it runs from is the one a uprobe is put on."""
    return build_c_program(request, tmp_path_factory.mktemp("worker"), "worker", WORKER, "-O2")


@dataclass
class Worker:
    proc: subprocess.Popen[str]
    pid: int  # in the root pid namespace
    vpid: int

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.close()

    def finish(self) -> None:
        assert self.proc.wait(timeout=120) == 0


def start_worker(program: Path, *prefix: str, user: int | None = None,
                 group: int | None = None) -> Worker:
    proc = subprocess.Popen([*prefix, str(program), str(CALLS)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, user=user, group=group)
    assert proc.stdout is not None
    vpid, pid = proc.stdout.readline().split()
    return Worker(proc, int(pid), int(vpid))


def run_workers(*workers: Worker) -> None:
    for w in workers:
        w.go()
    for w in workers:
        w.finish()


@dataclass(frozen=True)
class Recorded:
    name: str
    ctx: dict[str, int]


def recorded(lines: list[str]) -> list[Recorded]:
    """Each event of the trace: its name and its (integer) context fields."""
    events = []
    for line in lines:
        m = re.search(r" (\w+): \{ cpu_id = \d+ \}, ", line)
        assert m, line
        events.append(Recorded(m[1], {k: int(v) for k, v in context_of(line).items()}))
    return events


def count(events: list[Recorded], name: str, pid: int) -> int:
    return sum(e.name == name and e.ctx["pid"] == pid for e in events)


def create_session(lttng: Lttng, session: str, *tracks: str) -> None:
    """A session recording getppid() and sched_switch with every id context, and these
    `lttng track -k` arguments."""
    lttng.ok("create", session)
    lttng.ok("enable-event", "-k", "-s", session, "--syscall", "getppid")
    lttng.ok("enable-event", "-k", "-s", session, "sched_switch")
    lttng.ok("add-context", "-k", "-s", session, *[a for c in CONTEXTS for a in ("-t", c)])
    for track in tracks:
        lttng.ok("track", "-k", "-s", session, *track.split())


def trace_of_workers(lttng: Lttng, session: str, *workers: Worker) -> list[Recorded]:
    lttng.ok("start", session)
    run_workers(*workers)
    lttng.ok("stop", session)
    lttng.ok("destroy", session)
    return recorded(read_trace(lttng, session))


def sessiond_pid() -> int:
    """The running session daemon's pid, pylttng's or the stock one."""
    [pid] = pids_of("pylttng-sessiond") or pids_of("lttng-sessiond", comm=True)
    return int(pid)


# ------------------------------------------------ both daemon pairs drive the trackers


def test_pid_tracker_filters_every_source(daemon: Lttng, worker: Path) -> None:
    lttng = daemon
    tracked, other = start_worker(worker), start_worker(worker)
    create_session(lttng, "trk", f"--pid={tracked.pid}")
    lttng.ok("enable-event", "-k", "-s", "trk", "--probe", GETPPID_FN, "mykprobe")
    lttng.ok("enable-event", "-k", "-s", "trk", "--userspace-probe", f"elf:{worker}:{WORK}",
             "myuprobe")
    lttng.ok("enable-event", "-k", "-s", "trk", "lttng_statedump_*")
    # Another session tracks everything meanwhile: trackers are per session.
    create_session(lttng, "all")
    lttng.ok("start", "all")
    events = trace_of_workers(lttng, "trk", tracked, other)
    lttng.ok("stop", "all")
    lttng.ok("destroy", "all")

    assert {e.ctx["pid"] for e in events} == {tracked.pid}
    for name in ("syscall_entry_getppid", "syscall_exit_getppid", "mykprobe", "myuprobe"):
        assert count(events, name, tracked.pid) == CALLS, name
    assert count(events, "sched_switch", tracked.pid) >= 1
    # The statedump runs in the session daemon, which is not tracked.
    assert not [e for e in events if e.name.startswith("lttng_statedump_")]
    everyone = recorded(read_trace(lttng, "all"))
    for w in (tracked, other):
        assert count(everyone, "syscall_entry_getppid", w.pid) == CALLS


def test_statedump_follows_the_session_daemon_pid(daemon: Lttng) -> None:
    lttng = daemon
    sessiond = sessiond_pid()
    create_session(lttng, "sdump", f"--pid={sessiond}")
    lttng.ok("enable-event", "-k", "-s", "sdump", "lttng_statedump_start,lttng_statedump_end")
    events = trace_of_workers(lttng, "sdump")
    assert {e.ctx["pid"] for e in events} == {sessiond}
    assert [e.name for e in events if e.name.startswith("lttng_statedump_")] == \
        ["lttng_statedump_start", "lttng_statedump_end"]


def test_vpid_tracker_in_a_pid_namespace(daemon: Lttng, worker: Path) -> None:
    lttng = daemon
    tracked = start_worker(worker, "unshare", "--pid", "--fork")
    other = start_worker(worker)
    assert tracked.vpid == 1 != tracked.pid
    create_session(lttng, "vpid", "--vpid=1")
    events = trace_of_workers(lttng, "vpid", tracked, other)
    # The guest's init is vpid 1 of the root namespace: it may be recorded as well.  The
    # vpid context reads 0 once an exiting task lost its namespaces (as LTTng-modules'),
    # the tracker still reads 1.
    assert all(e.ctx["vpid"] == 1 or e.ctx["pid"] == tracked.pid for e in events)
    assert count(events, "syscall_entry_getppid", tracked.pid) == CALLS
    assert not [e for e in events if e.ctx["pid"] == other.pid]


@pytest.mark.parametrize("attribute", ["uid", "vuid", "gid", "vgid"])
def test_user_and_group_trackers(daemon: Lttng, worker: Path, attribute: str) -> None:
    lttng = daemon
    as_id = {"user" if "uid" in attribute else "group": TRACKED_ID}
    tracked, other = start_worker(worker, **as_id), start_worker(worker)
    create_session(lttng, attribute, f"--{attribute}={TRACKED_ID}")
    events = trace_of_workers(lttng, attribute, tracked, other)
    assert {e.ctx[attribute] for e in events} == {TRACKED_ID}
    assert count(events, "syscall_entry_getppid", tracked.pid) == CALLS
    assert not [e for e in events if e.ctx["pid"] == other.pid]


def test_untrack_all_records_nothing(daemon: Lttng, worker: Path) -> None:
    lttng = daemon
    workers = start_worker(worker), start_worker(worker)
    create_session(lttng, "none")
    lttng.ok("untrack", "-k", "-s", "none", "--pid", "--all")
    lttng.ok("enable-event", "-k", "-s", "none", "lttng_statedump_*")
    assert trace_of_workers(lttng, "none", *workers) == []


def test_track_all_after_a_set(daemon: Lttng, worker: Path) -> None:
    lttng = daemon
    workers = start_worker(worker), start_worker(worker)
    create_session(lttng, "again", f"--pid={workers[0].pid}", "--pid --all")
    events = trace_of_workers(lttng, "again", *workers)
    for w in workers:
        assert count(events, "syscall_entry_getppid", w.pid) == CALLS


def tracker_commands(t: Transcript) -> None:
    """track/untrack/list-trackers as a user types them, errors included."""
    t("create", "trk", "-o", str(t.scratch / "trk"))
    t("list", "trk")
    t("track", "-k", "--pid", "1,2,3")
    t("track", "-k", "--pid", "2")  # already tracked
    t("untrack", "-k", "--pid", "2")
    t("untrack", "-k", "--pid", "2")  # not tracked
    # lttng-sessiond lists an inclusion set in its hash table's order: keep one value.
    t("untrack", "-k", "--pid", "1")
    t("track", "-k", "--vpid", "7", "--uid", "0", "--vuid", "root", "--gid", "0,4",
      "--vgid", "root")
    t("track", "-k", "--uid", "no-such-user-here")
    t("untrack", "-k", "--gid", "--all")
    t("--mi", "xml", "list", "trk")
    t("list", "trk")
    t("untrack", "-k", "--pid", "--all")
    t("track", "-k", "--vuid", "--all")
    t("list", "trk")
    t("--mi", "xml", "track", "-k", "--vpid", "8")
    t("destroy", "trk")


def test_tracker_commands_as_the_stock_daemon(lttng: Lttng, tmp_path: Path) -> None:
    assert_same_transcripts(*run_on_both(lttng, tmp_path, tracker_commands))


# ------------------------------------------------- the ioctls, driven directly


@pytest.fixture
def session() -> Iterator[int]:
    if not os.path.exists(abi.PROC_PATH):
        assert run("modprobe", "pylttng").rc == 0
    tracer = os.open(abi.PROC_PATH, os.O_RDWR)
    fd = fcntl.ioctl(tracer, abi.SESSION)
    os.close(tracer)
    yield fd
    os.close(fd)


def ioctl_args(fd: int, request: int, tracker: int, id_: int) -> int:
    """An ioctl taking struct lttng_kernel_abi_tracker_args; its result."""
    args = bytearray(abi.build_tracker_args(tracker, id_))
    return int(fcntl.ioctl(fd, request, args, True))


def errno_of(fn: Callable[..., object], *args: object) -> int:
    with pytest.raises(OSError) as info:
        fn(*args)
    return info.value.errno or 0


def read_all(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 7):  # small reads: the text spans them
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


def listed(session: int, tracker: abi.TrackerType) -> list[int]:
    fd = ioctl_args(session, abi.SESSION_LIST_TRACKER_IDS, tracker, abi.TRACKER_ALL_IDS)
    return abi.parse_tracker_list(tracker, read_all(fd))


def everything_tracked(session: int) -> bool:
    return all(listed(session, t) == [abi.TRACKER_ALL_IDS] for t in abi.TrackerType)


@pytest.mark.parametrize("tracker", list(abi.TrackerType))
def test_tracker_ioctls(session: int, tracker: abi.TrackerType) -> None:
    track, untrack = abi.SESSION_TRACK_ID, abi.SESSION_UNTRACK_ID
    assert everything_tracked(session)
    # As lttng-modules: nothing to untrack from a tracker of every value.
    assert errno_of(ioctl_args, session, untrack, tracker, 5) == errno.ENOENT
    for id_ in (42, 7, 2**31 - 1, 0):
        assert ioctl_args(session, track, tracker, id_) == 0
    assert listed(session, tracker) == [0, 7, 42, 2**31 - 1]
    assert errno_of(ioctl_args, session, track, tracker, 42) == errno.EEXIST
    assert errno_of(ioctl_args, session, untrack, tracker, 8) == errno.ENOENT
    assert ioctl_args(session, untrack, tracker, 42) == 0
    assert listed(session, tracker) == [0, 7, 2**31 - 1]
    others = [t for t in abi.TrackerType if t != tracker]
    assert all(listed(session, t) == [abi.TRACKER_ALL_IDS] for t in others)
    assert ioctl_args(session, untrack, tracker, abi.TRACKER_ALL_IDS) == 0
    assert listed(session, tracker) == []
    assert errno_of(ioctl_args, session, untrack, tracker, 7) == errno.ENOENT
    assert ioctl_args(session, track, tracker, abi.TRACKER_ALL_IDS) == 0
    assert everything_tracked(session)


def test_pid_tracker_ioctls(session: int) -> None:
    """The older pid-only commands: the pid is the argument; the list is the same text."""
    assert fcntl.ioctl(session, abi.SESSION_TRACK_PID, 9) == 0
    assert fcntl.ioctl(session, abi.SESSION_TRACK_PID, 3) == 0
    assert errno_of(fcntl.ioctl, session, abi.SESSION_TRACK_PID, 9) == errno.EEXIST
    assert fcntl.ioctl(session, abi.SESSION_UNTRACK_PID, 9) == 0
    text = read_all(fcntl.ioctl(session, abi.SESSION_LIST_TRACKER_PIDS))
    assert text == "process { pid = 3; };\n"
    assert listed(session, abi.TrackerType.PID) == [3]
    assert fcntl.ioctl(session, abi.SESSION_UNTRACK_PID, -1) == 0
    assert read_all(fcntl.ioctl(session, abi.SESSION_LIST_TRACKER_PIDS)) == ""
    assert fcntl.ioctl(session, abi.SESSION_TRACK_PID, -1) == 0
    fd = fcntl.ioctl(session, abi.SESSION_LIST_TRACKER_PIDS)
    assert os.pread(fd, 100, 2) == b"ocess { pid = -1; };\n"
    os.close(fd)


def test_tracker_bad_arguments(session: int) -> None:
    for request in (abi.SESSION_TRACK_ID, abi.SESSION_UNTRACK_ID,
                    abi.SESSION_LIST_TRACKER_IDS):
        for bad_type in (len(abi.TrackerType), 0x7FFFFFFF, 0xFFFFFFFF):
            assert errno_of(ioctl_args, session, request, bad_type, 1) == errno.EINVAL
        assert errno_of(fcntl.ioctl, session, request, 1) == errno.EFAULT  # not a pointer
    for request in (abi.SESSION_TRACK_ID, abi.SESSION_UNTRACK_ID):
        for bad_id in (-2, -(2**31)):
            uid = abi.TrackerType.UID
            assert errno_of(ioctl_args, session, request, uid, bad_id) == errno.EINVAL
    for request in (abi.SESSION_TRACK_PID, abi.SESSION_UNTRACK_PID):
        assert errno_of(fcntl.ioctl, session, request, -2) == errno.EINVAL
    assert everything_tracked(session)
    # Not commands of /proc/lttng itself.
    tracer = os.open(abi.PROC_PATH, os.O_RDWR)
    try:
        assert errno_of(fcntl.ioctl, tracer, abi.SESSION_TRACK_PID, 1) == errno.ENOTTY
    finally:
        os.close(tracer)


def test_session_closed_with_trackers_set(session: int) -> None:
    """Trackers replaced many times, then freed with their session; others keep theirs."""
    tracer = os.open(abi.PROC_PATH, os.O_RDWR)
    other = fcntl.ioctl(tracer, abi.SESSION)
    os.close(tracer)
    for tracker in abi.TrackerType:
        for id_ in range(20):
            ioctl_args(other, abi.SESSION_TRACK_ID, tracker, id_)
    ioctl_args(other, abi.SESSION_UNTRACK_ID, abi.TrackerType.GID, abi.TRACKER_ALL_IDS)
    os.close(other)
    assert everything_tracked(session)
