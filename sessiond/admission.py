"""Who may use the root session daemon: root and the members of its tracing group.

The client socket is srw-rw---- root:<group> (daemon.py), so the kernel already keeps
everyone else out of connect(2). The daemon checks each connection's peer credentials too
(SO_PEERCRED for the uid and primary gid, SO_PEERGROUPS for the supplementary groups), so
that a connection handed over by a member, or one made by a user since removed from the
group, is refused as well.
"""

from __future__ import annotations

import grp
import logging
from dataclasses import dataclass

from .context import Credentials

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TracingGroup:
    name: str
    gid: int | None  # None: no such group, root alone may connect (main.c: set_permissions())

    @classmethod
    def lookup(cls, name: str) -> TracingGroup:
        try:
            return cls(name, grp.getgrnam(name).gr_gid)
        except KeyError:
            log.warning("no tracing group %r: only root may use the session daemon", name)
            return cls(name, None)

    def admits(self, creds: Credentials) -> bool:
        if creds.uid == 0:
            return True
        return self.gid is not None and (creds.gid == self.gid or self.gid in creds.groups)
