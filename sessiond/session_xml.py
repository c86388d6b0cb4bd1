"""A session's configuration as lttng-sessiond 2.13 saves it: the XML document of
session.xsd that `lttng load` reads back.

The elements, their order and their values follow save_session() and the save_kernel_*()
functions of src/bin/lttng-sessiond/save.c; the element names and enumeration strings
are those of src/common/config/session-config.c. The layout is libxml2's text writer as
config_writer_create() sets it up (tab indentation, UTF-8 declaration), so that a file
saved by pylttng-sessiond reads like one saved by the stock daemon. Pure: no I/O.
"""

from __future__ import annotations

from xml.dom import minidom

from pylttng.protocol.client.constants import (
    ErrorCode,
    EventContextType,
    EventOutput,
    EventType,
    ProcessAttr,
    TrackingPolicy,
)
from pylttng.protocol.client.errors import ProtocolError
from pylttng.protocol.client.messages import Channel, Event, EventContext
from pylttng.protocol.client.userspace_probe import LocationType, LookupMethod, decode_location

from .errors import CommandError
from .session import KernelChannel, KernelEvent, KernelSession, Session

# get_kernel_context_type_string(): the contexts a kernel channel saves by name; the
# others a kernel channel cannot hold (save.c answers LTTNG_ERR_INVALID).
_KERNEL_CONTEXTS = frozenset(
    EventContextType[name]
    for name in (
        "PID", "PROCNAME", "PRIO", "NICE", "VPID", "TID", "VTID", "PPID", "VPPID", "HOSTNAME",
        "INTERRUPTIBLE", "PREEMPTIBLE", "NEED_RESCHEDULE", "MIGRATABLE", "CALLSTACK_USER",
        "CALLSTACK_KERNEL", "CGROUP_NS", "IPC_NS", "MNT_NS", "NET_NS", "PID_NS", "TIME_NS",
        "USER_NS", "UTS_NS", "UID", "EUID", "SUID", "GID", "EGID", "SGID", "VUID", "VEUID",
        "VSUID", "VGID", "VEGID", "VSGID",
    )
)
# Both are the kernel's LTTNG_KERNEL_ABI_CONTEXT_PERF_CPU_COUNTER, saved as <perf>.
_PERF_CONTEXTS = (EventContextType.PERF_COUNTER, EventContextType.PERF_CPU_COUNTER)
# get_kernel_instrumentation_string(): the config string of each kernel event type is
# the name of its lttng_event_type (session-config.c get_event_type() reads it back).
_KERNEL_EVENT_TYPES = (
    EventType.TRACEPOINT,
    EventType.PROBE,
    EventType.FUNCTION,
    EventType.FUNCTION_ENTRY,
    EventType.NOOP,
    EventType.SYSCALL,
    EventType.USERSPACE_PROBE,
)
_LOOKUP_NAMES = {
    LookupMethod.FUNCTION_DEFAULT: "DEFAULT",
    LookupMethod.FUNCTION_ELF: "ELF",
    LookupMethod.TRACEPOINT_SDT: "SDT",
}


# save_process_attr_tracker(): each tracker's element and its values' element, written in
# this order (save_process_attr_trackers(), the kernel domain).
_TRACKERS = (
    (ProcessAttr.PROCESS_ID, "pid"),
    (ProcessAttr.VIRTUAL_PROCESS_ID, "vpid"),
    (ProcessAttr.USER_ID, "uid"),
    (ProcessAttr.VIRTUAL_USER_ID, "vuid"),
    (ProcessAttr.GROUP_ID, "gid"),
    (ProcessAttr.VIRTUAL_GROUP_ID, "vgid"),
)
_UINT_MASK = (1 << 32) - 1  # ids are written as an unsigned int


_Parent = minidom.Element | minidom.Document


class _Writer:
    """config_writer_*(): elements holding text, booleans as true/false."""

    def __init__(self) -> None:
        self.doc = minidom.Document()

    def open(self, parent: _Parent, name: str) -> minidom.Element:
        element = self.doc.createElement(name)
        parent.appendChild(element)
        return element

    def text(self, parent: _Parent, name: str, value: str | int) -> None:
        # An empty text node keeps "<path></path>", as libxml2 writes an empty value.
        self.open(parent, name).appendChild(self.doc.createTextNode(str(value)))

    def boolean(self, parent: _Parent, name: str, value: bool | int) -> None:
        self.text(parent, name, "true" if value else "false")


