"""Kernel-domain operations of a session, in the order lttng-sessiond performs them.

Mirrors src/bin/lttng-sessiond/kernel.c, channel.c, event.c and the kernel parts of
cmd.c (start_kernel_session / stop_kernel_session) of lttng-tools 2.13: same ioctls, same
order, same lttng error codes, so that listings and failures read the same to the CLI.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import time

import trio
from pylttng.consumerd.link import ConsumerError
from pylttng.protocol import kernel_abi as abi
from pylttng.protocol.client.constants import (
    DEFAULT_CHANNEL_NAME,
    ErrorCode,
    EventContextType,
    EventOutput,
    EventType,
)
from pylttng.protocol.client.errors import ProtocolError
from pylttng.protocol.client.messages import Channel, Event, EventContext
from pylttng.protocol.client.userspace_probe import (
    LookupMethod,
    UserspaceProbeLocation,
    decode_location,
)
from pylttng.protocol.consumer import Output

from .consumer import Consumer
from .elf import ElfError, function_offset, sdt_probe_offsets
from .errors import CommandError
from .kernel_tracer import KernelTracer, KernelTracerError
from .modprobe import KernelUnavailable, load_kernel_tracer
from .session import KernelChannel, KernelEvent, KernelSession, Session

log = logging.getLogger("pylttng.sessiond.kernel")

# src/common/defaults.h (Debian's configure defaults), as printed in the reference transcript.
DEFAULT_KERNEL_SUBBUF_SIZE = 1 << 20
DEFAULT_KERNEL_SUBBUF_NUM = 4
DEFAULT_KERNEL_READ_TIMER = 200_000
DEFAULT_KERNEL_SWITCH_TIMER = 0
DEFAULT_KERNEL_MONITOR_TIMER = 1_000_000
DEFAULT_METADATA_SUBBUF_SIZE = 4096
DEFAULT_METADATA_SUBBUF_NUM = 2


def default_kernel_channel(name: str = DEFAULT_CHANNEL_NAME) -> Channel:
    """channel_new_default_attr(LTTNG_DOMAIN_KERNEL, LTTNG_BUFFER_GLOBAL)."""
    return Channel(
        name=name or DEFAULT_CHANNEL_NAME,
        enabled=False,  # the stock daemon leaves lttng_channel.enabled at 0 here
        overwrite=-1,
        subbuf_size=max(DEFAULT_KERNEL_SUBBUF_SIZE, os.sysconf("SC_PAGESIZE")),
        num_subbuf=DEFAULT_KERNEL_SUBBUF_NUM,
        switch_timer_interval=DEFAULT_KERNEL_SWITCH_TIMER,
        read_timer_interval=DEFAULT_KERNEL_READ_TIMER,
        output=EventOutput.SPLICE,
        monitor_timer_interval=DEFAULT_KERNEL_MONITOR_TIMER,
    )


def _instrumentations(event: Event) -> list[int]:
    kinds = {
        EventType.TRACEPOINT: [abi.Instrumentation.TRACEPOINT],
        EventType.SYSCALL: [abi.Instrumentation.SYSCALL],
        EventType.ALL: [abi.Instrumentation.TRACEPOINT, abi.Instrumentation.SYSCALL],
        EventType.PROBE: [abi.Instrumentation.KPROBE],
        EventType.FUNCTION: [abi.Instrumentation.KRETPROBE],
        EventType.FUNCTION_ENTRY: [abi.Instrumentation.FUNCTION],
        EventType.USERSPACE_PROBE: [abi.Instrumentation.UPROBE],
    }
    found = kinds.get(event.type)  # type: ignore[call-overload]
    if found is None:
        raise CommandError(ErrorCode.KERN_EVENT_ENOSYS, f"event type {event.type}")
    return [int(k) for k in found]


# context_kernel_add(): client context type -> kernel ABI context type. Others (pthread_id,
# ip, perf:thread:*, application contexts) are user-space only: "Add kernel context failed".
_KERNEL_CONTEXTS: dict[int, abi.ContextType] = {
    EventContextType.PERF_COUNTER: abi.ContextType.PERF_CPU_COUNTER,
    EventContextType.PERF_CPU_COUNTER: abi.ContextType.PERF_CPU_COUNTER,
    **{
        EventContextType[kctx.name]: kctx
        for kctx in abi.ContextType
        if kctx.name in EventContextType.__members__ and kctx is not abi.ContextType.PERF_CPU_COUNTER
    },
}


def _probe_location(event: Event) -> abi.ProbeLocation | None:
    """trace_kernel_create_event(): --probe and --function carry lttng_event_probe_attr."""
    if event.type not in (EventType.PROBE, EventType.FUNCTION) or event.probe is None:
        return None
    p = event.probe
    return abi.ProbeLocation(addr=p.addr, offset=p.offset, symbol_name=p.symbol_name)


@dataclasses.dataclass(frozen=True)
class _UprobeTarget:
    location: UserspaceProbeLocation
    binary_fd: int  # the client's, valid while the command is handled


def _uprobe_target(event: Event, fds: tuple[int, ...]) -> _UprobeTarget:
    """trace_kernel_create_event(): the location and the binary fd the client sent.

    Like the stock daemon: ELF function lookups and SDT probes, nothing else.
    """
    try:
        location = decode_location(event.userspace_probe_location)
    except ProtocolError as exc:
        raise CommandError(ErrorCode.PROBE_LOCATION_INVAL, str(exc)) from None
    if len(fds) != 1 or location.lookup not in (
        LookupMethod.FUNCTION_ELF,
        LookupMethod.TRACEPOINT_SDT,
    ):
        raise CommandError(ErrorCode.PROBE_LOCATION_INVAL, "unsupported userspace probe location")
    return _UprobeTarget(location=location, binary_fd=fds[0])


class KernelDomain:
    """Owns the tracer control fd and applies session changes to the kernel tracer."""

    def __init__(
        self, consumer: Consumer, *, no_kernel: bool, tracer: KernelTracer | None = None
    ) -> None:
        self._consumer = consumer
        self._no_kernel = no_kernel
        self._tracer = tracer  # given by tests; otherwise loaded on the first kernel command
        self.unavailable: KernelUnavailable | None = None

    async def tracer(self) -> KernelTracer:
        """init_kernel_tracer(): retried on every kernel command until it works."""
        if self._tracer is None:
            loaded = await load_kernel_tracer(no_kernel=self._no_kernel)
            if isinstance(loaded, KernelUnavailable):
                self.unavailable = loaded
                log.warning("kernel tracer not available: %s", loaded.reason)
                raise CommandError(loaded.code, loaded.reason)
            self._tracer = loaded
            self.unavailable = None
        return self._tracer

    def _t(self) -> KernelTracer:
        assert self._tracer is not None, "kernel command before the tracer was loaded"
        return self._tracer

    def channel_stats(self, chan: KernelChannel) -> tuple[int, int]:
        """get_kernel_runtime_stats(): (discarded events, lost packets) of a channel.

        The tracer sums, over the channel's streams, what lttng-consumerd would count
        from the packets consumed so far (the last events_discarded, packet_seq_num gaps).
        """
        if chan.fd is None or self._tracer is None:
            return 0, 0
        try:
            return self._tracer.channel_stats(chan.fd)
        except KernelTracerError as exc:
            raise CommandError(ErrorCode.UNK, f"channel statistics: {exc}") from None

    async def list_syscalls(self) -> list[abi.SyscallListEntry]:
        """syscall_init_table(): the tracer's SYSCALL_LIST, read when asked."""
        tracer = await self.tracer()
        try:
            return tracer.list_syscalls()
        except (KernelTracerError, OSError) as exc:
            raise CommandError(ErrorCode.KERN_LIST_FAIL, str(exc)) from None

    # --- session ---------------------------------------------------------------------
    async def ensure_session(self, session: Session) -> KernelSession:
        """create_kernel_session(): SESSION, then SET_NAME and SET_CREATION_TIME."""
        if session.kernel is not None:
            return session.kernel
        tracer = await self.tracer()
        try:
            fd = tracer.create_session()
        except KernelTracerError as exc:
            raise CommandError(ErrorCode.KERN_SESS_FAIL, str(exc)) from None
        ksess = KernelSession(fd=fd)
        session.kernel = ksess
        self._consumer.start_soon()
        try:
            # The kernel gets "auto" for generated names: they already embed the date.
            tracer.session_set_name(fd, "auto" if session.auto_named else session.name)
        except KernelTracerError as exc:
            log.warning("could not set kernel session name of %s: %s", session.name, exc)
        try:
            tracer.session_set_creation_time(fd, session.creation_time)
        except KernelTracerError as exc:
            log.warning("could not set kernel creation time of %s: %s", session.name, exc)
        return ksess

    # --- channels --------------------------------------------------------------------
    def enable_channel(self, session: Session, attr: Channel) -> None:
        """cmd_enable_channel_internal() for the kernel domain."""
        ksess = session.kernel
        assert ksess is not None
        name = attr.name
        if name.startswith(".") or "/" in name:
            raise CommandError(ErrorCode.INVALID_CHANNEL_NAME)
        existing = ksess.channel(name)
        if existing is not None:
            if existing.enabled:
                raise CommandError(ErrorCode.KERN_CHAN_EXIST)
            self._enable_fd(existing.fd, ErrorCode.KERN_CHAN_ENABLE_FAIL)
            existing.enabled = True
            return
        if session.has_been_started:
            raise CommandError(ErrorCode.TRACE_ALREADY_STARTED)
        attr = dataclasses.replace(attr, name=name or DEFAULT_CHANNEL_NAME)
        if session.snapshot_mode:
            attr.output = EventOutput.MMAP
        if session.live_timer:
            attr.live_timer_interval = session.live_timer
            attr.switch_timer_interval = 0
        if attr.overwrite == -1:
            attr.overwrite = int(session.snapshot_mode)
        # channel_validate() / channel_validate_kernel()
        if attr.overwrite and attr.num_subbuf < 2:
            raise CommandError(ErrorCode.INVALID)
        if attr.blocking_timeout:
            raise CommandError(ErrorCode.INVALID)
        self._create_channel(ksess, attr)
        if name:
            ksess.has_non_default_channel = True

    def _create_channel(self, ksess: KernelSession, attr: Channel) -> KernelChannel:
        """kernel_create_channel(): one CHANNEL ioctl on the session fd."""
        assert ksess.fd is not None
        raw = abi.build_channel(
            subbuf_size=attr.subbuf_size,
            num_subbuf=attr.num_subbuf,
            switch_timer_interval=attr.switch_timer_interval,
            read_timer_interval=attr.read_timer_interval,
            output=attr.output,
            overwrite=attr.overwrite,
        )
        try:
            fd = self._t().create_channel(ksess.fd, raw)
        except KernelTracerError as exc:
            raise CommandError(ErrorCode.KERN_CHAN_FAIL, str(exc)) from None
        chan = KernelChannel(attr=attr, fd=fd)
        ksess.channels.insert(0, chan)
        self._quiescent()
        return chan

    def disable_channel(self, session: Session, name: str) -> None:
        ksess = session.kernel
        assert ksess is not None
        chan = ksess.channel(name)
        if chan is None:
            raise CommandError(ErrorCode.KERN_CHAN_NOT_FOUND)
        if chan.enabled:
            try:
                if chan.fd is not None:
                    self._t().disable(chan.fd)
            except KernelTracerError as exc:
                raise CommandError(ErrorCode.KERN_CHAN_DISABLE_FAIL, str(exc)) from None
            chan.enabled = False

    # --- events ----------------------------------------------------------------------
    def enable_event(
        self, session: Session, channel_name: str, event: Event, fds: tuple[int, ...] = ()
    ) -> None:
        """_cmd_enable_event() kernel branch + event_kernel_enable_event()."""
        ksess = session.kernel
        assert ksess is not None
        if ksess.has_non_default_channel and not channel_name:
            raise CommandError(ErrorCode.NEED_CHANNEL_NAME)
        chan = ksess.channel(channel_name)
        created = False
        if chan is None:
            self.enable_channel(session, default_kernel_channel(channel_name))
            # Creating it implicitly does not make it a user-named channel.
            ksess.has_non_default_channel = ksess.has_non_default_channel and bool(channel_name)
            chan = ksess.channel(channel_name)
            assert chan is not None
            created = True
        if event.filter_expression and not event.bytecode:
            raise CommandError(ErrorCode.INVALID)
        if event.type == EventType.ALL:
            # Enabling "all" means every tracepoint and every system call.
            for kind in (EventType.TRACEPOINT, EventType.SYSCALL):
                self._enable_one(chan, dataclasses.replace(event, type=kind))
            return
        try:
            self._enable_one(chan, event, fds)
        except CommandError:
            if created and not chan.events:
                self._drop_channel(ksess, chan)
            raise

    def _enable_one(self, chan: KernelChannel, event: Event, fds: tuple[int, ...] = ()) -> None:
        existing = next(
            (
                e
                for e in chan.events
                if e.name == event.name
                and e.spec.type == event.type
                and e.spec.filter_expression == event.filter_expression
            ),
            None,
        )
        if existing is not None:
            if existing.spec.enabled:
                raise CommandError(ErrorCode.KERN_EVENT_EXIST)
            self._enable_fd(existing.fd, ErrorCode.KERN_ENABLE_FAIL)
            existing.spec.enabled = 1
            return
        assert chan.fd is not None
        (kind,) = _instrumentations(event)
        uprobe = _uprobe_target(event, fds) if kind == abi.Instrumentation.UPROBE else None
        raw = abi.build_event(
            event.name,
            kind,
            probe=_probe_location(event),
            uprobe_fd=uprobe.binary_fd if uprobe else -1,
        )
        try:
            fd = self._t().create_event(chan.fd, raw)
        except KernelTracerError as exc:
            # kernel_create_event(): errno to lttng error
            code = {
                errno.EEXIST: ErrorCode.KERN_EVENT_EXIST,
                errno.ENOSYS: ErrorCode.KERN_EVENT_ENOSYS,
            }.get(exc.errno or 0, ErrorCode.KERN_ENABLE_FAIL)
            raise CommandError(code, str(exc)) from None
        if uprobe is not None:
            self._add_callsites(fd, uprobe)
        try:
            self._t().enable(fd)
        except KernelTracerError as exc:
            os.close(fd)
            code = (
                ErrorCode.KERN_EVENT_EXIST
                if exc.errno == errno.EEXIST
                else (ErrorCode.KERN_ENABLE_FAIL)
            )
            raise CommandError(code, str(exc)) from None
        spec = dataclasses.replace(event, enabled=1)
        binary_fd = os.dup(uprobe.binary_fd) if uprobe is not None else None
        chan.events.insert(0, KernelEvent(spec=spec, fd=fd, binary_fd=binary_fd))

    def _add_callsites(self, event_fd: int, uprobe: _UprobeTarget) -> None:
        """userspace_probe_add_callsite(): resolve the location, one ADD_CALLSITE per offset.

        As the stock daemon, an SDT probe found nowhere in the binary adds no callsite.
        """
        loc = uprobe.location
        try:
            if loc.lookup == LookupMethod.TRACEPOINT_SDT:
                offsets = sdt_probe_offsets(uprobe.binary_fd, loc.provider_name, loc.probe_name)
            else:
                offsets = [function_offset(uprobe.binary_fd, loc.function_name)]
        except ElfError as exc:
            os.close(event_fd)
            raise CommandError(ErrorCode.PROBE_LOCATION_INVAL, str(exc)) from None
        try:
            for offset in offsets:
                self._t().add_callsite(event_fd, abi.build_callsite(offset))
        except KernelTracerError as exc:
            os.close(event_fd)
            raise CommandError(ErrorCode.KERN_ENABLE_FAIL, str(exc)) from None

    def disable_event(self, session: Session, channel_name: str, event: Event) -> None:
        """cmd_disable_event() kernel branch + event_kernel_disable_event()."""
        ksess = session.kernel
        assert ksess is not None
        chan = ksess.channel(channel_name)
        if chan is None:
            raise CommandError(ErrorCode.KERN_CHAN_NOT_FOUND)
        name: str | None = None if event.name in ("", "*") else event.name
        found = False
        failed = False
        for kevent in chan.events:
            if event.type != EventType.ALL and kevent.spec.type != event.type:
                continue
            if name is not None and kevent.name != name:
                continue
            found = True
            try:
                if kevent.fd is not None:
                    self._t().disable(kevent.fd)
                kevent.spec.enabled = 0
            except KernelTracerError:
                failed = True
        if name is not None and not found:
            raise CommandError(ErrorCode.NO_EVENT)
        if failed:
            raise CommandError(ErrorCode.KERN_DISABLE_FAIL)

    # --- contexts --------------------------------------------------------------------
    def add_context(self, session: Session, channel_name: str, context: EventContext) -> None:
        """cmd_add_context() kernel branch + context_kernel_add()."""
        ksess = session.kernel
        assert ksess is not None
        if session.has_been_started:
            raise CommandError(ErrorCode.TRACE_ALREADY_STARTED)
        if not ksess.channels:
            had_named = ksess.has_non_default_channel
            self.enable_channel(session, default_kernel_channel())
            ksess.has_non_default_channel = had_named
        kctx = _KERNEL_CONTEXTS.get(context.ctx)
        if kctx is None:
            raise CommandError(ErrorCode.KERN_CONTEXT_FAIL, f"context {context.ctx}")
        raw = abi.build_context(
            kctx,
            perf_type=context.perf_type,
            perf_config=context.perf_config,
            perf_name=context.perf_name,
        )
        if channel_name:
            chan = ksess.channel(channel_name)
            if chan is None:
                raise CommandError(ErrorCode.KERN_CHAN_NOT_FOUND)
            targets = [chan]
        else:
            targets = list(ksess.channels)
        for chan in targets:
            self._add_channel_context(chan, raw, context)

    def _add_channel_context(self, chan: KernelChannel, raw: bytes, context: EventContext) -> None:
        """kernel_add_channel_context(): EEXIST is not an error, ENOSYS is "unavailable"."""
        assert chan.fd is not None
        try:
            self._t().add_context(chan.fd, raw)
        except KernelTracerError as exc:
            if exc.errno == errno.ENOSYS:
                raise CommandError(ErrorCode.KERN_CONTEXT_UNAVAILABLE, str(exc)) from None
            if exc.errno != errno.EEXIST:
                raise CommandError(ErrorCode.KERN_CONTEXT_FAIL, str(exc)) from None
        chan.contexts.append(context)

    # --- start / stop / destroy --------------------------------------------------------
    async def start(self, session: Session) -> None:
        """start_kernel_session(), plus handing new streams to the consumer daemon."""
        ksess = session.kernel
        assert ksess is not None and ksess.fd is not None
        tracer = self._t()
        if ksess.metadata_fd is None and session.output_traces:
            meta = abi.build_channel(
                subbuf_size=DEFAULT_METADATA_SUBBUF_SIZE,
                num_subbuf=DEFAULT_METADATA_SUBBUF_NUM,
                switch_timer_interval=0,
                read_timer_interval=0,
                output=abi.Output.MMAP,
                overwrite=0,
            )
            try:
                ksess.metadata_fd = tracer.open_metadata(ksess.fd, meta)
            except KernelTracerError as exc:
                raise CommandError(ErrorCode.KERN_META_FAIL, str(exc)) from None
        if ksess.metadata_fd is not None and ksess.metadata_stream_fd is None:
            stream = self._stream(ksess.metadata_fd)
            if stream is None:
                raise CommandError(ErrorCode.KERN_STREAM_FAIL, "no metadata stream")
            ksess.metadata_stream_fd = stream
        for chan in ksess.channels:
            if not chan.stream_fds:
                assert chan.fd is not None
                while (stream := self._stream(chan.fd)) is not None:
                    chan.stream_fds.append(stream)
        if session.output_traces and not ksess.streams_sent:
            started = time.monotonic()
            await self._send_streams(session, ksess)
            log.info("streams handed to the consumer in %.3f s", time.monotonic() - started)
        started = time.monotonic()
        try:
            await trio.to_thread.run_sync(tracer.start_session, ksess.fd)
        except KernelTracerError as exc:
            raise CommandError(ErrorCode.KERN_START_FAIL, str(exc)) from None
        log.info("kernel session started in %.3f s", time.monotonic() - started)
        self._quiescent()
        ksess.active = True

    def _stream(self, channel_fd: int) -> int | None:
        try:
            return self._t().create_stream(channel_fd)
        except KernelTracerError as exc:
            raise CommandError(ErrorCode.KERN_STREAM_FAIL, str(exc)) from None

    async def _send_streams(self, session: Session, ksess: KernelSession) -> None:
        """kernel_consumer_send_session(): metadata first, then every per-CPU stream."""
        link = await self._consumer.link()
        trace_dir = session.kernel_trace_dir
        os.makedirs(trace_dir, mode=0o770, exist_ok=True)
        try:
            if ksess.metadata_stream_fd is not None:
                await link.add_stream(
                    session_id=session.id,
                    fd=ksess.metadata_stream_fd,
                    trace_dir=trace_dir,
                    file_name="metadata",
                    metadata=True,
                    output="mmap",
                )
            for chan in reversed(ksess.channels):
                output: Output = "mmap" if chan.attr.output == EventOutput.MMAP else "splice"
                for cpu, fd in enumerate(chan.stream_fds):
                    await link.add_stream(
                        session_id=session.id,
                        fd=fd,
                        trace_dir=trace_dir,
                        file_name=f"{chan.name}_{cpu}",
                        metadata=False,
                        output=output,
                    )
        except (ConsumerError, OSError) as exc:
            raise CommandError(ErrorCode.KERN_CONSUMER_FAIL, str(exc)) from None
        ksess.streams_sent = True

    async def stop(self, session: Session) -> None:
        """stop_kernel_session(): SESSION_STOP, quiescence, then flush every buffer."""
        ksess = session.kernel
        if ksess is None or not ksess.active or ksess.fd is None:
            return
        try:
            await trio.to_thread.run_sync(self._t().stop_session, ksess.fd)
        except KernelTracerError as exc:
            raise CommandError(ErrorCode.KERN_STOP_FAIL, str(exc)) from None
        self._quiescent()
        ksess.active = False
        self._flush_buffers(session.name, ksess)

    def _flush_buffers(self, name: str, ksess: KernelSession) -> None:
        """stop_kernel_session(): flush the metadata stream, then every channel's streams,
        from the session daemon's own fds; the consumer daemon's drain tasks, woken by the
        packets this makes ready, write them (`lttng stop` then waits on data_pending)."""
        fds = [ksess.metadata_stream_fd] + [fd for chan in ksess.channels
                                             for fd in chan.stream_fds]
        for fd in fds:
            if fd is None:
                continue
            try:
                self._t().flush_buffer(fd)
            except KernelTracerError as exc:
                log.error("flushing a stream of session %s failed: %s", name, exc)

    async def data_pending(self, session: Session) -> bool:
        ksess = session.kernel
        if ksess is None or not ksess.streams_sent:
            return False
        try:
            link = await self._consumer.link()
            return await link.data_pending(session.id)
        except (ConsumerError, OSError) as exc:
            log.error("data pending query for %s failed: %s", session.name, exc)
            return False

    async def destroy(self, session: Session) -> None:
        """kernel_destroy_session(): close every fd; the consumer drains and closes files."""
        ksess = session.kernel
        if ksess is None:
            return
        if ksess.active:
            await self.stop(session)
        if ksess.streams_sent:
            try:
                link = await self._consumer.link()
                await link.close_session(session.id)
            except (ConsumerError, OSError) as exc:
                log.error("closing session %s in the consumer failed: %s", session.name, exc)
        for chan in ksess.channels:
            for kevent in chan.events:
                _close(kevent.fd)
                _close(kevent.binary_fd)
            for fd in chan.stream_fds:
                _close(fd)
            _close(chan.fd)
        _close(ksess.metadata_stream_fd)
        _close(ksess.metadata_fd)
        session.kernel = None
        if ksess.fd is not None:
            # The module's teardown can take seconds (its tracepoints are unhooked one
            # by one): in a thread, as start and stop, so that the daemon's other tasks
            # run meanwhile.  Commands still wait their turn (client_server.py).
            try:
                await trio.to_thread.run_sync(self._t().destroy_session, ksess.fd)
            except OSError as exc:
                log.warning("closing kernel session %s: %s", session.name, exc)

    # --- helpers -----------------------------------------------------------------------
    def _drop_channel(self, ksess: KernelSession, chan: KernelChannel) -> None:
        ksess.channels.remove(chan)
        _close(chan.fd)

    def _enable_fd(self, fd: int | None, code: ErrorCode) -> None:
        if fd is None:
            return
        try:
            self._t().enable(fd)
        except KernelTracerError as exc:
            raise CommandError(code, str(exc)) from None

    def _quiescent(self) -> None:
        try:
            self._t().wait_quiescent()
        except KernelTracerError as exc:
            log.warning("wait quiescent failed: %s", exc)


def _close(fd: int | None) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
