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
from collections.abc import Iterator
from dataclasses import dataclass, field

from pylttng.protocol.client import commands as c
from pylttng.protocol.client.constants import (
    ErrorCode,
    SessionDescriptorOutputType,
    SessionDescriptorType,
    UriDstType,
)
from pylttng.protocol.client.messages import CreateSessionArgs, Domain, SessionDescriptor, Uri

from .config_values import LoadError, boolean, find, text, uint
from .session_load_domain import domain_commands

_UNSET_MAX_SIZE = (1 << 64) - 1  # a snapshot output's size when the file gives none
# enum lttng_rotation_schedule_type
_ROTATION_TYPES = {"size_threshold": 0, "periodic": 1}


@dataclass
class SessionPlan:
    """One session: its commands in the order liblttng-ctl sends them; those after
    `created` undo the session on failure (process_session_node()'s `end:`)."""

    name: str
    commands: list[c.ClientCommand] = field(default_factory=list)
    created: int = 0


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
    name_node = find(node, "name")
    if name_node is None:
        raise LoadError("a session without a name")
    plan = SessionPlan(text(name_node))
    started = find(node, "started")
    attributes = find(node, "attributes")
    snapshot = live = False
    rotations: list[tuple[int, int]] = []
    for attribute in attributes if attributes is not None else ():
        if attribute.tag == "snapshot_mode":
            snapshot = boolean(attribute)
        elif attribute.tag == "live_timer_interval":
            live = uint(attribute) != 0
        elif attribute.tag == "rotation_schedules":
            rotations += _rotations(attribute)
    if live:
        raise LoadError("live sessions stream to a relay daemon, which is not provided")
    output = find(node, "output")
    plan.commands += _create(plan.name, output, snapshot)
    plan.created = len(plan.commands[:1])
    shm_path = find(node, "shared_memory_path")
    if shm_path is not None:
        plan.commands.append(c.SetSessionShmPath(plan.name, Domain(), text(shm_path)))
    domains = find(node, "domains")
    for domain in domains if domains is not None else ():
        plan.commands += domain_commands(plan.name, domain)
    for schedule_type, value in rotations:
        plan.commands.append(c.RotationSetSchedule(plan.name, Domain(), schedule_type, True,
                                                   value))
    if started is None or boolean(started):  # started = -1 when absent: start
        plan.commands.append(c.StartTrace(plan.name, Domain()))
    return plan


def _rotations(node: ET.Element) -> Iterator[tuple[int, int]]:
    """process_session_rotation_schedules_node()."""
    for schedule in node:
        if schedule.tag not in _ROTATION_TYPES or len(schedule) != 1:
            raise LoadError(f"rotation schedule <{schedule.tag}>")
        yield _ROTATION_TYPES[schedule.tag], uint(schedule[0])


def _destination(consumer_output: ET.Element) -> str:
    """process_consumer_output(): a local path; a network one is not provided."""
    destination = find(consumer_output, "destination")
    target = destination[0] if destination is not None and len(destination) else None
    if target is None:
        raise LoadError("a consumer output without a destination")
    if target.tag != "path":
        raise LoadError("network outputs stream to a relay daemon, which is not provided")
    return text(target).removeprefix("file://")


def _create(name: str, output: ET.Element | None, snapshot: bool) -> list[c.ClientCommand]:
    """create_session() / create_snapshot_session(): lttng_create_session(name, path) or
    lttng_create_session_snapshot(name, NULL) and one add-output per snapshot output."""
    if snapshot:
        create = _create_command(name, SessionDescriptorType.SNAPSHOT, "")
        outputs = find(output, "snapshot_outputs") if output is not None else None
        return [create, *(_snapshot_output(name, o) for o in outputs or ())]
    path = ""
    if output is not None:
        consumer_output = find(output, "consumer_output")
        if consumer_output is None:
            raise LoadError("a session output that is not a <consumer_output>")
        path = _destination(consumer_output)
    return [_create_command(name, SessionDescriptorType.REGULAR, path)]


def _create_command(name: str, kind: SessionDescriptorType, path: str) -> c.CreateSession:
    output = SessionDescriptorOutputType.LOCAL if path else SessionDescriptorOutputType.NONE
    uris = (Uri(dtype=UriDstType.PATH, dst=path),) if path else ()
    descriptor = SessionDescriptor(type=kind, output_type=output, name=name, uris=uris)
    return c.CreateSession(name, Domain(), CreateSessionArgs(None, descriptor))


def _snapshot_output(session: str, node: ET.Element) -> c.SnapshotAddOutput:
    name, max_size, path = "", _UNSET_MAX_SIZE, ""
    for child in node:
        if child.tag == "name":
            name = text(child)
        elif child.tag == "max_size":
            max_size = uint(child)
        else:
            path = _destination(child)
    output = c.SnapshotOutput(name=name, max_size=max_size, ctrl_url=path)
    return c.SnapshotAddOutput(session, Domain(), output)





