"""Session configurations read back (sessiond/session_load.py) and applied through the
dispatcher at start (sessiond/session_autoload.py, lttng-sessiond --load)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shlex
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
from lxml import etree
from pylttng.protocol.client import commands as c
from pylttng.protocol.client.constants import (
    BufferType,
    DomainType,
    ErrorCode,
    EventContextType,
    EventOutput,
    EventType,
    ProcessAttr,
    RotationScheduleType,
    TrackingPolicy,
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
from pylttng.sessiond.cmd_trackers import VALUE_PID, VALUE_UID, VALUE_USER_NAME
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


def dispatcher(nursery: trio.Nursery | None = None) -> tuple[Dispatcher, DaemonContext]:
    loader = TracerLoader(no_kernel=False, tracer=Tracer())  # type: ignore[arg-type]
    ctx = DaemonContext(sessions=SessionRegistry(), tracer=loader,
                        consumer=FakeConsumer(), nursery=nursery)  # type: ignore[arg-type]
    return Dispatcher(ctx, is_root=True), ctx


@contextlib.asynccontextmanager
async def running() -> AsyncIterator[tuple[Dispatcher, DaemonContext]]:
    """A dispatcher whose context runs background tasks (rotation schedules)."""
    async with trio.open_nursery() as nursery:
        yield dispatcher(nursery)
        nursery.cancel_scope.cancel()


async def tracker_calls(ctx: DaemonContext) -> list[tuple[object, ...]]:
    """What the kernel's trackers were told."""
    tracer = await ctx.tracer.get()
    assert isinstance(tracer, Tracer)
    return [call for call in tracer.calls if call[0] in ("TRACK", "UNTRACK")]


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


def session_doc(inner: bytes) -> bytes:
    return b"<sessions><session><name>x</name>" + inner + b"</session></sessions>"


@pytest.mark.parametrize("doc, code", [
    ((b"<sessions><session><name>u</name><domains><domain><type>UST</type>"
      b"<buffer_type>PER_UID</buffer_type></domain></domains></session></sessions>"),
     ErrorCode.NO_UST),
    (b"<sessions><session><name>x</name>", ErrorCode.LOAD_IO_FAIL),
    (b"<sessions><session/></sessions>", ErrorCode.LOAD_INVALID_CONFIG),
    # What session.xsd refuses, `lttng load` refuses before walking the document.
    (session_doc(b"<colour>red</colour>"), ErrorCode.LOAD_INVALID_CONFIG),
    (session_doc(b"<attributes><hourly/></attributes>"), ErrorCode.LOAD_INVALID_CONFIG),
    (session_doc(b"<attributes><rotation_schedules><hourly/></rotation_schedules>"
                 b"</attributes>"), ErrorCode.LOAD_INVALID_CONFIG),
    (session_doc(b"<attributes><rotation_schedules><periodic/></rotation_schedules>"
                 b"</attributes>"), ErrorCode.LOAD_INVALID_CONFIG),
    (session_doc(b"<attributes><rotation_schedules><periodic><time_us>soon</time_us>"
                 b"</periodic></rotation_schedules></attributes>"),
     ErrorCode.LOAD_INVALID_CONFIG),
    # A live session streams to a relay daemon: one without a network output is invalid.
    (session_doc(b"<attributes><live_timer_interval>100</live_timer_interval></attributes>"),
     ErrorCode.LOAD_INVALID_CONFIG),
])
def test_what_cannot_be_loaded(doc: bytes, code: ErrorCode) -> None:
    with pytest.raises(LoadError) as failed:
        parse_document(doc)
    assert failed.value.code == code


def kernel_session(body: bytes, trackers: bytes) -> bytes:
    return (b"<sessions><session><name>k</name><started>false</started><domains><domain>"
            b"<type>KERNEL</type><buffer_type>GLOBAL</buffer_type>" + body + trackers +
            b"</domain></domains></session></sessions>")


CHANNELS = b"<channels><channel><name>c</name></channel></channels>"


