"""Flight-recorder snapshot commands: SNAPSHOT_ADD_OUTPUT, _DEL_OUTPUT, _LIST_OUTPUT and
_RECORD (cmd_snapshot_*() and snapshot_record() of cmd.c, snapshot.c and
kernel_snapshot_record() of kernel.c, lttng-sessiond 2.13).

A snapshot session's channels overwrite their oldest packets (cmd_channels.py makes them
mmap and overwrite by default); a snapshot asks the consumer daemon to copy what each
stream holds now into `<output>/<name>-<date>-<n>/kernel/`, with a metadata stream opened
for the occasion so that the copy is a whole trace; a net:// output gets it on its relay
daemon (snapshot_relayd.py), in `<host>/<session>-<date>/<name>-<date>-<n>/kernel/`.
Each data stream is split by its channel's trace file limits, locally from the file its
previous local snapshot ended in (KernelChannel.snapshot_files), on a relay daemon by the
relay daemon; one with a size but no count is not sent to a relay daemon.
"""

from __future__ import annotations

import logging
import time

from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import ErrorCode

from . import relayd_output
from .consumer_link import ConsumerError, ConsumerLink
from .context import DaemonContext
from .errors import CommandError
from .kernel_session import DEFAULT_METADATA_SUBBUF_NUM, DEFAULT_METADATA_SUBBUF_SIZE, close_fd
from .kernel_tracer import KernelTracerError
from .relayd_output import RelaydOutput
from .relayd_url import parse_urls
from .session import KernelSession, Session, SnapshotFiles, SnapshotOutput
from .snapshot_relayd import NetOutput, SnapshotSession, StreamToCopy, record_to_relayd

log = logging.getLogger("pylttng.sessiond.snapshot")

DEFAULT_SNAPSHOT_NAME = "snapshot"  # src/common/defaults.h
_UNSET_MAX_SIZE = (1 << 64) - 1  # lttng_snapshot_output's max_size when not given


async def _destination(ctrl_url: str, data_url: str) -> tuple[str, RelaydOutput | None]:
    """A snapshot output's folder, or its relay daemon (uri_parse_str_urls() of the control
    and data URLs, host names resolved); a URL that does not parse is invalid."""
    path = ctrl_url.removeprefix("file://")
    if path.startswith("/"):
        return path, None
    try:
        uris = parse_urls(ctrl_url, data_url)
    except ValueError:
        raise CommandError(ErrorCode.INVALID, f"snapshot output {ctrl_url!r}: not a URL") from None
    return "", relayd_output.from_uris(await relayd_output.resolve(uris))


def _output_name(name: str, output_id: int) -> str:
    return name or f"{DEFAULT_SNAPSHOT_NAME}-{output_id}"


def add_snapshot_output(session: Session, *, name: str, max_size: int, path: str,
                        relayd: RelaydOutput | None = None) -> SnapshotOutput:
    """snapshot_output_init() + snapshot_add_output(): ids count from 1."""
    session.last_snapshot_output_id += 1
    output_id = session.last_snapshot_output_id
    output = SnapshotOutput(
        id=output_id,
        name=_output_name(name, output_id),
        max_size=0 if max_size == _UNSET_MAX_SIZE else max_size,
        path=path,
        relayd=relayd,
    )
    session.snapshot_outputs.append(output)
    return output


def _check_snapshot_session(session: Session) -> None:
    if session.output_traces:
        raise CommandError(ErrorCode.NOT_SNAPSHOT_SESSION)


async def handle_add_output(
    ctx: DaemonContext, cmd: c.SnapshotAddOutput, session: Session
) -> r.Answer:
    _check_snapshot_session(session)
    if session.snapshot_outputs:
        raise CommandError(ErrorCode.SNAPSHOT_OUTPUT_EXIST)  # one output, as lttng 2.13
    o = cmd.output
    path, relayd = await _destination(o.ctrl_url, o.data_url)
    added = add_snapshot_output(session, name=o.name, max_size=o.max_size, path=path,
                                relayd=relayd)
    return r.SnapshotOutputAdded(added.id)


async def handle_del_output(
    ctx: DaemonContext, cmd: c.SnapshotDelOutput, session: Session
) -> r.Answer:
    _check_snapshot_session(session)
    o = cmd.output
    found = next(
        (
            out
            for out in session.snapshot_outputs
            if (o.id and out.id == o.id) or (not o.id and o.name and out.name == o.name)
        ),
        None,
    )
    if found is None:
        raise CommandError(ErrorCode.INVALID)
    session.snapshot_outputs.remove(found)
    return r.Done()


async def handle_list_outputs(
    ctx: DaemonContext, cmd: c.SnapshotListOutput, session: Session
) -> r.Answer:
    _check_snapshot_session(session)
    return r.SnapshotOutputList([
        c.SnapshotOutput(id=o.id, max_size=o.max_size, name=o.name, ctrl_url=o.path)
        if o.relayd is None else
        c.SnapshotOutput(id=o.id, max_size=o.max_size, name=o.name,
                         ctrl_url=o.relayd.control.url, data_url=o.relayd.data.url)
        for o in session.snapshot_outputs
    ])


