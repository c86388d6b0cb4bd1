"""Process attribute trackers of pylttng-sessiond over the fake tracer: policies, values,
what the kernel is told, and the errors lttng-sessiond gives."""

from __future__ import annotations

import errno
import pathlib

from pylttng.protocol.client import structs
from pylttng.protocol.client.constants import Command, ErrorCode, ProcessAttr, TrackingPolicy
from test_sessiond_protocol import KERNEL, Harness, daemon  # noqa: F401  (the fixture)

PID, UID, USER_NAME, GID, GROUP_NAME = range(5)  # enum lttng_process_attr_value_type


def attr_union(attr: int, policy: int | None = None) -> bytes:
    if policy is None:
        return bytes(structs.UnionProcessAttr.build({"process_attr": attr}))
    return bytes(structs.UnionProcessAttrSetPolicy.build(
        {"process_attr": attr, "tracking_policy": policy}))


async def change(h: Harness, attr: int, value_type: int, value: int | str, *, add: bool = True
                 ) -> int:
    name = value.encode() + b"\0" if isinstance(value, str) else b""
    union = structs.UnionProcessAttrValue.build({
        "process_attr": attr, "value_type": value_type,
        "integral_value": 0 if isinstance(value, str) else value & ((1 << 64) - 1),
        "name_len": len(name),
    })
    cmd = (Command.PROCESS_ATTR_TRACKER_ADD_INCLUDE_VALUE if add
           else Command.PROCESS_ATTR_TRACKER_REMOVE_INCLUDE_VALUE)
    return (await h.ask(cmd, "t", KERNEL, bytes(union), name)).ret_code


async def policy(h: Harness, attr: int, new: int | None = None) -> int:
    if new is None:
        reply = await h.ask(Command.PROCESS_ATTR_TRACKER_GET_POLICY, "t", KERNEL, attr_union(attr))
        assert reply.ret_code == ErrorCode.OK
        return int.from_bytes(reply.payload, "little")
    reply = await h.ask(Command.PROCESS_ATTR_TRACKER_SET_POLICY, "t", KERNEL,
                        attr_union(attr, new))
    return reply.ret_code


async def inclusion_set(h: Harness, attr: int) -> tuple[int, bytes]:
    reply = await h.ask(Command.PROCESS_ATTR_TRACKER_GET_INCLUSION_SET, "t", KERNEL,
                        attr_union(attr))
    return reply.ret_code, reply.payload


def kernel_calls(h: Harness) -> list[tuple[object, ...]]:
    return [c for c in h.tracer.calls if c[0] in ("TRACK", "UNTRACK")]


async def test_pid_tracker(daemon: Harness, tmp_path: pathlib.Path) -> None:  # noqa: F811
    assert (await daemon.create("t", str(tmp_path / "t"))).ret_code == ErrorCode.OK
    for attr in ProcessAttr:
        assert await policy(daemon, attr) == TrackingPolicy.INCLUDE_ALL
    pid = ProcessAttr.PROCESS_ID
    assert (await inclusion_set(daemon, pid))[0] == (
        ErrorCode.PROCESS_ATTR_TRACKER_INVALID_TRACKING_POLICY)
    assert await change(daemon, pid, PID, 42) == (
        ErrorCode.PROCESS_ATTR_TRACKER_INVALID_TRACKING_POLICY)
    assert kernel_calls(daemon) == []

    assert await policy(daemon, pid, TrackingPolicy.INCLUDE_SET) == ErrorCode.OK
    assert await policy(daemon, pid, TrackingPolicy.INCLUDE_SET) == ErrorCode.OK  # no change
    assert await change(daemon, pid, PID, 42) == ErrorCode.OK
    assert await change(daemon, pid, PID, 42) == ErrorCode.PROCESS_ATTR_EXISTS
    assert await change(daemon, pid, UID, 42) == ErrorCode.INVALID  # not a pid value
    code, payload = await inclusion_set(daemon, pid)
    assert code == ErrorCode.OK
    assert payload == (1).to_bytes(4, "little") + PID.to_bytes(4, "little") + (42).to_bytes(
        8, "little")
    assert await change(daemon, pid, PID, 42, add=False) == ErrorCode.OK
    assert await change(daemon, pid, PID, 42, add=False) == ErrorCode.PROCESS_ATTR_MISSING
    assert await policy(daemon, pid, TrackingPolicy.INCLUDE_ALL) == ErrorCode.OK
    assert kernel_calls(daemon) == [
        ("UNTRACK", 0, -1),  # INCLUDE_SET starts from no pid at all
        ("TRACK", 0, 42),
        ("UNTRACK", 0, 42),
        ("TRACK", 0, -1),  # INCLUDE_ALL: every pid again
    ]


async def test_names_and_kernel_refusals(daemon: Harness, tmp_path: pathlib.Path  # noqa: F811
                                         ) -> None:
    assert (await daemon.create("t", str(tmp_path / "t"))).ret_code == ErrorCode.OK
    uid, gid = ProcessAttr.VIRTUAL_USER_ID, ProcessAttr.GROUP_ID
    assert await policy(daemon, uid, TrackingPolicy.INCLUDE_SET) == ErrorCode.OK
    assert await change(daemon, uid, USER_NAME, "root") == ErrorCode.OK
    assert await change(daemon, uid, USER_NAME, "no-such-user-xyz") == ErrorCode.USER_NOT_FOUND
    code, payload = await inclusion_set(daemon, uid)
    assert code == ErrorCode.OK and payload.endswith(b"root\0")  # listed as given
    assert await policy(daemon, gid, TrackingPolicy.INCLUDE_SET) == ErrorCode.OK
    assert await change(daemon, gid, GROUP_NAME, "no-such-group-xyz") == (
        ErrorCode.GROUP_NOT_FOUND)
    daemon.tracer.refuse_tracking = errno.EINVAL
    assert await change(daemon, gid, GID, 5) == ErrorCode.INVALID
    daemon.tracer.refuse_tracking = None
    assert (await inclusion_set(daemon, gid))[1] == (0).to_bytes(4, "little")  # rolled back
    assert kernel_calls(daemon) == [("UNTRACK", 3, -1), ("TRACK", 3, 0), ("UNTRACK", 4, -1)]
    assert await policy(daemon, gid, TrackingPolicy.EXCLUDE_ALL) == ErrorCode.OK
    assert kernel_calls(daemon)[-1] == ("UNTRACK", 4, -1)
    assert await policy(daemon, 9, TrackingPolicy.INCLUDE_ALL) == ErrorCode.INVALID
