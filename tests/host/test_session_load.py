"""Session configurations read back (sessiond/session_load.py) and applied through the
dispatcher at start (sessiond/session_autoload.py, lttng-sessiond --load)."""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
from typing import Any

import pytest
from lxml import etree
from pylttng.protocol.client import commands as c
from pylttng.protocol.client.constants import (
    BufferType,
    DomainType,
    ErrorCode,
    EventContextType,
    EventOutput,
    EventType,
)
from pylttng.protocol.client.messages import (
    Channel,
    CreateSessionArgs,
    Domain,
    Event,
    EventContext,
    ProbeAttr,
    SessionDescriptor,
    Uri,
)
from pylttng.sessiond.config_values import LoadError
from pylttng.sessiond.context import Credentials, DaemonContext
from pylttng.sessiond.dispatch import Dispatcher
from pylttng.sessiond.errors import CommandError
from pylttng.sessiond.modprobe import TracerLoader
from pylttng.sessiond.session import SessionRegistry
from pylttng.sessiond.session_autoload import load_sessions
from pylttng.sessiond.session_load import parse_document
from pylttng.sessiond.session_xml import session_document
from test_sessiond_cli import OURS, UNSHARE, _daemon_env
from test_sessiond_protocol import FakeConsumer, FakeTracer

KERNEL = Domain(type=DomainType.KERNEL, buf_type=BufferType.GLOBAL)
ROOT = Credentials(pid=1, uid=0, gid=0)


class Tracer(FakeTracer):
    async def add_context(self, fd: int, kctx: int, **_: Any) -> None:
        self.calls.append(("CONTEXT", int(kctx)))


def dispatcher() -> tuple[Dispatcher, DaemonContext]:
    loader = TracerLoader(no_kernel=False, tracer=Tracer())  # type: ignore[arg-type]
    ctx = DaemonContext(sessions=SessionRegistry(), tracer=loader,
                        consumer=FakeConsumer())  # type: ignore[arg-type]
    return Dispatcher(ctx, is_root=True), ctx


def build(tmp: pathlib.Path) -> list[c.ClientCommand]:
    """What a user's `lttng` commands send: channels, every kind of kernel event but
    user-space probes (the fake tracer has no binary to read), a disabled one, contexts."""
    name = "built"
    desc = SessionDescriptor(name=name, output_type=1, uris=(Uri(dtype=3, dst=str(tmp)),))
    big = Channel(name="big", overwrite=1, subbuf_size=1 << 21, num_subbuf=8,
                  switch_timer_interval=500_000, read_timer_interval=200_000,
                  output=EventOutput.SPLICE, monitor_timer_interval=1_000_000)
    small = Channel(name="small", overwrite=0, subbuf_size=1 << 20, num_subbuf=4,
                    read_timer_interval=100_000, output=EventOutput.MMAP,
                    monitor_timer_interval=1_000_000)

    def enable(chan: str, event: Event) -> c.EnableEvent:
        return c.EnableEvent(name, KERNEL, chan, event)

    return [
        c.CreateSession(name, Domain(), CreateSessionArgs(None, desc)),
        c.EnableChannel(name, KERNEL, big),
        c.EnableChannel(name, KERNEL, small),
        enable("big", Event("sched_switch")),
        enable("big", Event("sched_process_fork")),
        c.DisableEvent(name, KERNEL, "big", Event("sched_process_fork")),
        enable("small", Event("openat", type=EventType.SYSCALL)),
        enable("small", Event("kp", type=EventType.PROBE,
                              probe=ProbeAttr(symbol_name="do_sys_openat2", offset=8))),
        enable("small", Event("kr", type=EventType.FUNCTION,
                              probe=ProbeAttr(symbol_name="vfs_read"))),
        c.AddContext(name, KERNEL, "big", EventContext(EventContextType.PID)),
        c.AddContext(name, KERNEL, "", EventContext(
            EventContextType.PERF_CPU_COUNTER, perf_type=1, perf_config=2,
            perf_name="perf_cpu_page_fault")),
    ]


