"""Session configurations loaded when the daemon starts (lttng-sessiond --load, and the
`auto` folders otherwise), through the same handlers as the clients' commands.

main.c of lttng-sessiond 2.13 calls config_load_session(path, NULL, overwrite=1,
autoload=1) once its threads run and before it tells its parent it is ready; a failure
stops the daemon. Without --load it reads $LTTNG_HOME/.lttng/sessions/auto, then
/etc/lttng/sessions/auto, each only if the daemon's user owns it (validate_path_creds()).
The files are not validated against session.xsd: what the walk cannot read is refused.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import trio
from pylttng.protocol.client import commands as c
from pylttng.protocol.client.constants import ErrorCode
from pylttng.protocol.client.messages import Domain

from .config_values import LoadError
from .context import Credentials
from .dispatch import Dispatcher
from .errors import CommandError
from .load_errors import load_error
from .paths import home_dir
from .session_load import SessionPlan, parse_document

log = logging.getLogger("pylttng.sessiond.load")

SYSTEM_AUTOLOAD = "/etc/lttng/sessions/auto"  # DEFAULT_SESSION_SYSTEM_CONFIGPATH "/auto"
EXTENSION = ".lttng"


def autoload_dirs() -> list[str]:
    """The `auto` folders the daemon's user owns (root: all of them)."""
    dirs = [os.path.join(home_dir(), ".lttng", "sessions", "auto"), SYSTEM_AUTOLOAD]
    return [d for d in dirs if os.getuid() == 0 or _owned(d)]


def _owned(path: str) -> bool:
    try:
        return os.stat(path).st_uid == os.getuid()
    except FileNotFoundError:
        return True  # nothing to load from there anyway
    except OSError:
        return False


def config_files(path: str, *, required: bool) -> list[str]:
    """load_session_from_path(): a file, or a folder's *.lttng files."""
    if not os.path.exists(path):
        if required:
            raise LoadError(f"{path}: session configuration path does not exist",
                            ErrorCode.INVALID)
        return []
    if not os.path.isdir(path):
        return [path]
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        raise LoadError(f"{path}: {exc}", ErrorCode.LOAD_IO_FAIL) from None
    # Names of up to sizeof(".lttng") characters, its NUL counted, are skipped.
    return [os.path.join(path, n) for n in names
            if n.endswith(EXTENSION) and len(n) > len(EXTENSION) + 1]


async def load_sessions(dispatcher: Dispatcher, path: str | None) -> None:
    """config_load_session(): raises LoadError (or CommandError) on the first failure."""
    files = (config_files(path, required=True) if path else
             [f for d in autoload_dirs() for f in config_files(d, required=False)])
    creds = Credentials(pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
    for file in files:
        try:
            text = await trio.Path(file).read_bytes()
        except OSError as exc:
            code = ErrorCode.EPERM if isinstance(exc, PermissionError) else \
                ErrorCode.LOAD_IO_FAIL
            raise LoadError(f"{file}: {exc}", code) from None
        for plan in parse_document(text):
            await _apply(dispatcher, plan, creds)
            log.info("session %s loaded from %s", plan.name, file)


async def _apply(dispatcher: Dispatcher, plan: SessionPlan, creds: Credentials) -> None:
    """process_session_node() with overwrite: destroy a session of that name, then send
    the commands; a failure reports the load's error, and destroys the session if the
    walk would (SessionPlan)."""
    await _destroy(dispatcher, plan.name, creds)
    for index, cmd in enumerate(plan.commands):
        try:
            await _send(dispatcher, cmd, creds)
        except CommandError as exc:
            if index in plan.destroys_on_failure:
                await _destroy(dispatcher, plan.name, creds)
            code = load_error(cmd, exc.code)
            if code == exc.code:
                raise
            raise CommandError(code, str(exc)) from None


async def _send(dispatcher: Dispatcher, cmd: c.ClientCommand, creds: Credentials) -> None:
    """One command; a user-space probe's binary goes with it as liblttng-ctl opens it."""
    if not isinstance(cmd, c.EnableEvent) or cmd.location is None:
        await dispatcher.process(cmd, creds)
        return
    try:
        fd = os.open(cmd.location.binary_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise CommandError(ErrorCode.PROBE_LOCATION_INVAL, str(exc)) from None
    try:
        await dispatcher.process(dataclasses.replace(cmd, fds=(fd,)), creds)
    finally:
        os.close(fd)


async def _destroy(dispatcher: Dispatcher, name: str, creds: Credentials) -> None:
    try:
        await dispatcher.process(c.DestroySession(name, Domain()), creds)
    except CommandError as exc:
        if exc.code != ErrorCode.SESS_NOT_FOUND:
            raise