def session_document(session: Session) -> bytes:
    """save_session(): <sessions> holding this one <session>."""
    w = _Writer()
    node = w.open(w.open(w.doc, "sessions"), "session")
    w.text(node, "name", session.name)
    if session.shm_path:
        w.text(node, "shared_memory_path", session.shm_path)
    _domains(w, node, session)
    w.boolean(node, "started", session.active)
    rot = session.rotation
    if session.snapshot_mode or session.live_timer or rot.timer_period_us or rot.size_bytes:
        attributes = w.open(node, "attributes")
        if session.snapshot_mode:
            w.boolean(attributes, "snapshot_mode", True)
        elif session.live_timer:
            w.text(attributes, "live_timer_interval", session.live_timer)
        if rot.timer_period_us or rot.size_bytes:
            _rotation_schedules(w, attributes, session)
    _output(w, node, session)
    return bytes(w.doc.toprettyxml(indent="\t", encoding="UTF-8"))


def _domains(w: _Writer, parent: minidom.Element, session: Session) -> None:
    """save_domains(): the kernel domain, when the session has one."""
    ksess = session.kernel
    if ksess is None:
        return
    domain = w.open(w.open(parent, "domains"), "domain")
    w.text(domain, "type", "KERNEL")
    w.text(domain, "buffer_type", "GLOBAL")
    channels = w.open(domain, "channels")
    for chan in ksess.channels:  # newest first, as the stock daemon's list
        _channel(w, channels, chan)
    _trackers(w, w.open(domain, "process_attr_trackers"), ksess)


def _trackers(w: _Writer, parent: minidom.Element, ksess: KernelSession) -> None:
    """save_process_attr_tracker() of each attribute: a tracker that includes all writes
    nothing, one that excludes all an empty set (what `lttng load` reads back as such),
    an inclusion set its values in the order they were added, each an <id> or a <name>
    as the user gave it."""
    for attr, value_tag in _TRACKERS:
        tracker = ksess.trackers[attr]
        if tracker.policy == TrackingPolicy.INCLUDE_ALL:
            continue
        node = w.open(parent, f"{value_tag}_process_attr_tracker")
        values = w.open(node, "process_attr_values")
        if tracker.policy != TrackingPolicy.INCLUDE_SET:
            continue
        for _, value in tracker.values:
            target = w.open(values, value_tag)
            if isinstance(value, str):
                w.text(target, "name", value)
            else:
                w.text(target, "id", value & _UINT_MASK)


def _rotation_schedules(w: _Writer, parent: minidom.Element, session: Session) -> None:
    """save_session_rotation_schedules(): the periodic one, then the size one."""
    rot = session.rotation
    schedules = w.open(parent, "rotation_schedules")
    if rot.timer_period_us:
        w.text(w.open(schedules, "periodic"), "time_us", rot.timer_period_us)
    if rot.size_bytes:
        w.text(w.open(schedules, "size_threshold"), "bytes", rot.size_bytes)


def _channel(w: _Writer, parent: minidom.Element, chan: KernelChannel) -> None:
    """save_kernel_channel(): the lttng_channel as the client gave it (its `enabled` too:
    disable-channel does not change it in lttng-sessiond 2.13), events, contexts."""
    attr: Channel = chan.attr
    node = w.open(parent, "channel")
    w.text(node, "name", attr.name)
    w.boolean(node, "enabled", attr.enabled)
    w.text(node, "overwrite_mode", "OVERWRITE" if attr.overwrite else "DISCARD")
    w.text(node, "subbuffer_size", attr.subbuf_size)
    w.text(node, "subbuffer_count", attr.num_subbuf)
    w.text(node, "switch_timer_interval", attr.switch_timer_interval)
    w.text(node, "read_timer_interval", attr.read_timer_interval)
    w.text(node, "output_type", "SPLICE" if attr.output == EventOutput.SPLICE else "MMAP")
    w.text(node, "tracefile_size", attr.tracefile_size)
    w.text(node, "tracefile_count", attr.tracefile_count)
    w.text(node, "live_timer_interval", attr.live_timer_interval)
    w.text(node, "monitor_timer_interval", attr.monitor_timer_interval)
    w.text(node, "blocking_timeout", attr.blocking_timeout)
    events = w.open(node, "events")
    for kevent in chan.events:
        _event(w, events, kevent)
    if chan.contexts:
        contexts = w.open(node, "contexts")
        for context in chan.contexts:
            _context(w, contexts, context)


def _event(w: _Writer, parent: minidom.Element, kevent: KernelEvent) -> None:
    """save_kernel_event()."""
    spec = kevent.spec
    if spec.type not in _KERNEL_EVENT_TYPES:
        raise CommandError(ErrorCode.INVALID, f"event {spec.name!r} of type {spec.type}")
    node = w.open(parent, "event")
    if spec.name:
        w.text(node, "name", spec.name)
    w.boolean(node, "enabled", spec.enabled)
    w.text(node, "type", EventType(spec.type).name)
    if spec.filter_expression is not None:
        w.text(node, "filter", spec.filter_expression)
    if spec.type in (EventType.PROBE, EventType.FUNCTION):
        _probe_attributes(w, w.open(node, "attributes"), spec)
    elif spec.type == EventType.FUNCTION_ENTRY:
        # save_kernel_function_event() writes <name>, where session.xsd says
        # <symbol_name>: such a file does not validate, with the stock daemon too.
        function = w.open(w.open(node, "attributes"), "function_attributes")
        w.text(function, "name", spec.function_symbol or "")
    elif spec.type == EventType.USERSPACE_PROBE:
        _userspace_probe_attributes(w, w.open(node, "attributes"), spec)


