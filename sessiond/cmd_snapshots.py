"""Flight-recorder snapshot commands: SNAPSHOT_ADD_OUTPUT, _DEL_OUTPUT, _LIST_OUTPUT and
_RECORD (cmd_snapshot_*() and snapshot_record() of cmd.c, snapshot.c and
kernel_snapshot_record() of kernel.c, lttng-sessiond 2.13).

A snapshot session's channels overwrite their oldest packets (cmd_channels.py makes them
mmap and overwrite by default); a snapshot asks the consumer daemon to copy what each
stream holds now into `<output>/<name>-<date>-<n>/kernel/`, with a metadata stream opened
for the occasion so that the copy is a whole trace.
"""

from __future__ import annotations

import logging
import time

from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.constants import ErrorCode

from .consumer_link import ConsumerError
from .context import DaemonContext
from .errors import CommandError
from .kernel_session import DEFAULT_METADATA_SUBBUF_NUM, DEFAULT_METADATA_SUBBUF_SIZE, close_fd
from .kernel_tracer import KernelTracerError
from .relayd_url import parse_url
from .session import KernelSession, Session, SnapshotOutput

log = logging.getLogger("pylttng.sessiond.snapshot")

DEFAULT_SNAPSHOT_NAME = "snapshot"  # src/common/defaults.h
_UNSET_MAX_SIZE = (1 << 64) - 1  # lttng_snapshot_output's max_size when not given


def _local_path(url: str) -> str:
    """The folder of a local snapshot URL (uri_parse_str_urls()); streaming to a relay
    daemon is not available.  A URL that does not parse is invalid, as uri_parse() finds."""
    path = url.removeprefix("file://")
    if path.startswith("/"):
        return path
    try:
        parse_url(url)
    except ValueError:
        raise CommandError(ErrorCode.INVALID, f"snapshot output {url!r}: not a URL") from None
    raise CommandError(ErrorCode.NOT_SUPPORTED, f"snapshot output {url!r}: local paths only")


def _output_name(name: str, output_id: int) -> str:
    return name or f"{DEFAULT_SNAPSHOT_NAME}-{output_id}"


def add_snapshot_output(session: Session, *, name: str, max_size: int, path: str) -> SnapshotOutput:
    """snapshot_output_init() + snapshot_add_output(): ids count from 1."""
    session.last_snapshot_output_id += 1
    output_id = session.last_snapshot_output_id
    output = SnapshotOutput(
        id=output_id,
        name=_output_name(name, output_id),
        max_size=0 if max_size == _UNSET_MAX_SIZE else max_size,
        path=path,
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
    added = add_snapshot_output(session, name=o.name, max_size=o.max_size,
                                path=_local_path(o.ctrl_url))
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
        targets = [
            SnapshotOutput(
                id=0,
                name=_output_name(given.name, 0),
                max_size=0 if given.max_size == _UNSET_MAX_SIZE else given.max_size,
                path=_local_path(given.ctrl_url),
            )
        ]
    else:
        targets = [
            SnapshotOutput(
                id=o.id,
                name=given.name or o.name,
                max_size=o.max_size if given.max_size == _UNSET_MAX_SIZE else given.max_size,
                path=o.path,
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
    fresh metadata stream, into one folder."""
    ksess = session.kernel
    if ksess is None or ksess.fd is None:
        raise CommandError(ErrorCode.NO_CHANNEL)
    max_packets = _packets_per_stream(ksess, target.max_size)
    trace_dir = f"{target.path}/{target.name}-{datetime}-{session.snapshots_taken}/kernel"
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
        lost = 0
        for chan in reversed(ksess.channels):
            for cpu, fd in enumerate(chan.stream_fds):
                lost += await link.snapshot_stream(
                    session_id=session.id,
                    fd=fd,
                    trace_dir=trace_dir,
                    file_name=f"{chan.name}_{cpu}",
                    metadata=False,
                    max_packets=max_packets,
                    owner=session.owner,
                )
        await link.snapshot_stream(
            session_id=session.id, fd=stream_fd, trace_dir=trace_dir,
            file_name="metadata", metadata=True, owner=session.owner,
        )
    except (ConsumerError, OSError) as exc:
        raise CommandError(ErrorCode.SNAPSHOT_FAIL, str(exc)) from None
    finally:
        close_fd(stream_fd)
        close_fd(metadata_fd)
    log.info("snapshot of %s recorded in %s (%d packets overwritten while read)",
             session.name, trace_dir, lost)