def canonical(doc: bytes) -> tuple[object, ...]:
    """The document's tree, where channels and events come in any order."""
    def walk(e: etree._Element) -> tuple[object, ...]:
        children = [walk(child) for child in e]
        if e.tag in ("channels", "events"):
            children.sort(key=repr)
        return (e.tag, (e.text or "").strip(), tuple(children))
    return walk(etree.fromstring(doc))


async def test_save_load_save_is_the_same_document(tmp_path: pathlib.Path) -> None:
    first, ctx = dispatcher()
    for cmd in build(tmp_path / "trace"):
        await first.process(cmd, ROOT)
    saved = session_document(ctx.sessions.get("built"))  # type: ignore[arg-type]
    (tmp_path / "built.lttng").write_bytes(saved)

    second, ctx2 = dispatcher()
    await load_sessions(second, str(tmp_path / "built.lttng"))
    again = session_document(ctx2.sessions.get("built"))  # type: ignore[arg-type]
    # As with the stock tools, a round trip reverses the channels and the events.
    assert canonical(again) == canonical(saved)
    assert again != saved


def test_document_to_commands(tmp_path: pathlib.Path) -> None:
    doc = (b"<sessions><session><name>s</name><started>true</started><output>"
           b"<consumer_output><enabled>true</enabled><destination><path>/t/out</path>"
           b"</destination></consumer_output></output><domains><domain><type>KERNEL</type>"
           b"<buffer_type>GLOBAL</buffer_type><channels><channel><name>c</name>"
           b"<read_timer_interval>5</read_timer_interval><output_type>MMAP</output_type>"
           b"<events><event><name>on</name><enabled>true</enabled></event>"
           b"<event><name>off</name><enabled>false</enabled><type>SYSCALL</type></event>"
           b"</events><contexts><context><type>PROCNAME</type></context></contexts>"
           b"</channel></channels><process_attr_trackers><vpid_process_attr_tracker>"
           b"<process_attr_values><vpid><id>42</id></vpid></process_attr_values>"
           b"</vpid_process_attr_tracker></process_attr_trackers></domain></domains>"
           b"</session></sessions>")
    [plan] = parse_document(doc)
    kinds = [type(cmd).__name__ for cmd in plan.commands]
    assert kinds == ["CreateSession", "EnableChannel", "EnableEvent", "EnableEvent",
                     "DisableEvent", "EnableEvent", "AddContext", "TrackerSetPolicy",
                     "TrackerChangeValue", "StartTrace"]
    create, chan, on, off, disable, reenable = plan.commands[:6]
    assert isinstance(create, c.CreateSession)
    assert create.args.descriptor.uris[0].dst == "/t/out"
    assert isinstance(chan, c.EnableChannel)
    assert (chan.channel.read_timer_interval, chan.channel.output) == (5, EventOutput.MMAP)
    assert chan.channel.subbuf_size == 1 << 20  # lttng_channel_create()'s default
    assert isinstance(off, c.EnableEvent) and off.event.type == EventType.SYSCALL
    assert isinstance(disable, c.DisableEvent) and disable.event.type == EventType.ALL
    assert reenable is on
    track = plan.commands[8]
    assert isinstance(track, c.TrackerChangeValue) and track.value == 42


@pytest.mark.parametrize("doc, code", [
    ((b"<sessions><session><name>u</name><domains><domain><type>UST</type>"
      b"<buffer_type>PER_UID</buffer_type></domain></domains></session></sessions>"),
     ErrorCode.NO_UST),
    ((b"<sessions><session><name>n</name><output><consumer_output><enabled>true</enabled>"
      b"<destination><net_output><control_uri>tcp://h</control_uri><data_uri>tcp://h"
      b"</data_uri></net_output></destination></consumer_output></output></session>"
      b"</sessions>"), ErrorCode.LOAD_INVALID_CONFIG),
    (b"<sessions><session><name>x</name>", ErrorCode.LOAD_IO_FAIL),
    (b"<sessions><session/></sessions>", ErrorCode.LOAD_INVALID_CONFIG),
])
def test_what_cannot_be_loaded(doc: bytes, code: ErrorCode) -> None:
    with pytest.raises(LoadError) as failed:
        parse_document(doc)
    assert failed.value.code == code


