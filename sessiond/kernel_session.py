"""The kernel side of a recording session's life: create, start, stop, destroy.

Mirrors create_kernel_session(), start_kernel_session(), stop_kernel_session(),
kernel_consumer_send_session() and kernel_destroy_session() of lttng-sessiond 2.13
(src/bin/lttng-sessiond/kernel.c, kernel-consumer.c, cmd.c): same ioctls, same order,
same lttng error codes.
"""

from __future__ import annotations

import logging
import os
import time

from pylttng.consumerd.fs_identity import acting_as
from pylttng.protocol.client.constants import ErrorCode, EventOutput
from pylttng.protocol.consumer import Output

from .consumer_link import ConsumerError
from .context import DaemonContext
from .errors import CommandError
from .kernel_tracer import KernelTracer, KernelTracerError
from .session import KernelSession, Session

# Where a kernel stream goes in a streamed session's trace chunk (consumer->domain_subdir).
KERNEL_RELAY_PATH = "kernel"

log = logging.getLogger("pylttng.sessiond.kernel")

# src/common/defaults.h: the metadata channel of a kernel session.
DEFAULT_METADATA_SUBBUF_SIZE = 4096
DEFAULT_METADATA_SUBBUF_NUM = 2


async def ensure_kernel_session(ctx: DaemonContext, session: Session) -> KernelSession:
    """create_kernel_session(): SESSION, then SET_NAME and SET_CREATION_TIME."""
    if session.kernel is not None:
        return session.kernel
    tracer = await ctx.tracer.get()
    try:
        fd = await tracer.create_session()
    except KernelTracerError as exc:
        raise CommandError(ErrorCode.KERN_SESS_FAIL, str(exc)) from None
    ksess = KernelSession(fd=fd)
    session.kernel = ksess
    ctx.consumer.start_soon()
    try:
        # The kernel gets "auto" for generated names: they already embed the date.
        tracer.session_set_name(fd, "auto" if session.auto_named else session.name)
        tracer.session_set_creation_time(fd, session.creation_time)
    except KernelTracerError as exc:
        log.warning("could not set the kernel session name or time of %s: %s", session.name, exc)
    return ksess


async def wait_quiescent(tracer: KernelTracer) -> None:
    try:
        await tracer.wait_quiescent()
    except KernelTracerError as exc:
        log.warning("wait quiescent failed: %s", exc)


def _stream(tracer: KernelTracer, channel_fd: int) -> int | None:
    try:
        return tracer.create_stream(channel_fd)
    except KernelTracerError as exc:
        raise CommandError(ErrorCode.KERN_STREAM_FAIL, str(exc)) from None


async def _open_streams(tracer: KernelTracer, session: Session, ksess: KernelSession) -> None:
    """The metadata channel and stream, then every channel's per-CPU streams."""
    assert ksess.fd is not None
    if ksess.metadata_fd is None and session.output_traces:
        try:
            ksess.metadata_fd = await tracer.open_metadata(
                ksess.fd,
                subbuf_size=DEFAULT_METADATA_SUBBUF_SIZE,
                num_subbuf=DEFAULT_METADATA_SUBBUF_NUM,
            )
        except KernelTracerError as exc:
            raise CommandError(ErrorCode.KERN_META_FAIL, str(exc)) from None
    if ksess.metadata_fd is not None and ksess.metadata_stream_fd is None:
        stream = _stream(tracer, ksess.metadata_fd)
        if stream is None:
            raise CommandError(ErrorCode.KERN_STREAM_FAIL, "no metadata stream")
        ksess.metadata_stream_fd = stream
    for chan in ksess.channels:
        if not chan.stream_fds:
            assert chan.fd is not None
            while (stream := _stream(tracer, chan.fd)) is not None:
                chan.stream_fds.append(stream)


async def start_kernel_session(ctx: DaemonContext, session: Session) -> None:
    """start_kernel_session(), plus handing new streams to the consumer daemon."""
    ksess = session.kernel
    assert ksess is not None and ksess.fd is not None
    tracer = await ctx.tracer.get()
    await _open_streams(tracer, session, ksess)
    if session.output_traces and not ksess.streams_sent:
        started = time.monotonic()
        await _send_streams(ctx, session, ksess)
        log.info("streams handed to the consumer in %.3f s", time.monotonic() - started)
    started = time.monotonic()
    try:
        await tracer.start_session(ksess.fd)
    except KernelTracerError as exc:
        raise CommandError(ErrorCode.KERN_START_FAIL, str(exc)) from None
    log.info("kernel session started in %.3f s", time.monotonic() - started)
    await wait_quiescent(tracer)
    ksess.active = True


