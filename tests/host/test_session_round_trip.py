"""A session saved (session_xml.py), loaded back (session_load*.py through the dispatcher,
as lttng-sessiond --load does) and compared: what `lttng track`, --tracefile-size and
--tracefile-count, --monitor-timer, `lttng enable-rotation` and `lttng snapshot
add-output` made is made again, and saved again the same; every saved document is valid
against session.xsd."""

from __future__ import annotations

import pathlib

from lxml import etree
from pylttng.protocol.client import commands as c
from pylttng.protocol.client.constants import (
    EventOutput,
    ProcessAttr,
    RotationScheduleType,
    SessionDescriptorOutputType,
    SessionDescriptorType,
    TrackingPolicy,
    UriDstType,
)
from pylttng.protocol.client.messages import (
    Channel,
    CreateSessionArgs,
    Domain,
    Event,
    SessionDescriptor,
    Uri,
)
from pylttng.sessiond.cmd_trackers import VALUE_GID, VALUE_PID, VALUE_UID, VALUE_USER_NAME
from pylttng.sessiond.context import DaemonContext
from pylttng.sessiond.session import Session
from pylttng.sessiond.session_autoload import load_sessions
from pylttng.sessiond.session_xml import session_document
from test_session_load import KERNEL, ROOT, running, tracker_calls
from test_session_xml import schema  # noqa: F401  (the fixture)

PID, VPID, UID, VUID, GID, VGID = ProcessAttr


def session_of(ctx: DaemonContext, name: str) -> Session:
    session = ctx.sessions.get(name)
    assert session is not None
    return session


def create(name: str, path: str, kind: SessionDescriptorType = SessionDescriptorType.REGULAR
           ) -> c.CreateSession:
    output = SessionDescriptorOutputType.LOCAL if path else SessionDescriptorOutputType.NONE
    uris = (Uri(dtype=UriDstType.PATH, dst=path),) if path else ()
    desc = SessionDescriptor(type=kind, output_type=output, name=name, uris=uris)
    return c.CreateSession(name, Domain(), CreateSessionArgs(None, desc))


def save(ctx: DaemonContext, name: str, tmp: pathlib.Path, xsd: etree.XMLSchema) -> bytes:
    """The session's document, valid against session.xsd, written in tmp/<name>.lttng."""
    saved = session_document(session_of(ctx, name))
    assert xsd.validate(etree.fromstring(saved)), xsd.error_log
    (tmp / f"{name}.lttng").write_bytes(saved)
    return saved


def kernel_state(calls: list[tuple[object, ...]]) -> dict[object, set[object] | None]:
    """Each tracker's ids in the kernel after these calls; None: every id."""
    state: dict[object, set[object] | None] = {attr: None for attr in ProcessAttr}
    for what, attr, id_ in calls:
        if id_ == -1:
            state[attr] = None if what == "TRACK" else set()
        else:
            ids = state[attr]
            assert ids is not None
            (ids.add if what == "TRACK" else ids.discard)(id_)
    return state


def trackers(session: Session) -> dict[ProcessAttr, tuple[TrackingPolicy, list[object]]]:
    assert session.kernel is not None
    return {attr: (t.policy, list(t.values)) for attr, t in session.kernel.trackers.items()}


