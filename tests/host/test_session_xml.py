"""The session configuration writer (sessiond/session_xml.py): what save.c of lttng-tools
2.13 writes, valid against the session.xsd that Debian's lttng-tools installs."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from pylttng.protocol.client.constants import (
    ErrorCode,
    EventContextType,
    EventOutput,
    EventType,
    ProcessAttr,
    TrackingPolicy,
)
from pylttng.protocol.client.messages import Channel, Event, EventContext, ProbeAttr
from pylttng.protocol.client.userspace_probe import (
    LocationType,
    LookupMethod,
    UserspaceProbeLocation,
    decode_location,
    encode_location,
)
from pylttng.sessiond.cmd_trackers import VALUE_PID, VALUE_UID, VALUE_USER_NAME
from pylttng.sessiond.errors import CommandError
from pylttng.sessiond.session import (
    KernelChannel,
    KernelEvent,
    KernelSession,
    Session,
    SnapshotOutput,
)
from pylttng.sessiond.session_xml import session_document

XSD = Path("/usr/share/xml/lttng/session.xsd")


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    assert XSD.is_file(), "session.xsd comes with Debian's lttng-tools (make deps)"
    return etree.XMLSchema(etree.parse(str(XSD)))


def session(name: str = "s", output: str = "/t/s-20260101-000000", **kw: object) -> Session:
    return Session(id=0, name=name, output_path=output, creation_time=0, uid=0, gid=0,
                   **kw)


def channel(name: str, *events: KernelEvent, contexts: tuple[EventContext, ...] = (),
            **attr: object) -> KernelChannel:
    fields: dict[str, object] = {
        "enabled": True, "overwrite": 0, "subbuf_size": 1 << 20, "num_subbuf": 4,
        "switch_timer_interval": 0, "read_timer_interval": 200_000,
        "output": EventOutput.SPLICE, "monitor_timer_interval": 1_000_000}
    fields.update(attr)
    return KernelChannel(attr=Channel(name=name, **fields),
                         events=list(events), contexts=list(contexts))


def event(name: str, etype: int = EventType.TRACEPOINT, enabled: int = 1,
          **kw: object) -> KernelEvent:
    return KernelEvent(spec=Event(name=name, type=etype, enabled=enabled, **kw))


def parsed(doc: bytes, schema: etree.XMLSchema, *, valid: bool = True) -> etree._Element:
    root = etree.fromstring(doc)
    assert schema.validate(root) is valid, schema.error_log
    return root


def text(root: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in root.findall(path)]


def test_layout_is_the_stock_daemons(schema: etree.XMLSchema) -> None:
    """Byte for byte what lttng-sessiond 2.13.9 wrote for `lttng create s1; lttng save`."""
    doc = session_document(session("s1", "/tmp/stockhost/lttng-traces/s1-20261205-183429"))
    parsed(doc, schema)
    assert doc.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<sessions>\n\t<session>\n'
        "\t\t<name>s1</name>\n\t\t<started>false</started>\n\t\t<output>\n"
        "\t\t\t<consumer_output>\n\t\t\t\t<enabled>true</enabled>\n\t\t\t\t<destination>\n"
        "\t\t\t\t\t<path>/tmp/stockhost/lttng-traces/s1-20261205-183429</path>\n"
        "\t\t\t\t</destination>\n\t\t\t</consumer_output>\n\t\t</output>\n"
        "\t</session>\n</sessions>\n")


def test_no_output_and_snapshot_sessions(schema: etree.XMLSchema) -> None:
    # --no-output: the stock daemon keeps a local consumer output with an empty path.
    doc = session_document(session("n", ""))
    parsed(doc, schema)
    assert b"<path></path>" in doc
    snap = session("snap", "", snapshot_mode=True, snapshot_outputs=[
        SnapshotOutput(id=1, name="snapshot-1", max_size=0, path="/t/snap-1")])
    root = parsed(session_document(snap), schema)
    assert text(root, "session/attributes/snapshot_mode") == ["true"]
    out = "session/output/snapshot_outputs/output"
    assert text(root, f"{out}/name") == ["snapshot-1"]
    assert text(root, f"{out}/max_size") == ["0"]
    assert text(root, f"{out}/consumer_output/destination/path") == ["/t/snap-1"]
    snap.snapshot_outputs.clear()  # all deleted: no <output> at all
    assert parsed(session_document(snap), schema).find("session/output") is None


def test_channels_and_their_attributes(schema: etree.XMLSchema) -> None:
    s = session(shm_path="/dev/shm/x", active=True)
    s.kernel = KernelSession(channels=[
        channel("big", event("sched_switch"), overwrite=1, subbuf_size=1 << 21, num_subbuf=8,
                switch_timer_interval=5000, read_timer_interval=100, output=EventOutput.MMAP,
                monitor_timer_interval=0),
        channel("channel0", event("irq_handler_entry", enabled=0), enabled=False),
    ])
    root = parsed(session_document(s), schema)
    assert text(root, "session/shared_memory_path") == ["/dev/shm/x"]
    assert text(root, "session/started") == ["true"]
    assert text(root, "session/domains/domain/type") == ["KERNEL"]
    assert text(root, "session/domains/domain/buffer_type") == ["GLOBAL"]
    assert root.find("session/domains/domain/process_attr_trackers") is not None
    big, default = root.findall("session/domains/domain/channels/channel")
    assert [e.tag for e in big if e.tag not in ("events", "contexts")] == [
        "name", "enabled", "overwrite_mode", "subbuffer_size", "subbuffer_count",
        "switch_timer_interval", "read_timer_interval", "output_type", "tracefile_size",
        "tracefile_count", "live_timer_interval", "monitor_timer_interval", "blocking_timeout"]
    assert [e.text for e in big if e.tag not in ("events", "contexts")] == [
        "big", "true", "OVERWRITE", str(1 << 21), "8", "5000", "100", "MMAP", "0", "0", "0",
        "0", "0"]
    assert text(default, "enabled") == ["false"]
    assert text(default, "overwrite_mode") == ["DISCARD"]
    assert text(default, "output_type") == ["SPLICE"]
    assert text(default, "events/event/enabled") == ["false"]
    assert default.find("contexts") is None  # no context: no element


def test_event_types(schema: etree.XMLSchema) -> None:
    function = UserspaceProbeLocation(LocationType.FUNCTION, LookupMethod.FUNCTION_ELF,
                                      "/usr/bin/app", function_name="main")
    sdt = UserspaceProbeLocation(LocationType.TRACEPOINT, LookupMethod.TRACEPOINT_SDT,
                                 "/usr/bin/app", provider_name="prov", probe_name="probe")
    assert decode_location(encode_location(sdt)) == sdt
    s = session()
    s.kernel = KernelSession(channels=[channel(
        "c",
        event("sched_switch"),
        event("openat", EventType.SYSCALL),
        event("*", EventType.SYSCALL),
        event("kp", EventType.PROBE, probe=ProbeAttr(symbol_name="do_sys_open", offset=4)),
        event("kpa", EventType.PROBE, probe=ProbeAttr(addr=0xffffffff81000000)),
        event("kret", EventType.FUNCTION, probe=ProbeAttr(symbol_name="vfs_read")),
        event("up", EventType.USERSPACE_PROBE,
              userspace_probe_location=encode_location(function)),
        event("sdt", EventType.USERSPACE_PROBE, userspace_probe_location=encode_location(sdt)),
    )])
    root = parsed(session_document(s), schema)
    events = root.findall("session/domains/domain/channels/channel/events/event")
    assert [(e.findtext("name"), e.findtext("type")) for e in events] == [
        ("sched_switch", "TRACEPOINT"), ("openat", "SYSCALL"), ("*", "SYSCALL"),
        ("kp", "PROBE"), ("kpa", "PROBE"), ("kret", "FUNCTION"),
        ("up", "USERSPACE_PROBE"), ("sdt", "USERSPACE_PROBE")]
    attrs = {e.findtext("name"): e.find("attributes") for e in events}
    assert attrs["sched_switch"] is None and attrs["openat"] is None
    assert attrs["kp"][0].tag == "probe_attributes"
    assert [(c.tag, c.text) for c in attrs["kp"][0]] == [
        ("symbol_name", "do_sys_open"), ("offset", "4")]
    assert [(c.tag, c.text) for c in attrs["kpa"][0]] == [
        ("address", str(0xffffffff81000000))]
    assert [(c.tag, c.text) for c in attrs["kret"][0]] == [
        ("symbol_name", "vfs_read")]  # offset 0: not written
    up = attrs["up"][0]
    assert up.tag == "userspace_probe_function_attributes"
    assert [(c.tag, c.text) for c in up] == [
        ("lookup_method", "ELF"), ("binary_path", "/usr/bin/app"), ("function_name", "main")]
    tp = attrs["sdt"][0]
    assert tp.tag == "userspace_probe_tracepoint_attributes"
    assert [(c.tag, c.text) for c in tp] == [
        ("lookup_method", "SDT"), ("binary_path", "/usr/bin/app"), ("provider_name", "prov"),
        ("probe_name", "probe")]


def test_contexts(schema: etree.XMLSchema) -> None:
    s = session()
    s.kernel = KernelSession(channels=[channel("c", contexts=(
        EventContext(EventContextType.PID),
        EventContext(EventContextType.PROCNAME),
        EventContext(EventContextType.PERF_CPU_COUNTER, perf_type=0, perf_config=0,
                     perf_name="perf_cpu_cpu_cycles"),
        EventContext(EventContextType.PERF_COUNTER, perf_type=1, perf_config=2,
                     perf_name="perf_cpu_page_fault"),
        EventContext(EventContextType.CALLSTACK_KERNEL),
    ))])
    root = parsed(session_document(s), schema)
    contexts = root.findall("session/domains/domain/channels/channel/contexts/context")
    assert [c.findtext("type") for c in contexts] == [
        "PID", "PROCNAME", None, None, "CALLSTACK_KERNEL"]
    assert [(p.findtext("type"), p.findtext("config"), p.findtext("name"))
            for p in root.iter("perf")] == [
        ("0", "0", "perf_cpu_cpu_cycles"), ("1", "2", "perf_cpu_page_fault")]


def test_what_the_stock_xsd_lacks_is_saved_as_the_stock_daemon_does(
        schema: etree.XMLSchema) -> None:
    """save.c writes namespace and id contexts by name, though session.xsd 2.12 does not
    list them (`lttng load` of such a file fails validation with the stock tools too)."""
    s = session()
    s.kernel = KernelSession(channels=[channel("c", contexts=(
        EventContext(EventContextType.PID_NS), EventContext(EventContextType.VUID)))])
    root = parsed(session_document(s), schema, valid=False)
    assert text(root, ".//context/type") == ["PID_NS", "VUID"]


@pytest.mark.parametrize("kevent, context", [
    (None, EventContext(EventContextType.PTHREAD_ID)),   # user space only
    (None, EventContext(EventContextType.APP_CONTEXT)),
    (event("p", EventType.PROBE, probe=ProbeAttr()), None),  # no address nor symbol
])
def test_what_a_kernel_channel_cannot_hold_is_invalid(
        kevent: KernelEvent | None, context: EventContext | None) -> None:
    s = session()
    s.kernel = KernelSession(channels=[channel(
        "c", *([kevent] if kevent else []), contexts=(context,) if context else ())])
    with pytest.raises(CommandError) as failed:
        session_document(s)
    assert failed.value.code == ErrorCode.INVALID


def test_text_is_escaped(schema: etree.XMLSchema) -> None:
    root = parsed(session_document(session("a&b<c>", "/t/x & y")), schema)
    assert text(root, "session/name") == ["a&b<c>"]
    assert text(root, ".//path") == ["/t/x & y"]


def test_process_attr_trackers(schema: etree.XMLSchema) -> None:
    """save_process_attr_trackers(): pid, vpid, uid, vuid, gid, vgid in that order, those
    that include everyone left out, an excluding one as an empty set."""
    s = session()
    ksess = KernelSession(channels=[channel("c")])
    s.kernel = ksess
    trackers = ksess.trackers
    # Set in another order than the one written.
    trackers[ProcessAttr.VIRTUAL_GROUP_ID].policy = TrackingPolicy.EXCLUDE_ALL
    trackers[ProcessAttr.USER_ID].policy = TrackingPolicy.INCLUDE_SET
    trackers[ProcessAttr.USER_ID].values += [(VALUE_USER_NAME, "root"), (VALUE_UID, 1000)]
    trackers[ProcessAttr.PROCESS_ID].policy = TrackingPolicy.INCLUDE_SET
    trackers[ProcessAttr.PROCESS_ID].values += [(VALUE_PID, 42), (VALUE_PID, -1)]
    trackers[ProcessAttr.GROUP_ID].policy = TrackingPolicy.INCLUDE_SET  # an empty set
    trackers[ProcessAttr.VIRTUAL_PROCESS_ID].policy = TrackingPolicy.INCLUDE_ALL
    root = parsed(session_document(s), schema)
    node = root.find("session/domains/domain/process_attr_trackers")
    assert node is not None
    assert [t.tag for t in node] == ["pid_process_attr_tracker", "uid_process_attr_tracker",
                                     "gid_process_attr_tracker", "vgid_process_attr_tracker"]
    pid, uid, gid, vgid = node
    # save.c writes each id as an unsigned int.
    assert [[(c.tag, c.text) for c in v] for v in pid.find("process_attr_values")] == [
        [("id", "42")], [("id", str((1 << 32) - 1))]]
    assert [v.tag for v in pid.find("process_attr_values")] == ["pid", "pid"]
    uid_values = uid.find("process_attr_values")
    assert [(v.tag, [(c.tag, c.text) for c in v]) for v in uid_values] == [
        ("uid", [("name", "root")]), ("uid", [("id", "1000")])]
    assert [len(t.find("process_attr_values")) for t in (gid, vgid)] == [0, 0]
    # A session tracking everyone writes an empty <process_attr_trackers/>.
    for tracker in trackers.values():
        tracker.policy = TrackingPolicy.INCLUDE_ALL
    root = parsed(session_document(s), schema)
    assert len(root.find("session/domains/domain/process_attr_trackers")) == 0


def test_rotation_schedules(schema: etree.XMLSchema) -> None:
    s = session()
    s.rotation.size_bytes = 1 << 20
    root = parsed(session_document(s), schema)
    attributes = root.find("session/attributes")
    assert attributes is not None and [a.tag for a in attributes] == ["rotation_schedules"]
    assert [(e.tag, [(c.tag, c.text) for c in e]) for e in attributes[0]] == [
        ("size_threshold", [("bytes", str(1 << 20))])]
    s.rotation.timer_period_us = 5_000_000
    root = parsed(session_document(s), schema)
    # The periodic schedule first, whatever order they were set in.
    assert [(e.tag, [(c.tag, c.text) for c in e])
            for e in root.findall("session/attributes/rotation_schedules/*")] == [
        ("periodic", [("time_us", "5000000")]), ("size_threshold", [("bytes", str(1 << 20))])]
    # <attributes> comes between <started> and <output>, as save_session() writes it.
    assert [e.tag for e in root.find("session")] == ["name", "started", "attributes", "output"]
    s.rotation.timer_period_us = s.rotation.size_bytes = 0
    assert parsed(session_document(s), schema).find("session/attributes") is None


def test_tracefile_and_monitor_timer(schema: etree.XMLSchema) -> None:
    s = session()
    s.kernel = KernelSession(channels=[channel(
        "c", tracefile_size=1 << 22, tracefile_count=3, monitor_timer_interval=250_000,
        blocking_timeout=0)])
    root = parsed(session_document(s), schema)
    [chan] = root.findall("session/domains/domain/channels/channel")
    assert [chan.findtext(t) for t in ("tracefile_size", "tracefile_count",
                                       "monitor_timer_interval")] == [
        str(1 << 22), "3", "250000"]