async def test_a_failed_load_destroys_the_session(tmp_path: pathlib.Path) -> None:
    doc = (b"<sessions><session><name>f</name><domains><domain><type>KERNEL</type>"
           b"<buffer_type>GLOBAL</buffer_type><channels><channel><name>c</name>"
           b"<events><event><name>e</name><enabled>true</enabled><filter>x==1</filter>"
           b"</event></events></channel></channels></domain></domains></session>"
           b"</sessions>")
    (tmp_path / "failing.lttng").write_bytes(doc)
    (tmp_path / "ignored.txt").write_text("not a configuration")
    d, ctx = dispatcher()
    with pytest.raises(CommandError) as failed:
        await load_sessions(d, str(tmp_path))
    assert failed.value.code == ErrorCode.NOT_SUPPORTED  # kernel filters, not yet
    assert ctx.sessions.get("f") is None
    with pytest.raises(LoadError) as missing:
        await load_sessions(d, str(tmp_path / "nowhere"))
    assert missing.value.code == ErrorCode.INVALID


async def test_autoload_folder(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTTNG_HOME", str(tmp_path))
    auto = tmp_path / ".lttng" / "sessions" / "auto"
    auto.mkdir(parents=True)
    (auto / "a1.lttng").write_bytes(b"<sessions><session><name>a</name><started>false"
                                    b"</started></session></sessions>")
    # load_session_from_path() skips names no longer than ".lttng" and its NUL.
    (auto / "b.lttng").write_bytes(b"<sessions><session><name>b</name></session></sessions>")
    d, ctx = dispatcher()
    await load_sessions(d, None)
    assert ctx.sessions.get("b") is None
    loaded = ctx.sessions.get("a")
    assert loaded is not None and loaded.output_path == "" and not loaded.active


@pytest.mark.skipif(not (OURS and UNSHARE and os.geteuid() == 0),
                    reason="needs root, unshare and pylttng-sessiond")
def test_daemon_load_option(tmp_path: pathlib.Path) -> None:
    good = tmp_path / "good.lttng"
    good.write_bytes(b"<sessions><session><name>loaded</name><started>false</started>"
                     b"<output><consumer_output><enabled>true</enabled><destination>"
                     b"<path>/tmp/loaded-out</path></destination></consumer_output></output>"
                     b"</session></sessions>")
    daemon = f"{shlex.quote(str(OURS))} --daemonize --no-kernel"
    script = "\n".join([
        "mount -t tmpfs tmpfs /run",
        f"export HOME={shlex.quote(str(tmp_path))} LTTNG_HOME={shlex.quote(str(tmp_path))}",
        f"{daemon} --load {shlex.quote(str(tmp_path / 'nowhere'))}; echo missing-rc=$?",
        f"{daemon} --load {shlex.quote(str(good))}; echo good-rc=$?",
        "lttng list",
        "kill $(cat /var/run/lttng/lttng-sessiond.pid); sleep 0.5",
        "cat /run/lttng/pylttng-sessiond.log",
    ])
    done = subprocess.run([str(UNSHARE), "-m", "--propagation", "private", "bash", "-c", script],
                          capture_output=True, text=True, timeout=120, check=False,
                          env=_daemon_env())
    out = done.stdout
    for expected in ("missing-rc=1", "good-rc=0", "loaded [inactive]",
                     "Trace output: /tmp/loaded-out", "session load failed"):
        assert expected in out, out + done.stderr
