"""File-system locations shared with lttng-tools (src/common/defaults.h, utils.c)."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

# CONFIG_LTTNG_SYSTEM_RUNDIR of Debian's lttng-tools build.
SYSTEM_RUNDIR = "/var/run/lttng"
CLIENT_SOCKET_NAME = "client-lttng-sessiond"
HEALTH_SOCKET_NAME = "sessiond-health"
LOCK_FILE_NAME = "lttng-sessiond.lck"
PID_FILE_NAME = "lttng-sessiond.pid"
CONSUMERD_DIR_NAME = "kconsumerd"


def open_log(path: str) -> int:
    """A daemon log, opened for appending and rw-r----- (even one an older run left more
    open): it names users, paths and sessions, which are not everyone's business."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
    try:
        os.fchmod(fd, 0o640)
    except OSError:
        os.close(fd)
        raise
    return fd


def home_dir() -> str:
    """utils_get_home_dir(): $LTTNG_HOME, else $HOME, else the passwd entry."""
    for var in ("LTTNG_HOME", "HOME"):
        value = os.environ.get(var)
        if value:
            return value
    return pwd.getpwuid(os.getuid()).pw_dir


@dataclass(frozen=True)
class RunPaths:
    """Where one session daemon instance keeps its sockets and lock files."""

    rundir: str
    # -c/--client-sock and -p/--pidfile (lttng-sessiond's options) move these elsewhere.
    client_socket_path: str | None = None
    pid_file_path: str | None = None

    @classmethod
    def for_current_user(cls) -> RunPaths:
        # Root serves the system-wide rundir; others their own ($LTTNG_HOME/.lttng).
        if os.geteuid() == 0:
            return cls(SYSTEM_RUNDIR)
        return cls(os.path.join(home_dir(), ".lttng"))

    @property
    def client_socket(self) -> str:
        return self.client_socket_path or os.path.join(self.rundir, CLIENT_SOCKET_NAME)

    @property
    def lock_file(self) -> str:
        return os.path.join(self.rundir, LOCK_FILE_NAME)

    @property
    def pid_file(self) -> str:
        return self.pid_file_path or os.path.join(self.rundir, PID_FILE_NAME)

    @property
    def consumerd_dir(self) -> str:
        return os.path.join(self.rundir, CONSUMERD_DIR_NAME)

    @property
    def consumerd_socket(self) -> str:
        return os.path.join(self.consumerd_dir, "pylttng-consumerd")