@pytest.mark.parametrize("trackers", [
    b"<process_attr_trackers><cgroup_process_attr_tracker/></process_attr_trackers>",
    b"<process_attr_trackers><pid_process_attr_tracker/></process_attr_trackers>",
    (b"<process_attr_trackers><pid_process_attr_tracker><process_attr_values><uid><id>1"
     b"</id></uid></process_attr_values></pid_process_attr_tracker></process_attr_trackers>"),
    (b"<process_attr_trackers><vpid_process_attr_tracker><process_attr_values><vpid><name>"
     b"init</name></vpid></process_attr_values></vpid_process_attr_tracker>"
     b"</process_attr_trackers>"),
    (b"<process_attr_trackers><uid_process_attr_tracker><process_attr_values><uid><id>x"
     b"</id></uid></process_attr_values></uid_process_attr_tracker></process_attr_trackers>"),
    b"<process_attr_trackers/><trackers/>",
    b"<trackers><pid_tracker/></trackers>",
])
def test_trackers_that_cannot_be_loaded(trackers: bytes) -> None:
    with pytest.raises(LoadError) as failed:
        parse_document(kernel_session(CHANNELS, trackers))
    assert failed.value.code == ErrorCode.LOAD_INVALID_CONFIG


def test_trackers_to_commands() -> None:
    """process_id_tracker_node() and process_legacy_pid_tracker_node(): the policy, then
    each value, cast as liblttng-ctl casts it; an empty set excludes everyone."""
    [plan] = parse_document(kernel_session(CHANNELS, (
        b"<process_attr_trackers>"
        b"<vgid_process_attr_tracker><process_attr_values/></vgid_process_attr_tracker>"
        b"<pid_process_attr_tracker><process_attr_values><pid><id>4294967295</id></pid>"
        b"<pid/><pid><id>42</id></pid></process_attr_values></pid_process_attr_tracker>"
        b"<uid_process_attr_tracker><process_attr_values><uid><name>root</name></uid>"
        b"<uid><id>-1</id></uid></process_attr_values></uid_process_attr_tracker>"
        b"</process_attr_trackers>")))
    tracking = [cmd for cmd in plan.commands
                if isinstance(cmd, c.TrackerSetPolicy | c.TrackerChangeValue)]
    assert [(type(t).__name__, t.process_attr, t.policy if isinstance(t, c.TrackerSetPolicy)
             else (t.value_type, t.value)) for t in tracking] == [
        ("TrackerSetPolicy", ProcessAttr.VIRTUAL_GROUP_ID, TrackingPolicy.EXCLUDE_ALL),
        ("TrackerSetPolicy", ProcessAttr.PROCESS_ID, TrackingPolicy.INCLUDE_SET),
        ("TrackerChangeValue", ProcessAttr.PROCESS_ID, (VALUE_PID, -1)),  # (pid_t)
        ("TrackerChangeValue", ProcessAttr.PROCESS_ID, (VALUE_PID, 42)),
        ("TrackerSetPolicy", ProcessAttr.USER_ID, TrackingPolicy.INCLUDE_SET),
        ("TrackerChangeValue", ProcessAttr.USER_ID, (VALUE_USER_NAME, "root")),
        ("TrackerChangeValue", ProcessAttr.USER_ID, (VALUE_UID, (1 << 32) - 1)),  # (uid_t)
    ]
    assert all(t.domain == KERNEL and t.session_name == "k" for t in tracking)
    assert all(t.add for t in tracking if isinstance(t, c.TrackerChangeValue))

    [legacy] = parse_document(kernel_session(CHANNELS, (
        b"<trackers><pid_tracker><targets><pid_target><pid>7</pid></pid_target>"
        b"<pid_target><pid>8</pid></pid_target></targets></pid_tracker></trackers>")))
    assert [(type(t).__name__, t.process_attr) for t in legacy.commands
            if isinstance(t, c.TrackerSetPolicy | c.TrackerChangeValue)] == [
        ("TrackerSetPolicy", ProcessAttr.PROCESS_ID),
        ("TrackerChangeValue", ProcessAttr.PROCESS_ID),
        ("TrackerChangeValue", ProcessAttr.PROCESS_ID)]
    assert [t.value for t in legacy.commands if isinstance(t, c.TrackerChangeValue)] == [7, 8]
    [empty] = parse_document(kernel_session(CHANNELS, (
        b"<trackers><pid_tracker><targets/></pid_tracker></trackers>")))
    assert [t.policy for t in empty.commands if isinstance(t, c.TrackerSetPolicy)] == [
        TrackingPolicy.EXCLUDE_ALL]

    # process_domain_node() reads nothing of a domain without <channels>.
    [bare] = parse_document(kernel_session(b"", (
        b"<process_attr_trackers><pid_process_attr_tracker><process_attr_values/>"
        b"</pid_process_attr_tracker></process_attr_trackers>")))
    assert [type(cmd).__name__ for cmd in bare.commands] == ["CreateSession"]


