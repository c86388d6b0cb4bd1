"""The process attribute trackers of a kernel domain read back as the tracker commands
`lttng track` sends: process_id_tracker_node() and process_legacy_pid_tracker_node() of
session-config.c (lttng-tools 2.13). Pure: no I/O.

A tracker element whose value set is empty excludes everyone, one with values includes
those (a tracker that includes everyone is not saved). The walk refuses what session.xsd
refuses, as `lttng load` validates the document before walking it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pylttng.protocol.client import commands as c
from pylttng.protocol.client.constants import ProcessAttr, TrackingPolicy
from pylttng.protocol.client.messages import Domain

from .cmd_trackers import VALUE_GID, VALUE_GROUP_NAME, VALUE_PID, VALUE_UID, VALUE_USER_NAME
from .config_values import LoadError, find, integer, text

# get_tracker_elements(): each tracker's element and the element of each of its values.
TRACKERS = {
    "pid_process_attr_tracker": (ProcessAttr.PROCESS_ID, "pid"),
    "vpid_process_attr_tracker": (ProcessAttr.VIRTUAL_PROCESS_ID, "vpid"),
    "uid_process_attr_tracker": (ProcessAttr.USER_ID, "uid"),
    "vuid_process_attr_tracker": (ProcessAttr.VIRTUAL_USER_ID, "vuid"),
    "gid_process_attr_tracker": (ProcessAttr.GROUP_ID, "gid"),
    "vgid_process_attr_tracker": (ProcessAttr.VIRTUAL_GROUP_ID, "vgid"),
}
# enum lttng_process_attr_value_type of an <id>, and of a <name> (users and groups only).
_ID_VALUE = {ProcessAttr.PROCESS_ID: VALUE_PID, ProcessAttr.VIRTUAL_PROCESS_ID: VALUE_PID,
             ProcessAttr.USER_ID: VALUE_UID, ProcessAttr.VIRTUAL_USER_ID: VALUE_UID,
             ProcessAttr.GROUP_ID: VALUE_GID, ProcessAttr.VIRTUAL_GROUP_ID: VALUE_GID}
_NAME_VALUE = {ProcessAttr.USER_ID: VALUE_USER_NAME, ProcessAttr.VIRTUAL_USER_ID: VALUE_USER_NAME,
               ProcessAttr.GROUP_ID: VALUE_GROUP_NAME,
               ProcessAttr.VIRTUAL_GROUP_ID: VALUE_GROUP_NAME}
_INT64 = (-(1 << 63), (1 << 63) - 1)  # strtoll() saturates there


def tracker_commands(session: str, domain: Domain, node: ET.Element) -> list[c.ClientCommand]:
    """The trackers of <process_attr_trackers>, or of the legacy (< 2.12) <trackers>, in
    the order of the document."""
    commands: list[c.ClientCommand] = []
    for tracker in node:
        if node.tag == "trackers" and tracker.tag == "pid_tracker":
            commands += _legacy_pid_tracker(session, domain, tracker)
        elif node.tag == "process_attr_trackers" and tracker.tag in TRACKERS:
            commands += _tracker(session, domain, tracker)
        else:
            raise LoadError(f"<{tracker.tag}> in <{node.tag}>")
    return commands


def _tracker(session: str, domain: Domain, node: ET.Element) -> list[c.ClientCommand]:
    """process_id_tracker_node()."""
    attr, value_tag = TRACKERS[node.tag]
    values = find(node, "process_attr_values")
    if values is None:
        raise LoadError(f"<{node.tag}> without <process_attr_values>")
    commands = _policy(session, domain, attr, values)
    for value in values:
        if value.tag != value_tag:
            raise LoadError(f"<{value.tag}> in <{node.tag}>")
        # An empty value element (session.xsd allows <pid/>) adds nothing.
        for child in value:
            if child.tag == "id":
                commands.append(_add(session, domain, attr, _ID_VALUE[attr], _id(attr, child)))
            elif child.tag == "name" and attr in _NAME_VALUE:
                commands.append(_add(session, domain, attr, _NAME_VALUE[attr], text(child)))
            else:
                raise LoadError(f"<{child.tag}> in <{value.tag}>")
    return commands


def _legacy_pid_tracker(session: str, domain: Domain, node: ET.Element
                        ) -> list[c.ClientCommand]:
    """process_legacy_pid_tracker_node(): <targets> of <pid_target>s holding a <pid>."""
    attr = ProcessAttr.PROCESS_ID  # the kernel domain's
    targets = find(node, "targets")
    if targets is None:
        raise LoadError("<pid_tracker> without <targets>")
    commands = _policy(session, domain, attr, targets)
    for target in targets:
        if target.tag != "pid_target":
            raise LoadError(f"<{target.tag}> in <targets>")
        for child in target:
            if child.tag != "pid":
                raise LoadError(f"<{child.tag}> in <pid_target>")
            commands.append(_add(session, domain, attr, VALUE_PID, _id(attr, child)))
    return commands


def _policy(session: str, domain: Domain, attr: ProcessAttr, values: ET.Element
            ) -> list[c.ClientCommand]:
    policy = TrackingPolicy.INCLUDE_SET if len(values) else TrackingPolicy.EXCLUDE_ALL
    return [c.TrackerSetPolicy(session, domain, attr, policy)]


def _add(session: str, domain: Domain, attr: ProcessAttr, value_type: int, value: int | str
         ) -> c.TrackerChangeValue:
    return c.TrackerChangeValue(session, domain, True, attr, value_type, value)


def _id(attr: ProcessAttr, node: ET.Element) -> int:
    """parse_int(), then the cast of the add function: (pid_t) for a process id, (uid_t)
    or (gid_t) for the others."""
    value = min(max(integer(node), _INT64[0]), _INT64[1]) & 0xFFFF_FFFF
    if attr in (ProcessAttr.PROCESS_ID, ProcessAttr.VIRTUAL_PROCESS_ID) and value >= 1 << 31:
        value -= 1 << 32
    return value
