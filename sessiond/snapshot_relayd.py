"""Recording a snapshot to a relay daemon (a net:// snapshot output), the session daemon's
side: what lttng-sessiond 2.13 does in cmd.c: snapshot_record() for a network output.

Each record opens a snapshot session on the relay daemon through the consumer daemon
(set_relayd_for_snapshot(): CREATE_SESSION with the snapshot flag, the session's name,
hostname and creation time), whose one trace chunk is named "<output>-<date>-<n>"
(session_create_new_trace_chunk() with the snapshot's chunk name), so the relay daemon
writes <hostname>/<session>-<date>/<output>-<date>-<n>/kernel/; every stream is copied
there, then the session is closed, which closes the chunk as it is (NO_OPERATION).

The net:// URL itself (uri_parse_str_urls(): host, control and data ports, path) is
parsed as `lttng create -U` has it (relayd_url.py, relayd_output.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pylttng.consumerd.fs_identity import ROOT
from pylttng.protocol.consumer import RelaydEndpoint, RelaydSession

from .consumer_link import ConsumerLink
from .session import SnapshotFiles

DOMAIN_DIR = "kernel"  # the streams' folder in the chunk (consumer_output's domain_subdir)


@dataclass(frozen=True, slots=True)
class NetOutput:
    """A snapshot output on a relay daemon: its two ports and the URL's path."""

    control: RelaydEndpoint
    data: RelaydEndpoint
    base_path: str = ""


@dataclass(frozen=True, slots=True)
class StreamToCopy:
    fd: int
    file_name: str
    metadata: bool
    # The channel's --tracefile-size and --tracefile-count (metadata: neither).
    tracefile_size: int = 0
    tracefile_count: int = 0
    # A data stream's: where its next local snapshot starts, updated by each.
    files: SnapshotFiles | None = None


@dataclass(frozen=True, slots=True)
class SnapshotSession:
    """What names the snapshot on the relay daemon."""

    session_id: int
    session_name: str
    hostname: str
    creation_time: int  # the session's, seconds since the epoch
    chunk_id: int
    chunk_name: str  # "<output name>-<date>-<n>"


async def record_to_relayd(
    link: ConsumerLink,
    snap: SnapshotSession,
    output: NetOutput,
    streams: Sequence[StreamToCopy],
    max_packets: int,
) -> int:
    """Copy ``streams`` (metadata last, so that it describes every packet copied) to the
    relay daemon; returns the packets overwritten while read. Raises ConsumerError."""
    await link.relayd_session(
        RelaydSession(
            session_id=snap.session_id,
            control=output.control,
            data=output.data,
            session_name=snap.session_name,
            hostname=snap.hostname,
            base_path=output.base_path,
            creation_time=snap.creation_time,
            chunk_id=snap.chunk_id,
            snapshot=True,
            chunk_name=snap.chunk_name,
        )
    )
    lost = 0
    try:
        for s in streams:
            copied = await link.snapshot_stream(
                session_id=snap.session_id,
                fd=s.fd,
                trace_dir="",
                file_name=s.file_name,
                metadata=s.metadata,
                max_packets=0 if s.metadata else max_packets,
                relay_path=DOMAIN_DIR,
                owner=ROOT,  # the relay daemon writes the files, not the consumerd
                # The relay daemon splits them (a fresh stream there: from file 0).
                tracefile_size=s.tracefile_size,
                tracefile_count=s.tracefile_count,
            )
            lost += copied.lost_packets
    finally:
        await link.close_session(snap.session_id)
    return lost
