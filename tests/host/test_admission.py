"""sessiond/admission.py and the peer credentials it judges: root and the tracing group's
members are admitted, by primary or supplementary group; nobody else, and nobody at all
but root when the group does not exist."""

from __future__ import annotations

import os
import socket

import trio
from pylttng.sessiond.admission import TracingGroup
from pylttng.sessiond.client_server import _peer_credentials
from pylttng.sessiond.context import Credentials

TRACING = TracingGroup("tracing", 977)


def test_root_and_members_only() -> None:
    assert TRACING.admits(Credentials(pid=1, uid=0, gid=0))
    assert TRACING.admits(Credentials(pid=1, uid=1000, gid=977))
    assert TRACING.admits(Credentials(pid=1, uid=1000, gid=1000, groups=(24, 977)))
    assert not TRACING.admits(Credentials(pid=1, uid=1000, gid=1000, groups=(24, 25)))
    assert not TRACING.admits(Credentials(pid=1, uid=1000, gid=1000))


def test_no_group_means_root_alone() -> None:
    nobody = TracingGroup.lookup("pylttng-no-such-group")
    assert nobody.gid is None
    assert nobody.admits(Credentials(pid=1, uid=0, gid=0))
    assert not nobody.admits(Credentials(pid=1, uid=1000, gid=1000, groups=(0,)))


def test_peer_credentials_carry_the_supplementary_groups() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        creds = _peer_credentials(trio.socket.from_stdlib_socket(a))
    assert (creds.pid, creds.uid, creds.gid) == (os.getpid(), os.getuid(), os.getgid())
    assert sorted(creds.groups) == sorted(os.getgroups())
