"""A session configuration document read back as the commands that recreate it.

`lttng load` and lttng-sessiond --load both run config_load_session() of liblttng-ctl
(src/common/config/session-config.c, lttng-tools 2.13): it walks the XML and sends the
session daemon ordinary commands (create, enable-channel, enable-event, add-context...).
This module and session_load_domain.py do the walk (process_session_node() and its
helpers) and return those commands, typed; session_autoload.py sends them through the
dispatcher. Pure: no I/O.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from pylttng.protocol.client import commands as c
from pylttng.protocol.client.constants import (
    ErrorCode,
    RotationScheduleType,
    SessionDescriptorOutputType,
    SessionDescriptorType,
    UriDstType,
)
from pylttng.protocol.client.messages import CreateSessionArgs, Domain, SessionDescriptor, Uri

from .config_values import LoadError, boolean, find, text, uint
from .relayd_url import parse_urls
from .session_load_domain import domain_commands

_UNSET_MAX_SIZE = (1 << 64) - 1  # a snapshot output's size when the file gives none
# process_session_rotation_schedules_node(): each schedule's element and its value's.
_SCHEDULES = {"periodic": (RotationScheduleType.PERIODIC, "time_us"),
              "size_threshold": (RotationScheduleType.SIZE_THRESHOLD, "bytes")}
_SESSION_CHILDREN = frozenset(
    ("name", "shared_memory_path", "domains", "started", "attributes", "output"))


@dataclass
class SessionPlan:
    """One session: its commands in the order liblttng-ctl sends them. A failure of those
    in `destroys_on_failure` (the domains' and the start) destroys the session
    (process_session_node()'s `end:`); a failed creation, shared memory path or rotation
    schedule leaves what was made, as liblttng-ctl does."""

    name: str
    commands: list[c.ClientCommand] = field(default_factory=list)
    destroys_on_failure: set[int] = field(default_factory=set)

    def add(self, commands: list[c.ClientCommand], *, destroys: bool = False) -> None:
        if destroys:
            self.destroys_on_failure.update(
                range(len(self.commands), len(self.commands) + len(commands)))
        self.commands += commands


@dataclass(frozen=True)
class _Destination:
    """process_consumer_output(): a local path, or the URLs of a relay daemon."""

    path: str = ""
    control: str = ""
    data: str = ""


def parse_document(document: bytes) -> list[SessionPlan]:
    """load_session_from_file(): every <session> of the document."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise LoadError(str(exc), ErrorCode.LOAD_IO_FAIL) from None
    if root.tag != "sessions":
        raise LoadError(f"<{root.tag}> is not <sessions>")
    return [_session(node) for node in root]


def _session(node: ET.Element) -> SessionPlan:
    """process_session_node()."""
    for child in node:
        if child.tag not in _SESSION_CHILDREN:
            raise LoadError(f"<{child.tag}> in <session>")
    name_node = find(node, "name")
    if name_node is None:
        raise LoadError("a session without a name")
    plan = SessionPlan(text(name_node))
    started = find(node, "started")
    attributes = find(node, "attributes")
    snapshot = False
    live = 0
    schedules: dict[RotationScheduleType, int] = {}
    for attribute in attributes if attributes is not None else ():
        if attribute.tag == "snapshot_mode":
            snapshot = boolean(attribute)
        elif attribute.tag == "live_timer_interval":
            live = uint(attribute)
        elif attribute.tag == "rotation_schedules":
            schedules.update(_rotation_schedules(attribute))
        else:
            raise LoadError(f"<{attribute.tag}> in <attributes>")
    output = find(node, "output")
    plan.add(_create_snapshot(plan.name, output) if snapshot else
             _create(plan.name, output, live))
    shm_path = find(node, "shared_memory_path")
    if shm_path is not None:
        plan.add([c.SetSessionShmPath(plan.name, Domain(), text(shm_path))])
    domains = find(node, "domains")
    for domain in domains if domains is not None else ():
        plan.add(domain_commands(plan.name, domain), destroys=True)
    # add_periodic_rotation(), then add_size_rotation(): a value of 0 sets none.
    for kind in (RotationScheduleType.PERIODIC, RotationScheduleType.SIZE_THRESHOLD):
        if schedules.get(kind):
            plan.add([c.RotationSetSchedule(plan.name, Domain(), kind, True, schedules[kind])])
    if started is None or boolean(started):  # started = -1 when absent: start
        plan.add([c.StartTrace(plan.name, Domain())], destroys=True)
    return plan


def _rotation_schedules(node: ET.Element) -> dict[RotationScheduleType, int]:
    """process_session_rotation_schedules_node(): the last value of each type."""
    if not len(node):
        raise LoadError("<rotation_schedules> without a schedule")  # session.xsd
    values: dict[RotationScheduleType, int] = {}
    for schedule in node:
        if schedule.tag not in _SCHEDULES:
            raise LoadError(f"rotation schedule <{schedule.tag}>")
        kind, value_tag = _SCHEDULES[schedule.tag]
        if not len(schedule) or schedule[0].tag != value_tag:
            raise LoadError(f"<{schedule.tag}> without <{value_tag}>")
        values[kind] = uint(schedule[0])
    return values


def _consumer_output(node: ET.Element) -> _Destination:
    """process_consumer_output(): <enabled> is read, and not used."""
    destination: _Destination | None = None
    for child in node:
        if child.tag == "enabled":
            boolean(child)
            continue
        target = child[0] if len(child) else None
        if target is None:
            raise LoadError("a consumer output without a destination")
        if target.tag == "path":
            destination = _Destination(path=text(target))
        else:
            destination = _net_output(target)
    return destination or _Destination()


def _net_output(node: ET.Element) -> _Destination:
    """get_net_output_uris(): a control URL, a data URL, or both."""
    control = data = ""
    for child in node:
        if child.tag == "control_uri":
            control = text(child)
        else:
            data = text(child)
    if not (control or data):
        raise LoadError("a network output without a URL")
    return _Destination(control=control, data=data)


def _create(name: str, output: ET.Element | None, live: int) -> list[c.ClientCommand]:
    """create_session(): lttng_create_session(name, path), or for a relay daemon
    lttng_create_session[_live](name, NULL) and lttng_set_consumer_url()."""
    destination = _Destination()
    if output is not None:
        consumer_output = output[0] if len(output) else None
        if consumer_output is None or consumer_output.tag != "consumer_output":
            raise LoadError("a session output that is not a <consumer_output>")
        destination = _consumer_output(consumer_output)
    control = destination.control or destination.data
    data = destination.data or destination.control
    if live and not control:
        raise LoadError("a live session without a network output")
    if not control:
        path = destination.path.removeprefix("file://")
        kind = SessionDescriptorOutputType.LOCAL if path else SessionDescriptorOutputType.NONE
        uris = (Uri(dtype=UriDstType.PATH, dst=path),) if path else ()
        return [_create_command(name, SessionDescriptor(
            type=SessionDescriptorType.REGULAR, output_type=kind, name=name, uris=uris))]
    if live:
        descriptor = SessionDescriptor(type=SessionDescriptorType.LIVE, name=name,
                                       live_timer_us=live)
    else:
        descriptor = SessionDescriptor(type=SessionDescriptorType.REGULAR, name=name)
    # create_session_net_output(): lttng_set_consumer_url(), which parses them.
    try:
        urls = parse_urls(control, data)
    except ValueError as exc:  # lttng_set_consumer_url() fails with LTTNG_ERR_INVALID
        raise LoadError(str(exc), ErrorCode.INVALID) from None
    return [_create_command(name, descriptor), c.SetConsumerUri(name, Domain(), urls)]


def _create_snapshot(name: str, output: ET.Element | None) -> list[c.ClientCommand]:
    """create_snapshot_session(): lttng_create_session_snapshot(name, NULL), then one
    lttng_snapshot_add_output() per output of the first child of <output>."""
    create = _create_command(name, SessionDescriptor(type=SessionDescriptorType.SNAPSHOT,
                                                     name=name))
    outputs = output[0] if output is not None and len(output) else ()
    return [create, *(_snapshot_output(name, o) for o in outputs)]


def _create_command(name: str, descriptor: SessionDescriptor) -> c.CreateSession:
    return c.CreateSession(name, Domain(), CreateSessionArgs(None, descriptor))


def _snapshot_output(session: str, node: ET.Element) -> c.SnapshotAddOutput:
    name, max_size = "", _UNSET_MAX_SIZE
    destination = _Destination()
    for child in node:
        if child.tag == "name":
            name = text(child)
        elif child.tag == "max_size":
            max_size = uint(child)
        else:
            destination = _consumer_output(child)
    if destination.path:
        output = c.SnapshotOutput(name=name, max_size=max_size,
                                  ctrl_url=destination.path.removeprefix("file://"))
    else:  # refused by pylttng-sessiond: local paths only
        output = c.SnapshotOutput(name=name, max_size=max_size, ctrl_url=destination.control,
                                  data_url=destination.data)
    return c.SnapshotAddOutput(session, Domain(), output)
