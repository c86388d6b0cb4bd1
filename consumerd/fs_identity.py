"""Create a session's folders and files as the user who owns the session.

The root daemons write where a member of the tracing group asks them to; lttng-tools does
that through its run-as worker (src/common/runas.c: run_as_mkdir_recursive(),
run_as_open()), so that the kernel checks that user's rights and what is created belongs
to that user. Here the calling thread takes the user's file-system identity for the
duration of the call: Linux keeps fsuid, fsgid and the supplementary groups per thread
(setfsuid(2); the raw setgroups(2) system call changes the calling thread only, whereas
glibc's setgroups() changes every thread of the process, hence the raw call). Switching
fsuid away from 0 also drops CAP_DAC_OVERRIDE and the other file capabilities, and
switching back restores them (capabilities(7): "Effect of user ID changes on
capabilities").

Nothing here awaits: a trio task that switches identity switches back before any other
task runs on its thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import pwd
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

# setgroups(2)'s number, per architecture (asm/unistd.h).
_SYS_SETGROUPS: Final = {"x86_64": 116, "aarch64": 159}

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.setfsuid.argtypes = (ctypes.c_uint,)
_libc.setfsgid.argtypes = (ctypes.c_uint,)
_libc.syscall.restype = ctypes.c_long


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose rights apply to a session's files: the client that created the session."""

    uid: int
    gid: int


ROOT: Final = Owner(0, 0)


def _setgroups(groups: list[int]) -> None:
    number = _SYS_SETGROUPS.get(platform.machine())
    if number is None:
        raise OSError(f"setgroups: no system call number known for {platform.machine()}")
    array = (ctypes.c_uint * max(len(groups), 1))(*groups)
    if _libc.syscall(number, len(groups), array) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setgroups: {os.strerror(err)}")


def _groups_of(owner: Owner) -> list[int]:
    try:
        return os.getgrouplist(pwd.getpwuid(owner.uid).pw_name, owner.gid)
    except KeyError:
        return [owner.gid]  # a uid with no passwd entry: its primary group only


def _set_fs_ids(uid: int, gid: int) -> None:
    # setfsuid() returns the previous fsuid and reports no error: read back to check.
    _libc.setfsgid(gid)
    _libc.setfsuid(uid)
    if _libc.setfsuid(0xFFFFFFFF) != uid or _libc.setfsgid(0xFFFFFFFF) != gid:
        raise OSError(f"could not take the file-system identity {uid}:{gid}")


@contextmanager
def acting_as(owner: Owner) -> Iterator[None]:
    """Within the block, the calling thread creates and opens files with the rights of
    ``owner``; nothing changes for root's sessions or when the daemon is not root."""
    if owner.uid == 0 or os.geteuid() != 0:
        yield
        return
    saved = os.getgroups()
    _setgroups(_groups_of(owner))
    try:
        _set_fs_ids(owner.uid, owner.gid)
        yield
    finally:
        _set_fs_ids(0, 0)
        _setgroups(saved)
