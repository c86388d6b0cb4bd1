"""Route one typed command to its handler, after lttng-sessiond's preamble checks.

Follows process_client_msg() of src/bin/lttng-sessiond/client.c (2.13): command validity,
session lookup, kernel tracer and kernel session set-up for kernel-domain commands,
access, then the handler. Every failure becomes an error reply; a request that cannot be
decoded gets LTTNG_ERR_INVALID_PROTOCOL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import trio
from pylttng.protocol.client import commands as c
from pylttng.protocol.client import replies as r
from pylttng.protocol.client.command_reader import read_command
from pylttng.protocol.client.constants import Command, DomainType, ErrorCode
from pylttng.protocol.client.errors import ProtocolError
from pylttng.protocol.client.messages import Reply, Request
from pylttng.protocol.client.reply_writer import encode_answer

from . import (
    cmd_channels,
    cmd_events,
    cmd_listing,
    cmd_output,
    cmd_regenerate,
    cmd_rotation,
    cmd_save,
    cmd_sessions,
    cmd_snapshots,
    cmd_trackers,
    cmd_unavailable,
)
from .context import Credentials, DaemonContext
from .errors import CommandError
from .kernel_session import ensure_kernel_session
from .relayd_output import setup_relayd
from .session import Session

log = logging.getLogger("pylttng.sessiond.dispatch")

# A handler of a command that acts on a session gets it; the others get the credentials.
SessionHandler = Callable[[DaemonContext, Any, Session], Awaitable[r.Answer]]
GlobalHandler = Callable[[DaemonContext, Any, Credentials], Awaitable[r.Answer]]


@dataclass(frozen=True)
class Route:
    handler: SessionHandler | GlobalHandler
    needs_session: bool = True  # client.c: need_tracing_session
    needs_domain: bool = True  # client.c: need_domain


def _session(handler: SessionHandler, *, domain: bool = True) -> Route:
    return Route(handler, needs_session=True, needs_domain=domain)


def _global(handler: GlobalHandler, *, domain: bool = True) -> Route:
    return Route(handler, needs_session=False, needs_domain=domain)


_REFUSE = cmd_unavailable.refuse

ROUTES: dict[type[c.ClientCommand], Route] = {
    # sessions
    c.CreateSession: _global(cmd_sessions.handle_create, domain=False),
    c.DestroySession: _session(cmd_sessions.handle_destroy, domain=False),
    c.StartTrace: _session(cmd_sessions.handle_start, domain=False),
    c.StopTrace: _session(cmd_sessions.handle_stop, domain=False),
    c.DataPending: _session(cmd_sessions.handle_data_pending, domain=False),
    c.SetSessionShmPath: _session(cmd_sessions.handle_set_shm_path, domain=False),
    c.SetConsumerUri: _session(cmd_output.handle_set_consumer_uri),
    c.RegisterConsumer: _session(_REFUSE),
    # channels, events, contexts
    c.EnableChannel: _session(cmd_channels.handle_enable_channel),
    c.DisableChannel: _session(cmd_channels.handle_disable_channel),
    c.AddContext: _session(cmd_channels.handle_add_context),
    c.EnableEvent: _session(cmd_events.handle_enable_event),
    c.DisableEvent: _session(cmd_events.handle_disable_event),
    # listing
    c.ListSessions: _global(cmd_listing.handle_list_sessions, domain=False),
    c.ListDomains: _session(cmd_listing.handle_list_domains, domain=False),
    c.ListChannels: _session(cmd_listing.handle_list_channels),
    c.ListEvents: _session(cmd_listing.handle_list_events),
    c.ListTracepoints: _global(cmd_listing.handle_list_tracepoints),
    c.ListTracepointFields: _global(cmd_listing.handle_list_tracepoint_fields),
    c.ListSyscalls: _global(cmd_listing.handle_list_syscalls),
    # trackers
    c.TrackerGetPolicy: _session(cmd_trackers.handle_get_policy),
    c.TrackerSetPolicy: _session(cmd_trackers.handle_set_policy),
    c.TrackerGetInclusionSet: _session(cmd_trackers.handle_get_inclusion_set),
    c.TrackerChangeValue: _session(cmd_trackers.handle_change_value),
    # regenerate
    c.RegenerateStatedump: _session(cmd_regenerate.handle_statedump, domain=False),
    c.RegenerateMetadata: _session(cmd_regenerate.handle_metadata, domain=False),
    # snapshots
    c.SnapshotAddOutput: _session(cmd_snapshots.handle_add_output, domain=False),
    c.SnapshotDelOutput: _session(cmd_snapshots.handle_del_output, domain=False),
    c.SnapshotListOutput: _session(cmd_snapshots.handle_list_outputs, domain=False),
    c.SnapshotRecord: _session(cmd_snapshots.handle_record, domain=False),
    # rotation and clear
    c.RotateSession: _session(cmd_rotation.handle_rotate, domain=False),
    c.RotationGetInfo: _session(cmd_rotation.handle_get_info, domain=False),
    c.RotationSetSchedule: _session(cmd_rotation.handle_set_schedule, domain=False),
    c.ListRotationSchedules: _session(cmd_rotation.handle_list_schedules, domain=False),
    c.ClearSession: _session(cmd_rotation.handle_clear, domain=False),
    c.SaveSession: _global(cmd_save.handle_save, domain=False),
    # triggers: not yet
    c.TriggerCommand: _global(_REFUSE, domain=False),
}


def _cmd_name(cmd: int) -> str:
    try:
        return Command(cmd).name
    except ValueError:
        return str(cmd)


class Dispatcher:
    def __init__(self, ctx: DaemonContext, *, is_root: bool) -> None:
        self._ctx = ctx
        self._is_root = is_root

    @property
    def command_lock(self) -> trio.Lock:
        return self._ctx.command_lock

    async def handle(self, request: Request, creds: Credentials) -> Reply:
        """Answer one request; never raises for bad input."""
        name = _cmd_name(request.cmd_type)
        started = time.monotonic()
        try:
            cmd = read_command(request)
            answer = await self.process(cmd, creds)
        except CommandError as exc:
            log.info("command %s failed: %s", name, exc)
            return Reply(request.cmd_type, exc.code, request.domain.pid)
        except ProtocolError as exc:
            log.warning("malformed %s request: %s", name, exc)
            return Reply(request.cmd_type, ErrorCode.INVALID_PROTOCOL, request.domain.pid)
        log.info("command %s done in %.3f s", name, time.monotonic() - started)
        header, payload, fds = encode_answer(answer)
        return Reply(request.cmd_type, ErrorCode.OK, request.domain.pid, header, payload, fds)

    async def process(self, cmd: c.ClientCommand, creds: Credentials) -> r.Answer:
        """One typed command, from a client or from the daemon's own session loading."""
        route = ROUTES.get(type(cmd))
        if route is None:
            raise CommandError(ErrorCode.UND, f"unknown command {cmd}")
        if not route.needs_session:
            if route.needs_domain:
                await self._domain_preamble(cmd, None)
            return await route.handler(self._ctx, cmd, creds)  # type: ignore[arg-type]
        session = self._ctx.sessions.get(cmd.session_name)
        if session is None:
            raise CommandError(ErrorCode.SESS_NOT_FOUND)
        kernel_disable = isinstance(cmd, c.DisableChannel | c.DisableEvent) and (
            cmd.domain.type == DomainType.KERNEL
        )
        if kernel_disable and session.kernel is None:
            raise CommandError(ErrorCode.NO_CHANNEL)
        if route.needs_domain:
            await self._domain_preamble(cmd, session)
        if not self._ctx.can_access(creds, session.uid):
            raise CommandError(ErrorCode.EPERM)
        return await route.handler(self._ctx, cmd, session)  # type: ignore[arg-type]

    async def _domain_preamble(self, cmd: c.ClientCommand, session: Session | None) -> None:
        domain = cmd.domain.type
        if domain == DomainType.KERNEL:
            if not self._is_root:
                raise CommandError(ErrorCode.NEED_ROOT_SESSIOND)
            await self._ctx.tracer.get()
            if session is not None:
                await ensure_kernel_session(self._ctx, session)
                await setup_relayd(self._ctx, session)
        elif domain in (DomainType.UST, DomainType.JUL, DomainType.LOG4J, DomainType.PYTHON):
            raise CommandError(ErrorCode.NO_UST, "only the kernel domain is provided")
        elif not isinstance(cmd, c.ListSyscalls | c.SetConsumerUri):
            # DOMAIN_NONE means every syscall to the one, the session's own output to the
            # other (lttng_set_consumer_url(), which `lttng load` sends).
            raise CommandError(ErrorCode.UNKNOWN_DOMAIN)