async def _send_streams(ctx: DaemonContext, session: Session, ksess: KernelSession) -> None:
    """kernel_consumer_send_session(): metadata first, then every per-CPU stream."""
    link = await ctx.consumer.link()
    streamed = session.relayd is not None
    # A streamed session's stream files are the relay daemon's, under "kernel" of its
    # trace chunk; the consumer daemon reads them from the mmap whatever the channel's
    # output (the bytes sent are the same).
    relay_path = KERNEL_RELAY_PATH if streamed else ""
    trace_dir = KERNEL_RELAY_PATH if streamed else session.kernel_trace_dir
    try:
        if not streamed:
            with acting_as(session.owner):
                os.makedirs(trace_dir, mode=0o770, exist_ok=True)
        if ksess.metadata_stream_fd is not None:
            await link.add_stream(
                session_id=session.id,
                fd=ksess.metadata_stream_fd,
                trace_dir=trace_dir,
                file_name="metadata",
                metadata=True,
                output="mmap",
                relay_path=relay_path,
                owner=session.owner,
            )
        for chan in reversed(ksess.channels):
            mmap = streamed or chan.attr.output == EventOutput.MMAP
            output: Output = "mmap" if mmap else "splice"
            for cpu, fd in enumerate(chan.stream_fds):
                await link.add_stream(
                    session_id=session.id,
                    fd=fd,
                    trace_dir=trace_dir,
                    file_name=f"{chan.name}_{cpu}",
                    metadata=False,
                    output=output,
                    # kernel_consumer_add_channel() sends them with the channel.
                    tracefile_size=chan.attr.tracefile_size,
                    tracefile_count=chan.attr.tracefile_count,
                    relay_path=relay_path,
                    owner=session.owner,
                )
    except (ConsumerError, OSError) as exc:
        raise CommandError(ErrorCode.KERN_CONSUMER_FAIL, str(exc)) from None
    ksess.streams_sent = True


async def stop_kernel_session(ctx: DaemonContext, session: Session) -> None:
    """stop_kernel_session(): SESSION_STOP, quiescence, then flush every buffer."""
    ksess = session.kernel
    tracer = ctx.tracer.loaded
    if ksess is None or not ksess.active or ksess.fd is None or tracer is None:
        return
    try:
        await tracer.stop_session(ksess.fd)
    except KernelTracerError as exc:
        raise CommandError(ErrorCode.KERN_STOP_FAIL, str(exc)) from None
    await wait_quiescent(tracer)
    ksess.active = False
    await _flush_buffers(tracer, session.name, ksess)


async def _flush_buffers(tracer: KernelTracer, name: str, ksess: KernelSession) -> None:
    """Flush the metadata stream, then every channel's streams, from the session daemon's
    own fds. The consumer writes the packets this makes ready: its drain tasks once woken
    (the channel's read timer), or the data-pending request `lttng stop` sends next,
    which pushes out what is ready before it answers."""
    fds = [ksess.metadata_stream_fd] + [fd for chan in ksess.channels for fd in chan.stream_fds]
    for fd in fds:
        if fd is None:
            continue
        try:
            await tracer.flush_buffer(fd)
        except KernelTracerError as exc:
            log.error("flushing a stream of session %s failed: %s", name, exc)


async def kernel_data_pending(ctx: DaemonContext, session: Session) -> bool:
    ksess = session.kernel
    if ksess is None or not ksess.streams_sent:
        return False
    try:
        link = await ctx.consumer.link()
        return await link.data_pending(session.id)
    except (ConsumerError, OSError) as exc:
        log.error("data pending query for %s failed: %s", session.name, exc)
        return False


async def destroy_kernel_session(ctx: DaemonContext, session: Session) -> CommandError | None:
    """kernel_destroy_session(): close every fd; the consumer drains and closes files.
    Returns the failure to report once the session is gone: a streamed session whose
    relay daemon could not take the end of its trace, which lttng-sessiond reports as
    the failure of the quiet rotation of cmd_destroy_session()."""
    ksess = session.kernel
    if ksess is None:
        return None
    if ksess.active:
        await stop_kernel_session(ctx, session)
    failure = None
    if ksess.streams_sent or ksess.relayd_session_id is not None:
        try:
            link = await ctx.consumer.link()
            await link.close_session(session.id)
        except (ConsumerError, OSError) as exc:
            log.error("closing session %s in the consumer failed: %s", session.name, exc)
            if ksess.relayd_session_id is not None:
                failure = CommandError(ErrorCode.ROTATION_FAIL_CONSUMER, str(exc))
    for chan in ksess.channels:
        for kevent in chan.events:
            close_fd(kevent.fd)
            close_fd(kevent.binary_fd)
        for fd in chan.stream_fds:
            close_fd(fd)
        close_fd(chan.fd)
    close_fd(ksess.metadata_stream_fd)
    close_fd(ksess.metadata_fd)
    session.kernel = None
    tracer = ctx.tracer.loaded
    if ksess.fd is not None and tracer is not None:
        # The module's teardown can take seconds; commands still wait their turn
        # (client_server.py), but the daemon's other tasks run meanwhile.
        try:
            await tracer.destroy_session(ksess.fd)
        except OSError as exc:
            log.warning("closing kernel session %s: %s", session.name, exc)
    return failure


def close_fd(fd: int | None) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
