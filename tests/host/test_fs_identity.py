"""consumerd/fs_identity.py: a thread acting as a session's user has that user's rights
and creates files that belong to it; the other threads, and the thread afterwards, keep
root's."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pylttng.consumerd.fs_identity import ROOT, Owner, acting_as
from pylttng.consumerd.output import create_trace_file, open_trace_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

ALICE = Owner(40001, 40001)
MALLORY = Owner(40002, 40002)


@pytest.fixture
def alices_home() -> Iterator[Path]:
    # Under /tmp itself: pytest's tmp_path sits below root's 0700 folder, which Alice
    # could not traverse.
    top = Path(tempfile.mkdtemp(prefix="pylttng-fs-identity-", dir="/tmp"))
    top.chmod(0o755)
    home = top / "alice"
    home.mkdir(mode=0o700)
    os.chown(home, ALICE.uid, ALICE.gid)
    yield home
    shutil.rmtree(top)


def test_files_belong_to_the_sessions_user(alices_home: Path) -> None:
    dir_fd = open_trace_dir(str(alices_home / "trace" / "kernel"), ALICE)
    try:
        os.close(create_trace_file(dir_fd, "index/chan_0.idx", ALICE))
    finally:
        os.close(dir_fd)
    for path in (
        alices_home / "trace",
        alices_home / "trace/kernel",
        alices_home / "trace/kernel/index",
        alices_home / "trace/kernel/index/chan_0.idx",
    ):
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (ALICE.uid, ALICE.gid), path


def test_another_user_cannot_write_there(alices_home: Path) -> None:
    with pytest.raises(PermissionError):
        open_trace_dir(str(alices_home / "stolen"), MALLORY)
    # Nor anywhere root alone may write.
    with pytest.raises(PermissionError):
        open_trace_dir("/etc/pylttng-must-not-exist", MALLORY)
    assert not Path("/etc/pylttng-must-not-exist").exists()


def test_root_rights_come_back_and_other_threads_keep_them(alices_home: Path) -> None:
    seen: list[str] = []
    inside = threading.Event()
    done = threading.Event()

    def other_thread() -> None:
        inside.wait()
        try:
            (alices_home / "from-another-thread").write_text("")
            seen.append("written")
        except PermissionError:
            seen.append("refused")
        done.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    with acting_as(MALLORY):
        inside.set()
        done.wait()
        with pytest.raises(PermissionError):
            (alices_home / "x").write_text("")
    worker.join()
    assert seen == ["written"]
    (alices_home / "y").write_text("")  # root again
    with acting_as(ROOT):
        (alices_home / "z").write_text("")
    assert (alices_home / "y").stat().st_uid == 0