async def test_trackers_tracefiles_and_rotation_schedules(
        tmp_path: pathlib.Path, schema: etree.XMLSchema) -> None:  # noqa: F811
    name = "rt"
    files = Channel(name="files", overwrite=0, subbuf_size=1 << 20, num_subbuf=4,
                    read_timer_interval=200_000, output=EventOutput.SPLICE,
                    tracefile_size=1 << 22, tracefile_count=3, monitor_timer_interval=250_000)

    def policy(attr: ProcessAttr, new: TrackingPolicy) -> c.TrackerSetPolicy:
        return c.TrackerSetPolicy(name, KERNEL, attr, new)

    def track(attr: ProcessAttr, value_type: int, value: int | str) -> c.TrackerChangeValue:
        return c.TrackerChangeValue(name, KERNEL, True, attr, value_type, value)

    commands: list[c.ClientCommand] = [
        create(name, str(tmp_path / "trace")),
        c.EnableChannel(name, KERNEL, files),
        c.EnableEvent(name, KERNEL, "files", Event("sched_switch")),
        policy(PID, TrackingPolicy.INCLUDE_SET), track(PID, VALUE_PID, 42),
        track(PID, VALUE_PID, 7),
        policy(VUID, TrackingPolicy.INCLUDE_SET), track(VUID, VALUE_USER_NAME, "root"),
        track(VUID, VALUE_UID, 1000),
        policy(GID, TrackingPolicy.INCLUDE_SET), track(GID, VALUE_GID, 0),
        track(GID, VALUE_GID, 5), c.TrackerChangeValue(name, KERNEL, False, GID, VALUE_GID, 0),
        policy(VPID, TrackingPolicy.EXCLUDE_ALL),
        policy(VGID, TrackingPolicy.INCLUDE_SET),  # an empty set
        c.RotationSetSchedule(name, Domain(), RotationScheduleType.SIZE_THRESHOLD, True,
                              1 << 24),
        c.RotationSetSchedule(name, Domain(), RotationScheduleType.PERIODIC, True, 5_000_000),
    ]
    async with running() as (first, ctx), running() as (second, ctx2):
        for cmd in commands:
            await first.process(cmd, ROOT)
        original = session_of(ctx, name)
        saved = save(ctx, name, tmp_path, schema)
        await load_sessions(second, str(tmp_path / f"{name}.lttng"))
        loaded = session_of(ctx2, name)

        want = trackers(original)
        # An empty inclusion set is saved as no value, which `lttng load` reads back as
        # excluding everyone (process_id_tracker_node()): the kernel is told the same.
        assert want[VGID] == (TrackingPolicy.INCLUDE_SET, [])
        want[VGID] = (TrackingPolicy.EXCLUDE_ALL, [])
        assert trackers(loaded) == want
        assert want[VUID] == (TrackingPolicy.INCLUDE_SET,
                              [(VALUE_USER_NAME, "root"), (VALUE_UID, 1000)])
        assert want[GID] == (TrackingPolicy.INCLUDE_SET, [(VALUE_GID, 5)])
        assert want[UID] == (TrackingPolicy.INCLUDE_ALL, [])
        # The same tracker handlers ran, in the order of the file: pylttng.ko's trackers
        # end up the same, root's name resolved again.
        assert await tracker_calls(ctx2) == [
            ("UNTRACK", PID, -1), ("TRACK", PID, 42), ("TRACK", PID, 7),
            ("UNTRACK", VPID, -1),
            ("UNTRACK", VUID, -1), ("TRACK", VUID, 0), ("TRACK", VUID, 1000),
            ("UNTRACK", GID, -1), ("TRACK", GID, 5),
            ("UNTRACK", VGID, -1)]
        assert kernel_state(await tracker_calls(ctx2)) == kernel_state(
            await tracker_calls(ctx))

        assert loaded.kernel is not None and original.kernel is not None
        [chan] = loaded.kernel.channels
        assert (chan.attr.tracefile_size, chan.attr.tracefile_count,
                chan.attr.monitor_timer_interval) == (1 << 22, 3, 250_000)
        assert chan.attr == original.kernel.channels[0].attr
        assert (loaded.rotation.timer_period_us, loaded.rotation.size_bytes) == (
            5_000_000, 1 << 24)
        assert loaded.rotation.size_watch is not None  # the size schedule runs
        assert loaded.output_path == original.output_path
        # One channel, one event: nothing is reordered, the document is the same.
        assert session_document(loaded) == saved


async def test_snapshot_outputs(tmp_path: pathlib.Path,
                                schema: etree.XMLSchema) -> None:  # noqa: F811
    ring = Channel(name="ring", overwrite=1, subbuf_size=1 << 18, num_subbuf=8,
                   output=EventOutput.MMAP, monitor_timer_interval=1_000_000)
    commands: list[c.ClientCommand] = [
        # `lttng create --snapshot -o DIR`: the default output, snapshot-1.
        create("auto", str(tmp_path / "auto"), SessionDescriptorType.SNAPSHOT),
        c.EnableChannel("auto", KERNEL, ring),
        c.EnableEvent("auto", KERNEL, "ring", Event("sched_switch")),
        # `lttng create --snapshot --no-output; lttng snapshot add-output -n mine -m 16M`.
        create("mine", "", SessionDescriptorType.SNAPSHOT),
        c.SnapshotAddOutput("mine", Domain(), c.SnapshotOutput(
            name="mine", max_size=1 << 24, ctrl_url=str(tmp_path / "snaps"))),
        c.EnableChannel("mine", KERNEL, ring),
        # `lttng create --snapshot --no-output`: no output at all.
        create("none", "", SessionDescriptorType.SNAPSHOT),
    ]
    async with running() as (first, ctx), running() as (second, ctx2):
        for cmd in commands:
            await first.process(cmd, ROOT)
        for name in ("auto", "mine", "none"):
            saved = save(ctx, name, tmp_path, schema)
            await load_sessions(second, str(tmp_path / f"{name}.lttng"))
            original, loaded = session_of(ctx, name), session_of(ctx2, name)
            assert loaded.snapshot_mode and not loaded.output_traces
            assert [(o.name, o.max_size, o.path) for o in loaded.snapshot_outputs] == [
                (o.name, o.max_size, o.path) for o in original.snapshot_outputs]
            assert session_document(loaded) == saved  # one channel: nothing reordered
        outputs = {name: [(o.name, o.max_size, o.path)
                          for o in session_of(ctx2, name).snapshot_outputs]
                   for name in ("auto", "mine", "none")}
        assert outputs == {"auto": [("snapshot-1", 0, str(tmp_path / "auto"))],
                           "mine": [("mine", 1 << 24, str(tmp_path / "snaps"))],
                           "none": []}