async def handle_record(ctx: DaemonContext, cmd: c.SnapshotRecord, session: Session) -> r.Answer:
    """cmd_snapshot_record(): to the URL given, else to every output of the session."""
    _check_snapshot_session(session)
    if not session.has_been_started:
        raise CommandError(ErrorCode.START_SESSION_ONCE)
    datetime = time.strftime("%Y%m%d-%H%M%S", time.localtime())
    given = cmd.output
    if given.ctrl_url:
        path, relayd = await _destination(given.ctrl_url, given.data_url)
        targets = [
            SnapshotOutput(
                id=0,
                name=_output_name(given.name, 0),
                max_size=0 if given.max_size == _UNSET_MAX_SIZE else given.max_size,
                path=path,
                relayd=relayd,
            )
        ]
    else:
        targets = [
            SnapshotOutput(
                id=o.id,
                name=given.name or o.name,
                max_size=o.max_size if given.max_size == _UNSET_MAX_SIZE else given.max_size,
                path=o.path,
                relayd=o.relayd,
            )
            for o in session.snapshot_outputs
        ]
    if not targets:
        raise CommandError(ErrorCode.SNAPSHOT_FAIL, "the session has no snapshot output")
    for target in targets:
        await _record(ctx, session, target, datetime)
    session.snapshots_taken += 1
    return r.Done()


def _packets_per_stream(ksess: KernelSession, max_size: int) -> int:
    """get_session_nb_packets_per_stream(): how many of each stream's newest packets fit
    in max_size, counting every stream's sub-buffer size (0: all of them)."""
    if not max_size:
        return 0
    size_left = max_size
    packets = 0
    while True:
        one_more = sum(
            chan.attr.subbuf_size * len(chan.stream_fds)
            for chan in ksess.channels
            if packets < chan.attr.num_subbuf
        )
        if not one_more:
            break
        size_left -= one_more
        if size_left < 0:
            break
        packets += 1
    if not packets and size_left != max_size:
        raise CommandError(ErrorCode.MAX_SIZE_INVALID)
    return packets


async def _record(
    ctx: DaemonContext, session: Session, target: SnapshotOutput, datetime: str
) -> None:
    """snapshot_record() + kernel_snapshot_record(): every channel's streams, then a
    fresh metadata stream, into one folder: local, or on the output's relay daemon."""
    ksess = session.kernel
    if ksess is None or ksess.fd is None:
        raise CommandError(ErrorCode.NO_CHANNEL)
    if target.relayd is not None:
        relayd_output.refuse_trace_file_limits(session, "snapshot record")
    max_packets = _packets_per_stream(ksess, target.max_size)
    chunk_name = f"{target.name}-{datetime}-{session.snapshots_taken}"
    where = f"{target.path}/{chunk_name}/kernel"
    tracer = await ctx.tracer.get()
    link = await ctx.consumer.link()
    metadata_fd = stream_fd = None
    try:
        try:
            metadata_fd = await tracer.open_metadata(
                ksess.fd,
                subbuf_size=DEFAULT_METADATA_SUBBUF_SIZE,
                num_subbuf=DEFAULT_METADATA_SUBBUF_NUM,
            )
            stream_fd = tracer.create_stream(metadata_fd)
        except KernelTracerError as exc:
            raise CommandError(ErrorCode.KERN_META_FAIL, str(exc)) from None
        if stream_fd is None:
            raise CommandError(ErrorCode.KERN_META_FAIL, "no metadata stream")
        streams = [
            StreamToCopy(
                fd, f"{chan.name}_{cpu}", False, chan.attr.tracefile_size,
                chan.attr.tracefile_count, chan.snapshot_files.setdefault(cpu, SnapshotFiles()),
            )
            for chan in reversed(ksess.channels)
            for cpu, fd in enumerate(chan.stream_fds)
        ]
        streams.append(StreamToCopy(stream_fd, "metadata", True))
        if target.relayd is not None:
            where = f"{target.relayd.control.url} {chunk_name}"
            lost = await record_to_relayd(
                link, _snapshot_session(session, chunk_name), _net_output(target.relayd),
                streams, max_packets,
            )
        else:
            lost = await _record_local(link, session, where, streams, max_packets)
    except (ConsumerError, OSError) as exc:
        raise CommandError(ErrorCode.SNAPSHOT_FAIL, str(exc)) from None
    finally:
        close_fd(stream_fd)
        close_fd(metadata_fd)
    log.info("snapshot of %s recorded in %s (%d packets overwritten while read)",
             session.name, where, lost)


async def _record_local(
    link: ConsumerLink, session: Session, trace_dir: str, streams: list[StreamToCopy],
    max_packets: int,
) -> int:
    lost = 0
    for s in streams:
        files = s.files or SnapshotFiles()
        copied = await link.snapshot_stream(
            session_id=session.id,
            fd=s.fd,
            trace_dir=trace_dir,
            file_name=s.file_name,
            metadata=s.metadata,
            max_packets=0 if s.metadata else max_packets,
            owner=session.owner,
            tracefile_size=s.tracefile_size,
            tracefile_count=s.tracefile_count,
            tracefile_index=files.tracefile_index,
            indexed=files.indexed,
        )
        files.tracefile_index, files.indexed = copied.tracefile_index, copied.indexed
        lost += copied.lost_packets
    return lost


def _snapshot_session(session: Session, chunk_name: str) -> SnapshotSession:
    """The session on the relay daemon: the session's name, host and creation time, and
    the snapshot's trace chunk (session_create_new_trace_chunk() named after it)."""
    return SnapshotSession(
        session_id=session.id,
        session_name=session.name,
        hostname=session.hostname,
        creation_time=session.creation_time,
        chunk_id=session.snapshots_taken,
        chunk_name=chunk_name,
    )


def _net_output(out: RelaydOutput) -> NetOutput:
    return NetOutput(out.control.endpoint(), out.data.endpoint(), out.base_path)
