"""SAVE_SESSION: write sessions' configurations where `lttng load` finds them.

The policy of cmd_save_sessions() and save_session() of src/bin/lttng-sessiond/save.c
(lttng-tools 2.13): one session by name or every session the client may reach, each in
`<dir>/<name>.lttng`, `<dir>` being the client's URL or `~/.lttng/sessions` of the
client's passwd entry (utils_get_user_home_dir(): not $LTTNG_HOME), made and written
with the client's rights. The document itself is session_xml's.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import pwd

import trio
from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import ErrorCode

from .context import Credentials, DaemonContext
from .errors import CommandError
from .run_as import WriteFailure, write_as, write_file
from .session import Session
from .session_xml import session_document

log = logging.getLogger("pylttng.sessiond.save")

PATH_MAX = 4096  # LTTNG_PATH_MAX: config_file_path's size
SESSIONS_DIR = ".lttng/sessions"  # DEFAULT_SESSION_HOME_CONFIGPATH under the home
CONFIG_EXTENSION = ".lttng"  # DEFAULT_SESSION_CONFIG_FILE_EXTENSION


async def handle_save(ctx: DaemonContext, cmd: c.SaveSession, creds: Credentials) -> r.Answer:
    """cmd_save_sessions(). omit_name and omit_output are `lttng load`'s business: the
    stock daemon's save ignores them too."""
    if cmd.save_name:
        session = ctx.sessions.get(cmd.save_name)
        if session is None:
            raise CommandError(ErrorCode.SESS_NOT_FOUND)
        await save_session(ctx, session, cmd, creds)
        return r.Done()
    for session in ctx.sessions.all():
        try:
            await save_session(ctx, session, cmd, creds)
        except CommandError as exc:
            # Saving everything skips the sessions of other users, and only those.
            if exc.code != ErrorCode.EPERM:
                raise
    return r.Done()


def config_dir(url: str, uid: int) -> str:
    """The client's path, else ~/.lttng/sessions of the client's passwd entry."""
    if url:
        return url
    try:
        home = pwd.getpwuid(uid).pw_dir
    except KeyError:
        raise CommandError(ErrorCode.SET_URL, f"no home directory for uid {uid}") from None
    return f"{home}/{SESSIONS_DIR}"


async def save_session(
    ctx: DaemonContext, session: Session, cmd: c.SaveSession, creds: Credentials
) -> None:
    """save_session()."""
    if not ctx.can_access(creds, session.uid):
        raise CommandError(ErrorCode.EPERM)
    directory = config_dir(cmd.url, creds.uid)
    # The path, a '/', the name, the extension and its NUL must fit in PATH_MAX.
    if len(directory) >= PATH_MAX or (
        len(directory) + len(session.name) + 2 + len(CONFIG_EXTENSION) + 1 > PATH_MAX
    ):
        raise CommandError(ErrorCode.SET_URL, "configuration path too long")
    path = f"{directory}/{session.name}{CONFIG_EXTENSION}"
    document = session_document(session)
    # The root daemon's run-as worker takes the client's identity; a user's daemon
    # writes as itself (run_as_noworker()).
    as_client = os.geteuid() == 0 and creds.uid != 0
    writer = functools.partial(write_as, creds.uid, creds.gid) if as_client else write_file
    try:
        await trio.to_thread.run_sync(writer, directory, path, document, cmd.overwrite)
    except WriteFailure as failure:
        raise CommandError(_error_code(failure), f"{path}: {failure}") from None
    log.info("session %s saved in %s", session.name, path)


def _error_code(failure: WriteFailure) -> ErrorCode:
    """save_session(): a directory that cannot be made is a bad URL; an existing file
    is kept unless overwriting; EACCES on the file is a permission error."""
    if failure.step == "mkdir":
        return ErrorCode.SET_URL
    if failure.step == "open" and failure.errno == errno.EEXIST:
        return ErrorCode.SAVE_FILE_EXIST
    if failure.step == "open" and failure.errno == errno.EACCES:
        return ErrorCode.EPERM
    return ErrorCode.SAVE_IO_FAIL
