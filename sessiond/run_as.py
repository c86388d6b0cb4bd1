"""Write a new file under a directory made as needed, with the rights of a client.

lttng-sessiond creates a saved session's directory and file through its run-as worker
(src/common/runas.c: run_as_mkdir_recursive(), run_as_open()), a process that took the
client's uid and gid and set its umask to 0: the client's rights decide, and the client
owns what is made (directories 0770, the file 0660; save.c). A root daemon serving
another user does the same in a forked child that takes the client's credentials
(`write_as()`); otherwise the daemon calls `write_file()` itself.
"""

from __future__ import annotations

import errno
import os
import pwd

DIR_MODE = 0o770  # S_IRWXU | S_IRWXG
FILE_MODE = 0o660  # S_IRUSR | S_IWUSR | S_IRGRP | S_IWGRP
STEPS = ("mkdir", "open", "write")


class WriteFailure(Exception):
    """Which step failed (one of STEPS), and its errno."""

    def __init__(self, step: str, number: int) -> None:
        super().__init__(f"{step}: {os.strerror(number)}")
        self.step = step
        self.errno = number


def _makedirs(directory: str) -> None:
    """utils_mkdir_recursive(): each missing component, with exactly DIR_MODE."""
    if os.path.isdir(directory):
        return
    parent = os.path.dirname(directory.rstrip("/"))
    if parent and parent != directory:
        _makedirs(parent)
    try:
        os.mkdir(directory, DIR_MODE)
    except FileExistsError:
        if not os.path.isdir(directory):
            raise
        return
    os.chmod(directory, DIR_MODE)  # past the umask, as run-as's umask(0)


def _open(path: str, overwrite: bool) -> int:
    """O_CREAT | O_WRONLY | O_TRUNC, with O_EXCL unless overwriting; a file made here
    gets exactly FILE_MODE."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, FILE_MODE)
    except FileExistsError:
        if not overwrite:
            raise
        return os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    os.fchmod(fd, FILE_MODE)
    return fd


def write_file(directory: str, path: str, data: bytes, overwrite: bool) -> None:
    """Make `directory`, create `path` and write `data`; raises WriteFailure. A file left
    half-written is removed (save_session() unlinks it on error)."""
    try:
        _makedirs(directory)
    except OSError as exc:
        raise WriteFailure("mkdir", exc.errno or errno.EIO) from None
    try:
        fd = _open(path, overwrite)
    except OSError as exc:
        raise WriteFailure("open", exc.errno or errno.EIO) from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except OSError as exc:
        try:
            os.unlink(path)
        except OSError:
            pass
        raise WriteFailure("write", exc.errno or errno.EIO) from None


def write_as(uid: int, gid: int, directory: str, path: str, data: bytes,
             overwrite: bool) -> None:
    """write_file() in a child process holding the client's uid, gid and groups, as the
    run-as worker does; blocking (run it in a thread). The child only makes system calls
    and exits: no lock another thread may hold is taken there."""
    try:
        groups = os.getgrouplist(pwd.getpwuid(uid).pw_name, gid)
    except KeyError:
        groups = [gid]
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os._exit(_child(write_fd, uid, gid, groups, (directory, path, data, overwrite)))
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        report = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        return
    step, _, number = report.partition(" ")
    if step not in STEPS or not number.isdigit():
        raise WriteFailure("open", errno.EPERM)  # the credentials could not be taken
    raise WriteFailure(step, int(number))


def _child(report_fd: int, uid: int, gid: int, groups: list[int],
           args: tuple[str, str, bytes, bool]) -> int:
    """demote_creds() then the command: the exit status, a failure told on the pipe."""
    try:
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
        write_file(*args)
    except WriteFailure as failure:
        os.write(report_fd, f"{failure.step} {failure.errno}".encode())
        return 1
    except BaseException:  # noqa: BLE001  (never back into the daemon's code)
        return 1
    return 0
