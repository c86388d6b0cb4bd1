"""Route one client request to its handler, with lttng-sessiond's preamble checks.

Follows process_client_msg() of src/bin/lttng-sessiond/client.c (2.13): command validity,
session lookup, kernel tracer / kernel session / consumer set-up for kernel-domain
commands, then the command itself. Every failure becomes an error reply.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

from pylttng.protocol.client import reader, writer
from pylttng.protocol.client.constants import COMMAND_MAX, Command, DomainType, ErrorCode
from pylttng.protocol.client.errors import ProtocolError
from pylttng.protocol.client.messages import Reply, Request

from . import cmd_catalogue, cmd_list, cmd_session
from .context import Credentials, DaemonContext
from .errors import CommandError
from .session import Session

log = logging.getLogger("pylttng.sessiond.dispatch")


class Answer(NamedTuple):
    """What a command sends back: lttcomm_lttng_msg's command header and payload, and
    the fds that follow them (SCM_RIGHTS), which stay owned by the session."""

    cmd_header: bytes = b""
    payload: bytes = b""
    fds: tuple[int, ...] = ()


# Commands that take no domain (client.c: need_domain = false).
_NO_DOMAIN = {
    Command.CREATE_SESSION_EXT,
    Command.DESTROY_SESSION,
    Command.LIST_SESSIONS,
    Command.LIST_DOMAINS,
    Command.START_TRACE,
    Command.STOP_TRACE,
    Command.DATA_PENDING,
    Command.SNAPSHOT_ADD_OUTPUT,
    Command.SNAPSHOT_DEL_OUTPUT,
    Command.SNAPSHOT_LIST_OUTPUT,
    Command.SNAPSHOT_RECORD,
    Command.SAVE_SESSION,
    Command.SET_SESSION_SHM_PATH,
    Command.REGENERATE_METADATA,
    Command.REGENERATE_STATEDUMP,
    Command.ROTATE_SESSION,
    Command.ROTATION_GET_INFO,
    Command.ROTATION_SET_SCHEDULE,
    Command.SESSION_LIST_ROTATION_SCHEDULES,
    Command.CLEAR_SESSION,
    Command.LIST_TRIGGERS,
    Command.EXECUTE_ERROR_QUERY,
}

# Commands that do not act on a recording session (client.c: need_tracing_session).
_NO_SESSION = {
    Command.CREATE_SESSION_EXT,
    Command.LIST_SESSIONS,
    Command.LIST_TRACEPOINTS,
    Command.LIST_SYSCALLS,
    Command.LIST_TRACEPOINT_FIELDS,
    Command.SAVE_SESSION,
    Command.REGISTER_TRIGGER,
    Command.UNREGISTER_TRIGGER,
    Command.LIST_TRIGGERS,
    Command.EXECUTE_ERROR_QUERY,
}


class Dispatcher:
    def __init__(self, ctx: DaemonContext, *, is_root: bool) -> None:
        self._ctx = ctx
        self._is_root = is_root

    async def handle(self, request: Request, creds: Credentials) -> Reply:
        """Answer one request; never raises for bad input."""
        cmd = request.cmd_type
        started = time.monotonic()
        try:
            answer = await self._process(request, creds)
            log.info("command %s done in %.3f s", _cmd_name(cmd), time.monotonic() - started)
            return Reply(cmd, ErrorCode.OK, request.domain.pid, *answer)
        except CommandError as exc:
            log.info("command %s failed: %s", _cmd_name(cmd), exc)
            return Reply(cmd, exc.code, request.domain.pid)
        except ProtocolError as exc:
            log.warning("malformed %s request: %s", _cmd_name(cmd), exc)
            return Reply(cmd, ErrorCode.INVALID_PROTOCOL, request.domain.pid)

    async def _process(self, request: Request, creds: Credentials) -> Answer:
        if not 0 <= request.cmd_type < COMMAND_MAX or request.cmd_type not in set(Command):
            raise CommandError(ErrorCode.UND, f"unknown command {request.cmd_type}")
        cmd = Command(request.cmd_type)
        domain = request.domain.type
        need_domain = cmd not in _NO_DOMAIN
        session: Session | None = None
        if cmd not in _NO_SESSION:
            session = self._ctx.sessions.get(request.session_name)
            if session is None:
                raise CommandError(ErrorCode.SESS_NOT_FOUND)
        if cmd in (Command.DISABLE_CHANNEL, Command.DISABLE_EVENT):
            assert session is not None
            if domain == DomainType.KERNEL and session.kernel is None:
                raise CommandError(ErrorCode.NO_CHANNEL)
        if need_domain:
            await self._domain_preamble(cmd, domain, session)
        if session is not None and not self._ctx.can_access(creds, session.uid):
            raise CommandError(ErrorCode.EPERM)
        return await self._run(cmd, request, session, creds)

    async def _domain_preamble(self, cmd: Command, domain: int, session: Session | None) -> None:
        if domain == DomainType.KERNEL:
            if not self._is_root:
                raise CommandError(ErrorCode.NEED_ROOT_SESSIOND)
            await self._ctx.kernel.tracer()
            if session is not None:
                await self._ctx.kernel.ensure_session(session)
        elif domain in (DomainType.UST, DomainType.JUL, DomainType.LOG4J, DomainType.PYTHON):
            raise CommandError(ErrorCode.NO_UST, "only the kernel domain is provided")
        elif cmd not in (Command.LIST_SYSCALLS,):
            raise CommandError(ErrorCode.UNKNOWN_DOMAIN)

    async def _run(
        self, cmd: Command, request: Request, session: Session | None, creds: Credentials
    ) -> Answer:
        ctx = self._ctx
        if cmd == Command.CREATE_SESSION_EXT:
            args = reader.decode_create_session(request)
            desc = cmd_session.create_session(ctx, args, creds)
            return Answer(b"", writer.encode_session_descriptor(desc))
        if cmd == Command.LIST_SESSIONS:
            return Answer(b"", cmd_list.list_sessions(ctx, creds))
        if cmd == Command.LIST_SYSCALLS:
            return Answer(*cmd_list.list_syscalls(await ctx.kernel.list_syscalls()))
        if cmd == Command.LIST_TRACEPOINTS:
            tracer = await ctx.kernel.tracer()
            return Answer(*cmd_catalogue.list_tracepoints(cmd_catalogue.read_tracepoint_list(tracer)))
        assert session is not None, cmd
        if cmd == Command.START_TRACE:
            await cmd_session.start_trace(ctx, session)
        elif cmd == Command.STOP_TRACE:
            await cmd_session.stop_trace(ctx, session)
        elif cmd == Command.DATA_PENDING:
            pending = await cmd_session.data_pending(ctx, session)
            return Answer(b"", bytes([int(pending)]))
        elif cmd == Command.DESTROY_SESSION:
            await cmd_session.destroy_session(ctx, session)
            return Answer(writer.encode_destroy_header(), b"")
        elif cmd == Command.LIST_DOMAINS:
            return Answer(b"", cmd_list.list_domains(session))
        elif cmd == Command.LIST_CHANNELS:
            return Answer(*cmd_list.list_channels(session, request.domain.type, ctx.kernel.channel_stats))
        elif cmd == Command.LIST_EVENTS:
            channel_name = reader.union_channel_name(request)
            payload, fds = cmd_list.list_events(session, request.domain.type, channel_name)
            return Answer(b"", payload, fds)
        elif cmd == Command.REGENERATE_STATEDUMP:
            cmd_catalogue.regenerate_statedump(session)
        elif cmd == Command.SESSION_LIST_ROTATION_SCHEDULES:
            return Answer(b"", writer.encode_rotation_schedules())
        elif cmd == Command.PROCESS_ATTR_TRACKER_GET_POLICY:
            attr = reader.union_process_attr(request)
            return Answer(b"", cmd_list.tracker_policy(session, request.domain.type, attr))
        elif cmd == Command.PROCESS_ATTR_TRACKER_GET_INCLUSION_SET:
            attr = reader.union_process_attr(request)
            return Answer(b"", cmd_list.tracker_inclusion_set(session, request.domain.type, attr))
        elif cmd == Command.ENABLE_CHANNEL:
            channel, used = reader.decode_channel(request.payload)
            if used != len(request.payload):
                raise CommandError(ErrorCode.INVALID)
            ctx.kernel.enable_channel(session, channel)
        elif cmd == Command.DISABLE_CHANNEL:
            ctx.kernel.disable_channel(session, reader.union_channel_name(request))
        elif cmd in (Command.ENABLE_EVENT, Command.DISABLE_EVENT):
            event, _ = reader.decode_event(request.payload)
            channel_name = reader.union_channel_name(request)
            if cmd == Command.ENABLE_EVENT:
                ctx.kernel.enable_event(session, channel_name, event, request.fds)
            else:
                ctx.kernel.disable_event(session, channel_name, event)
        elif cmd == Command.ADD_CONTEXT:
            context, used = reader.decode_context(request.payload)
            if used != len(request.payload):
                raise CommandError(ErrorCode.INVALID)
            ctx.kernel.add_context(session, reader.union_channel_name(request), context)
        else:
            raise CommandError(ErrorCode.UND, f"{cmd.name} is not implemented")
        return Answer(b"", b"")


def _cmd_name(cmd: int) -> str:
    try:
        return Command(cmd).name
    except ValueError:
        return str(cmd)
