"""The kernel domain of a session configuration document read back as commands:
process_domain_node(), process_channel_attr_node(), process_event_node() and
process_context_node() of session-config.c (lttng-tools 2.13), which `lttng load` and
lttng-sessiond --load run; the trackers are session_load_trackers.py's. Pure: no I/O.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pylttng.protocol.client import commands as c
from pylttng.protocol.client.constants import (
    BufferType,
    DomainType,
    ErrorCode,
    EventContextType,
    EventOutput,
    EventType,
    LoglevelType,
)
from pylttng.protocol.client.messages import Domain, Event, EventContext, ProbeAttr
from pylttng.protocol.client.userspace_probe import (
    LocationType,
    LookupMethod,
    UserspaceProbeLocation,
    encode_location,
)

from .cmd_channels import default_kernel_channel
from .config_values import LoadError, boolean, choice, find, integer, text, uint
from .session_load_trackers import tracker_commands

LOGLEVEL_DEBUG = 14  # lttng_event_create(): the kernel and UST default log level
# get_context_type(): the names a context's <type> may hold.
_CONTEXT_NAMES: dict[str, int] = {
    t.name: t for t in EventContextType
    if t.name not in ("PERF_COUNTER", "PERF_CPU_COUNTER", "PERF_THREAD_COUNTER", "APP_CONTEXT")
}
# get_event_type(): KPROBE and KRETPROBE are older spellings of PROBE and FUNCTION.
_EVENT_TYPES: dict[str, int] = {t.name: int(t) for t in EventType} | {
    "KPROBE": EventType.PROBE, "KRETPROBE": EventType.FUNCTION}


def domain_commands(session: str, node: ET.Element) -> list[c.ClientCommand]:
    """process_domain_node(): every channel with its events and contexts, then the
    trackers."""
    kind, buffers = find(node, "type"), find(node, "buffer_type")
    if kind is None or buffers is None or text(kind) not in DomainType.__members__:
        raise LoadError("a domain without a known type and buffer type")
    if text(kind) != "KERNEL":
        raise LoadError(f"{text(kind)} domain: only the kernel domain is provided",
                        ErrorCode.NO_UST)
    if text(buffers) not in BufferType.__members__:
        raise LoadError(f"buffer type {text(buffers)!r}")
    domain = Domain(type=DomainType.KERNEL, buf_type=BufferType[text(buffers)])
    channels = find(node, "channels")
    if channels is None:
        return []  # nothing of the domain is read then, its trackers neither
    commands: list[c.ClientCommand] = []
    for channel in channels:
        commands += _channel(session, domain, channel)
    trackers = [child for child in node if child.tag in ("process_attr_trackers", "trackers")]
    if len(trackers) > 1:
        # The walk would read the first alone: refused, as its error message means to.
        raise LoadError("both <process_attr_trackers> and the legacy <trackers>")
    for tracker in trackers:
        commands += tracker_commands(session, domain, tracker)
    return commands


def _channel(session: str, domain: Domain, node: ET.Element) -> list[c.ClientCommand]:
    """process_channel_attr_node(), then enable-channel, the events and the contexts."""
    chan = default_kernel_channel()
    events: list[ET.Element] = []
    contexts: list[ET.Element] = []
    numbers = {"subbuffer_size": "subbuf_size", "subbuffer_count": "num_subbuf",
               "switch_timer_interval": "switch_timer_interval",
               "read_timer_interval": "read_timer_interval",
               "tracefile_size": "tracefile_size", "tracefile_count": "tracefile_count",
               "live_timer_interval": "live_timer_interval",
               "monitor_timer_interval": "monitor_timer_interval"}
    for child in node:
        if child.tag == "name":
            chan.name = text(child)
        elif child.tag == "enabled":
            chan.enabled = boolean(child)
        elif child.tag == "overwrite_mode":
            chan.overwrite = choice(child, {"DISCARD": 0, "OVERWRITE": 1})
        elif child.tag == "output_type":
            chan.output = choice(child, {"SPLICE": EventOutput.SPLICE,
                                          "MMAP": EventOutput.MMAP})
        elif child.tag in numbers:
            setattr(chan, numbers[child.tag], uint(child))
        elif child.tag == "blocking_timeout":
            chan.blocking_timeout = integer(child)
        elif child.tag == "events":
            events = list(child)
        else:  # contexts
            contexts = list(child)
    commands: list[c.ClientCommand] = [c.EnableChannel(session, domain, chan)]
    parsed = [_event(session, domain, chan.name, e) for e in events]
    # process_events_node(): create them all, disable every event of the channel, then
    # enable those the file says are enabled.
    commands += parsed
    if parsed:
        everything = Event(name="", type=EventType.ALL, loglevel=-1)
        commands.append(c.DisableEvent(session, domain, chan.name, everything))
    commands += [cmd for cmd in parsed if cmd.event.enabled]
    commands += [c.AddContext(session, domain, chan.name, _context(ctx)) for ctx in contexts]
    return commands


def _event(session: str, domain: Domain, channel: str, node: ET.Element) -> c.EnableEvent:
    """process_event_node(): an lttng_event_create() filled from the element."""
    event = Event(name="", type=EventType.TRACEPOINT, loglevel_type=LoglevelType.ALL,
                  loglevel=LOGLEVEL_DEBUG, enabled=0)
    location: UserspaceProbeLocation | None = None
    for child in node:
        if child.tag == "name":
            event.name = text(child)
        elif child.tag == "enabled":
            event.enabled = int(boolean(child))
        elif child.tag == "type":
            event.type = choice(child, _EVENT_TYPES)
        elif child.tag == "loglevel_type":
            event.loglevel_type = choice(child, {t.name: t for t in LoglevelType})
        elif child.tag == "loglevel":
            event.loglevel = integer(child)
        elif child.tag == "filter":
            event.filter_expression = text(child)
        elif child.tag == "exclusions":
            event.exclusions = [text(exclusion) for exclusion in child]
        elif child.tag == "attributes":
            location = _event_attributes(event, child)
    if location is not None:
        event.userspace_probe_location = encode_location(location)
    return c.EnableEvent(session, domain, channel, event, location)


def _event_attributes(event: Event, node: ET.Element) -> UserspaceProbeLocation | None:
    if not len(node):
        raise LoadError("empty event <attributes>")
    attributes = node[0]
    if attributes.tag == "probe_attributes":
        probe = ProbeAttr()
        for child in attributes:
            if child.tag == "address":
                probe.addr = uint(child)
            elif child.tag == "offset":
                probe.offset = uint(child)
            elif child.tag == "symbol_name":
                probe.symbol_name = text(child)
        event.probe = probe
        return None
    if attributes.tag == "function_attributes":
        if not len(attributes):
            raise LoadError("<function_attributes> without a symbol")
        event.function_symbol = text(attributes[0])
        return None
    fields = {child.tag: text(child) for child in attributes}
    lookups = {"userspace_probe_function_attributes": {"ELF": LookupMethod.FUNCTION_ELF,
                                                       "DEFAULT": LookupMethod.FUNCTION_ELF},
               "userspace_probe_tracepoint_attributes": {"SDT": LookupMethod.TRACEPOINT_SDT}}
    if attributes.tag not in lookups:
        raise LoadError(f"event attribute <{attributes.tag}>")
    lookup = lookups[attributes.tag].get(fields.get("lookup_method", ""))
    if lookup is None or "binary_path" not in fields:
        raise LoadError(f"<{attributes.tag}> without a known lookup method and a binary")
    if lookup == LookupMethod.TRACEPOINT_SDT:
        return UserspaceProbeLocation(LocationType.TRACEPOINT, lookup, fields["binary_path"],
                                      provider_name=fields.get("provider_name", ""),
                                      probe_name=fields.get("probe_name", ""))
    return UserspaceProbeLocation(LocationType.FUNCTION, lookup, fields["binary_path"],
                                  function_name=fields.get("function_name", ""))


def _context(node: ET.Element) -> EventContext:
    """process_context_node(): a kernel perf counter is a per-CPU one."""
    if not len(node):
        raise LoadError("empty <context>")
    child = node[0]
    if child.tag == "type":
        return EventContext(choice(child, _CONTEXT_NAMES))
    if child.tag == "perf":
        fields = {f.tag: f for f in child}
        return EventContext(
            EventContextType.PERF_CPU_COUNTER,
            perf_type=uint(fields["type"], (1 << 32) - 1) if "type" in fields else 0,
            perf_config=uint(fields["config"]) if "config" in fields else 0,
            perf_name=text(fields["name"]) if "name" in fields else "",
        )
    if child.tag == "app":
        fields_text = {f.tag: text(f) for f in child}
        return EventContext(EventContextType.APP_CONTEXT,
                            app_provider=fields_text.get("provider_name", ""),
                            app_name=fields_text.get("ctx_name", ""))
    raise LoadError(f"context <{child.tag}>")