def test_rotation_schedules_to_commands() -> None:
    """process_session_rotation_schedules_node(): the last value of each type; the
    periodic schedule added before the size one, after the domains, before the start."""
    [plan] = parse_document(
        b"<sessions><session><name>r</name><attributes><rotation_schedules>"
        b"<size_threshold><bytes>4096</bytes></size_threshold>"
        b"<periodic><time_us>7</time_us></periodic><periodic><time_us>9</time_us></periodic>"
        b"</rotation_schedules></attributes><output><consumer_output><enabled>true</enabled>"
        b"<destination><path>/t/r</path></destination></consumer_output></output>"
        b"<domains><domain><type>KERNEL</type><buffer_type>GLOBAL</buffer_type>"
        b"<channels><channel><name>c</name></channel></channels></domain></domains>"
        b"</session></sessions>")
    assert [type(cmd).__name__ for cmd in plan.commands] == [
        "CreateSession", "EnableChannel", "RotationSetSchedule", "RotationSetSchedule",
        "StartTrace"]
    periodic, size = plan.commands[2:4]
    assert isinstance(periodic, c.RotationSetSchedule)
    assert isinstance(size, c.RotationSetSchedule)
    assert (periodic.schedule_type, periodic.set, periodic.value) == (
        RotationScheduleType.PERIODIC, True, 9)
    assert (size.schedule_type, size.set, size.value) == (
        RotationScheduleType.SIZE_THRESHOLD, True, 4096)
    # A failed schedule leaves the session; a failed channel or start destroys it.
    assert plan.destroys_on_failure == {1, 4}
    [zero] = parse_document(
        b"<sessions><session><name>z</name><attributes><rotation_schedules><periodic>"
        b"<time_us>0</time_us></periodic></rotation_schedules></attributes></session>"
        b"</sessions>")
    assert [type(cmd).__name__ for cmd in zero.commands] == ["CreateSession", "StartTrace"]


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


STOPPED = b"<started>false</started>"
NET = (b"<consumer_output><enabled>true</enabled><destination><net_output><control_uri>"
       b"tcp://relay:5342</control_uri><data_uri>tcp://relay:5343</data_uri></net_output>"
       b"</destination></consumer_output>")


def tracked(values: bytes) -> bytes:
    return kernel_session(CHANNELS, b"<process_attr_trackers><uid_process_attr_tracker>"
                          b"<process_attr_values>" + values + b"</process_attr_values>"
                          b"</uid_process_attr_tracker></process_attr_trackers>")


@pytest.mark.parametrize("doc, code, left", [
    # A relay daemon host name that does not resolve: SET_CONSUMER_URI fails after the
    # creation, which stays (create_session() fails, process_session_node() does not
    # destroy).
    (b"<sessions><session><name>k</name>" + STOPPED + b"<output>" + NET + b"</output>"
     b"</session></sessions>", ErrorCode.INVALID, True),
    (b"<sessions><session><name>k</name>" + STOPPED + b"<attributes><live_timer_interval>"
     b"1000000</live_timer_interval></attributes><output>" + NET + b"</output></session>"
     b"</sessions>", ErrorCode.INVALID, True),
    (b"<sessions><session><name>k</name>" + STOPPED + b"<attributes><snapshot_mode>true"
     b"</snapshot_mode></attributes><output><snapshot_outputs><output><name>n</name>"
     b"<max_size>0</max_size>" + NET + b"</output></snapshot_outputs></output></session>"
     b"</sessions>", ErrorCode.INVALID, True),
    # A snapshot session rotates nothing: ROTATION_NOT_AVAILABLE, which
    # add_periodic_rotation() reports as UNK, leaving the session.
    (b"<sessions><session><name>k</name>" + STOPPED + b"<attributes><snapshot_mode>true"
     b"</snapshot_mode><rotation_schedules><periodic><time_us>1000000</time_us></periodic>"
     b"</rotation_schedules></attributes></session></sessions>", ErrorCode.UNK, True),
    # Tracker values: failures of the domain destroy the session.
    (tracked(b"<uid><id>5</id></uid><uid><id>5</id></uid>"),
     ErrorCode.PROCESS_ATTR_EXISTS, False),
    (tracked(b"<uid><name>no-such-user-xyz</name></uid>"), ErrorCode.UNK, False),
])
async def test_what_the_daemon_refuses_to_load(tmp_path: pathlib.Path, doc: bytes,
                                               code: ErrorCode, left: bool) -> None:
    (tmp_path / "k.lttng").write_bytes(doc)
    async with running() as (d, ctx):
        with pytest.raises(CommandError) as failed:
            await load_sessions(d, str(tmp_path / "k.lttng"))
        assert failed.value.code == code, failed.value
        assert (ctx.sessions.get("k") is not None) == left


