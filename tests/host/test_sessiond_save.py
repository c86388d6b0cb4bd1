"""SAVE_SESSION of pylttng-sessiond over the fake tracer: where the file goes, its mode,
the errors of save.c, and the client's rights when the root daemon writes for a user."""

from __future__ import annotations

import os
import pathlib
import pwd
import shutil
import stat
import tempfile

import pytest
from lxml import etree
from pylttng.protocol.client import commands as c
from pylttng.protocol.client import structs
from pylttng.protocol.client.constants import NAME_MAX, PATH_MAX, Command, ErrorCode
from pylttng.protocol.client.messages import Domain
from pylttng.sessiond import cmd_save
from pylttng.sessiond.context import Credentials, DaemonContext
from pylttng.sessiond.errors import CommandError
from pylttng.sessiond.session import Session, SessionRegistry
from test_sessiond_protocol import Harness, daemon  # noqa: F401  (the fixture)


def save_union(name: str = "", url: str = "", *, overwrite: bool = False) -> bytes:
    return bytes(structs.UnionSaveSession.build({
        "session_name": name.encode().ljust(NAME_MAX, b"\0"),
        "configuration_url": url.encode().ljust(PATH_MAX, b"\0"),
        "overwrite": int(overwrite), "omit_name": 0, "omit_output": 0,
    }))


async def save(harness: Harness, name: str = "", url: str = "", *,
               overwrite: bool = False) -> int:
    reply = await harness.ask(Command.SAVE_SESSION, union=save_union(name, url,
                                                                    overwrite=overwrite))
    return reply.ret_code


async def test_save_writes_the_session_where_asked(
        daemon: Harness, tmp_path: pathlib.Path) -> None:  # noqa: F811
    assert (await daemon.create("one", str(tmp_path / "t1"))).ret_code == ErrorCode.OK
    assert (await daemon.enable_event("one", "sched_switch")).ret_code == ErrorCode.OK
    where = tmp_path / "made" / "for" / "it"
    assert await save(daemon, "one", str(where)) == ErrorCode.OK
    saved = where / "one.lttng"
    root = etree.parse(str(saved)).getroot()
    assert root.findtext("session/name") == "one"
    assert root.findtext(".//channel/name") == "channel0"
    assert root.findtext(".//event/name") == "sched_switch"
    assert root.findtext(".//destination/path") == str(tmp_path / "t1")
    # Made as run-as does, with a umask of 0.
    assert stat.S_IMODE(saved.stat().st_mode) == 0o660
    for folder in (where, where.parent, where.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o770

    assert await save(daemon, "one", str(where)) == ErrorCode.SAVE_FILE_EXIST
    saved.write_text("old and longer than what replaces it " * 100)
    assert await save(daemon, "one", str(where), overwrite=True) == ErrorCode.OK
    assert etree.parse(str(saved)).getroot().findtext("session/name") == "one"
    assert await save(daemon, "nope", str(where)) == ErrorCode.SESS_NOT_FOUND
    # A directory that cannot be made: a bad URL.
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert await save(daemon, "one", str(blocker / "sub")) == ErrorCode.SET_URL
    assert await save(daemon, "one", "/" + "x" * (PATH_MAX - 10)) == ErrorCode.SET_URL


async def test_save_without_a_name_saves_every_session(
        daemon: Harness, tmp_path: pathlib.Path) -> None:  # noqa: F811
    for name in ("a", "b"):
        assert (await daemon.create(name, str(tmp_path / name))).ret_code == ErrorCode.OK
    assert await save(daemon, "", str(tmp_path / "all")) == ErrorCode.OK
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["a.lttng", "b.lttng"]


def test_default_folder_is_the_clients_passwd_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """utils_get_user_home_dir(): the passwd entry, whatever $HOME or $LTTNG_HOME say."""
    monkeypatch.setenv("LTTNG_HOME", "/nowhere")
    monkeypatch.setenv("HOME", "/nowhere")
    me = os.getuid()
    assert cmd_save.config_dir("", me) == f"{pwd.getpwuid(me).pw_dir}/.lttng/sessions"
    assert cmd_save.config_dir("/given", me) == "/given"


def context_with(session: Session) -> DaemonContext:
    sessions = SessionRegistry()
    sessions.add(session)
    return DaemonContext(sessions=sessions, tracer=None, consumer=None)


def save_command(name: str, url: str) -> c.SaveSession:
    return c.SaveSession("", Domain(), save_name=name, url=url, overwrite=False,
                         omit_name=False, omit_output=False)


async def test_other_users_sessions(tmp_path: pathlib.Path) -> None:
    theirs = Session(id=0, name="theirs", output_path="/t", creation_time=0, uid=4242, gid=4242)
    ctx = context_with(theirs)
    me = Credentials(pid=1, uid=4343, gid=4343)
    with pytest.raises(CommandError) as refused:
        await cmd_save.handle_save(ctx, save_command("theirs", str(tmp_path)), me)
    assert refused.value.code == ErrorCode.EPERM
    # Saving everything skips what the client may not reach.
    await cmd_save.handle_save(ctx, save_command("", str(tmp_path / "none")), me)
    assert not (tmp_path / "none").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the root daemon's run-as needs root")
async def test_root_daemon_writes_with_the_clients_rights(tmp_path: pathlib.Path) -> None:
    uid = gid = 4242
    ctx = context_with(Session(id=0, name="mine", output_path="/t", creation_time=0,
                               uid=uid, gid=gid))
    client = Credentials(pid=1, uid=uid, gid=gid)
    private = tmp_path / "private"  # 0700 root: the client may not make anything in it
    private.mkdir(mode=0o700)
    with pytest.raises(CommandError) as refused:
        await cmd_save.handle_save(ctx, save_command("mine", str(private / "s")), client)
    assert refused.value.code == ErrorCode.SET_URL
    # pytest's folders are root's alone: a sticky world-writable one the client reaches.
    shared = pathlib.Path(tempfile.mkdtemp(prefix="pylttng-save-"))
    shared.chmod(0o1777)
    try:
        await _saved_as_client(ctx, client, shared, uid, gid)
    finally:
        shutil.rmtree(shared)


async def _saved_as_client(ctx: DaemonContext, client: Credentials, shared: pathlib.Path,
                           uid: int, gid: int) -> None:
    await cmd_save.handle_save(ctx, save_command("mine", str(shared / "s")), client)
    saved = shared / "s" / "mine.lttng"
    for made in (saved, saved.parent):
        assert (made.stat().st_uid, made.stat().st_gid) == (uid, gid)
    assert etree.parse(str(saved)).getroot().findtext("session/name") == "mine"
    # The file is the client's own: not overwritten without being asked.
    with pytest.raises(CommandError) as exists:
        await cmd_save.handle_save(ctx, save_command("mine", str(shared / "s")), client)
    assert exists.value.code == ErrorCode.SAVE_FILE_EXIST