def _probe_attributes(w: _Writer, parent: minidom.Element, spec: Event) -> None:
    """save_kernel_kprobe_event(): an address, or a symbol and its offset if not 0."""
    probe = spec.probe
    if probe is None or not (probe.addr or probe.symbol_name):
        raise CommandError(ErrorCode.INVALID, f"probe {spec.name!r} has no location")
    node = w.open(parent, "probe_attributes")
    if probe.addr:
        w.text(node, "address", probe.addr)
        return
    w.text(node, "symbol_name", probe.symbol_name)
    if probe.offset:
        w.text(node, "offset", probe.offset)


def _userspace_probe_attributes(w: _Writer, parent: minidom.Element, spec: Event) -> None:
    """save_kernel_userspace_probe_event(): ELF functions and SDT tracepoints."""
    try:
        location = decode_location(spec.userspace_probe_location)
    except ProtocolError as exc:
        raise CommandError(ErrorCode.SAVE_IO_FAIL, str(exc)) from None
    if location.type == LocationType.FUNCTION:
        if location.lookup == LookupMethod.TRACEPOINT_SDT:
            raise CommandError(ErrorCode.INVALID, "function probe with an SDT lookup")
        node = w.open(parent, "userspace_probe_function_attributes")
        w.text(node, "lookup_method", _LOOKUP_NAMES[location.lookup])
        w.text(node, "binary_path", location.binary_path)
        w.text(node, "function_name", location.function_name)
        return
    if location.lookup != LookupMethod.TRACEPOINT_SDT:
        raise CommandError(ErrorCode.INVALID, "tracepoint probe without an SDT lookup")
    node = w.open(parent, "userspace_probe_tracepoint_attributes")
    w.text(node, "lookup_method", "SDT")
    w.text(node, "binary_path", location.binary_path)
    w.text(node, "provider_name", location.provider_name)
    w.text(node, "probe_name", location.probe_name)


def _context(w: _Writer, parent: minidom.Element, context: EventContext) -> None:
    """save_kernel_context(): a perf counter by type, config and name, others by name."""
    node = w.open(parent, "context")
    if context.ctx in _PERF_CONTEXTS:
        perf = w.open(node, "perf")
        w.text(perf, "type", context.perf_type)
        w.text(perf, "config", context.perf_config)
        w.text(perf, "name", context.perf_name)
        return
    if context.ctx not in _KERNEL_CONTEXTS:
        raise CommandError(ErrorCode.INVALID, f"kernel context {context.ctx}")
    w.text(node, "type", EventContextType(context.ctx).name)


def _output(w: _Writer, parent: minidom.Element, session: Session) -> None:
    """save_session_output(): the snapshot outputs of a snapshot session, else the
    session's consumer output (an empty path when it has none: --no-output)."""
    if session.snapshot_mode:
        if not session.snapshot_outputs:
            return
        outputs = w.open(w.open(parent, "output"), "snapshot_outputs")
        for snapshot in session.snapshot_outputs:
            node = w.open(outputs, "output")
            w.text(node, "name", snapshot.name)
            w.text(node, "max_size", snapshot.max_size)
            if snapshot.relayd is not None:
                _net_output(w, node, snapshot.relayd.control.url, snapshot.relayd.data.url)
            else:
                _consumer_output(w, node, snapshot.path)
        return
    if session.relayd is not None:
        _net_output(w, w.open(parent, "output"), session.relayd.control.url,
                    session.relayd.data.url)
        return
    _consumer_output(w, w.open(parent, "output"), session.output_path)


def _net_output(w: _Writer, parent: minidom.Element, control: str, data: str) -> None:
    """save_consumer_output() of a relay daemon destination: both URLs as
    uri_to_str_url() writes them."""
    node = w.open(parent, "consumer_output")
    w.boolean(node, "enabled", True)
    net = w.open(w.open(node, "destination"), "net_output")
    w.text(net, "control_uri", control)
    w.text(net, "data_uri", data)


def _consumer_output(w: _Writer, parent: minidom.Element, path: str) -> None:
    """save_consumer_output() of a local destination; the output stays enabled."""
    node = w.open(parent, "consumer_output")
    w.boolean(node, "enabled", True)
    w.text(w.open(node, "destination"), "path", path)