@pytest.mark.parametrize("control, data, listed", [
    (b"tcp4://127.0.0.1:6342/sub/dir", b"tcp4://127.0.0.1:6343/",
     "tcp4://127.0.0.1:6342/sub/dir [data: 6343]"),
    (b"net://127.0.0.1", b"", "tcp4://127.0.0.1:5342/ [data: 5343]"),
    (b"net6://[::1]:7000:7001", b"", "tcp6://[::1]:7000/ [data: 7001]"),
    (b"tcp://localhost:6342", b"tcp://localhost:6343", "tcp4://127.0.0.1:6342/ [data: 6343]"),
])
async def test_relay_daemon_output_loads(tmp_path: pathlib.Path, control: bytes, data: bytes,
                                         listed: str) -> None:
    """What `lttng save` writes of a streamed session (and URLs as users write them)
    becomes the session's relay daemon output again; nothing connects before a
    kernel-domain command."""
    urls = b"<control_uri>" + control + b"</control_uri>"
    urls += b"<data_uri>" + data + b"</data_uri>" if data else b""
    (tmp_path / "k.lttng").write_bytes(
        b"<sessions><session><name>k</name>" + STOPPED + b"<output><consumer_output>"
        b"<enabled>true</enabled><destination><net_output>" + urls + b"</net_output>"
        b"</destination></consumer_output></output></session></sessions>")
    async with running() as (d, ctx):
        await load_sessions(d, str(tmp_path / "k.lttng"))
        loaded = ctx.sessions.get("k")
        assert loaded is not None and loaded.relayd is not None and loaded.output_path == ""
        assert loaded.list_path == listed


async def test_live_and_net_snapshot_sessions_load(tmp_path: pathlib.Path) -> None:
    """A live session gets its relay daemon with SET_CONSUMER_URI after its creation; a
    snapshot session's net:// output becomes a snapshot output on that relay daemon."""
    net = NET.replace(b"relay:", b"127.0.0.1:")
    (tmp_path / "lv.lttng").write_bytes(
        b"<sessions><session><name>lv</name>" + STOPPED + b"<attributes><live_timer_interval>"
        b"2000000</live_timer_interval></attributes><output>" + net + b"</output></session>"
        b"<session><name>sn</name>" + STOPPED + b"<attributes><snapshot_mode>true"
        b"</snapshot_mode></attributes><output><snapshot_outputs><output><name>n</name>"
        b"<max_size>0</max_size>" + net + b"</output></snapshot_outputs></output></session>"
        b"</sessions>")
    async with running() as (d, ctx):
        await load_sessions(d, str(tmp_path / "lv.lttng"))
        lv, sn = ctx.sessions.get("lv"), ctx.sessions.get("sn")
        assert lv is not None and lv.relayd is not None and lv.live_timer == 2_000_000
        assert lv.list_path == "tcp4://127.0.0.1:5342/ [data: 5343]"
        assert sn is not None and sn.relayd is None
        [out] = sn.snapshot_outputs
        assert out.name == "n" and out.path == "" and out.relayd is not None
        assert (out.relayd.control.url, out.relayd.data.port) == ("tcp4://127.0.0.1:5342/", 5343)


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
