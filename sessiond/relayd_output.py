"""A session's output to lttng-relayd: its two URLs, how `lttng list` and `lttng save`
show them, and the hand-over of the relay daemon session to the consumer daemon.

lttng-sessiond 2.13 keeps the URIs the client parsed (uri.c: uri_parse()), fills in the
default ports (consumer.c: consumer_set_network_uri()), and connects to the relay daemon
at the first kernel-domain command of the session once its kernel session exists
(client.c: process_client_msg() -> cmd.c: cmd_setup_relayd()), not at `create`; the
consumer daemon then streams every kernel stream under ``kernel`` of the trace chunk,
which lttng-relayd puts in ``<hostname>/<session>-<date>/`` of its output folder.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import socket
from dataclasses import dataclass

import trio
from pylttng.protocol.client.constants import ErrorCode, UriDstType
from pylttng.protocol.client.messages import Uri
from pylttng.protocol.consumer import RelaydEndpoint, RelaydSession

from .consumer_link import ConsumerError
from .context import DaemonContext
from .errors import CommandError
from .session import Session

log = logging.getLogger("pylttng.sessiond.relayd")

# src/common/defaults.h: DEFAULT_NETWORK_CONTROL_PORT / _DATA_PORT.
DEFAULT_CONTROL_PORT = 5342
DEFAULT_DATA_PORT = 5343
# enum lttng_stream_type (uri.h).
STREAM_CONTROL = 0
STREAM_DATA = 1


@dataclass(frozen=True)
class NetUri:
    dtype: UriDstType  # IPV4 or IPV6
    address: str  # numeric: the client resolved the host name
    port: int
    subdir: str = ""

    @property
    def url(self) -> str:
        """uri_to_str_url(): ``tcp4://127.0.0.1:5342/subdir``."""
        if self.dtype == UriDstType.IPV6:
            return f"tcp6://[{self.address}]:{self.port}/{self.subdir}"
        return f"tcp4://{self.address}:{self.port}/{self.subdir}"

    def endpoint(self) -> RelaydEndpoint:
        if self.dtype == UriDstType.IPV6:
            return RelaydEndpoint("ipv6", self.address, self.port)
        return RelaydEndpoint("ipv4", self.address, self.port)


@dataclass(frozen=True)
class RelaydOutput:
    control: NetUri
    data: NetUri

    @property
    def list_path(self) -> str:
        """build_network_session_path(): what `lttng list` shows as the trace output."""
        return f"{self.control.url} [data: {self.data.port}]"

    @property
    def base_path(self) -> str:
        """The control URL's folder, which replaces ``<session>-<date>`` on the relay
        daemon (set_session_base_path_from_uris())."""
        return self.control.subdir


def from_uris(uris: tuple[Uri, ...]) -> RelaydOutput:
    """add_uri_to_consumer() of a control and a data URI; CommandError as lttng-sessiond
    refuses them."""
    control: NetUri | None = None
    data: NetUri | None = None
    for uri in uris:
        if uri.dtype not in (UriDstType.IPV4, UriDstType.IPV6) or not uri.dst:
            raise CommandError(ErrorCode.INVALID, f"not a network URI: {uri}")
        if uri.stype == STREAM_CONTROL:
            if control is not None:
                raise CommandError(ErrorCode.URL_EXIST)
            if "../" in uri.subdir:
                # "Network URI subdirs are not allowed to walk up the path hierarchy"
                raise CommandError(ErrorCode.INVALID, "subdir walks up")
            port = uri.port or DEFAULT_CONTROL_PORT
            control = NetUri(UriDstType(uri.dtype), uri.dst, port, uri.subdir)
        elif uri.stype == STREAM_DATA:
            if data is not None:
                raise CommandError(ErrorCode.URL_EXIST)
            data = NetUri(UriDstType(uri.dtype), uri.dst, uri.port or DEFAULT_DATA_PORT)
        else:
            raise CommandError(ErrorCode.INVALID, f"stream type {uri.stype}")
    if control is None:
        raise CommandError(ErrorCode.URL_CTRL_MISS)
    if data is None:
        raise CommandError(ErrorCode.URL_DATA_MISS)
    explicit = {u.stype: u.port for u in uris}
    if explicit.get(STREAM_CONTROL) and explicit.get(STREAM_CONTROL) == explicit.get(STREAM_DATA):
        raise CommandError(ErrorCode.INVALID, "control and data ports are the same")
    return RelaydOutput(control, data)


def _error_code(reason: str) -> ErrorCode:
    """The consumer daemon's reason as create_connect_relayd() and
    send_consumer_relayd_socket() report it."""
    if "version" in reason:
        return ErrorCode.RELAYD_VERSION_FAIL
    if "refused the session" in reason or "refused trace chunk" in reason:
        return ErrorCode.ENABLE_CONSUMER_FAIL
    return ErrorCode.RELAYD_CONNECT_FAIL


async def setup_relayd(ctx: DaemonContext, session: Session) -> None:
    """cmd_setup_relayd(): once per session, the consumer daemon opens the session on the
    relay daemon. A failure is reported to the command that tried, and the next
    kernel-domain command tries again, as lttng-sessiond does after a failed connect
    (create_connect_relayd() leaves the output enabled); so does `lttng start`."""
    out = session.relayd
    ksess = session.kernel
    if out is None or ksess is None or ksess.relayd_session_id is not None:
        return
    link = await ctx.consumer.link()
    req = RelaydSession(
        session_id=session.id,
        control=out.control.endpoint(),
        data=out.data.endpoint(),
        session_name=session.name,
        hostname=session.hostname,
        base_path=out.base_path,
        creation_time=session.creation_time,
        chunk_id=None,  # the first trace chunk comes at the first start (rotation.py)
        session_name_contains_creation_time=session.auto_named,
        live_timer_us=session.live_timer,  # live.py
    )
    try:
        opened = await link.relayd_session(req)
    except ConsumerError as exc:
        reason = str(exc)
        log.error("session %s: unable to reach lttng-relayd at %s: %s",
                  session.name, out.list_path, reason)
        code = _error_code(reason) if reason.startswith("relayd_session:") else (
            ErrorCode.KERN_CONSUMER_FAIL)
        raise CommandError(code, reason) from None
    ksess.relayd_session_id = opened.relayd_session_id
    ksess.relayd_allows_clear = opened.clear_allowed
    log.info("session %s: relayd session %d, trace in %s of the relay daemon's output",
             session.name, opened.relayd_session_id, opened.output_path)


async def resolve(uris: tuple[Uri, ...]) -> tuple[Uri, ...]:
    """Host names as numeric addresses, as uri_parse() leaves them (set_ip_address()); the
    daemon's own session loading sends them unresolved."""
    resolved = []
    for uri in uris:
        if uri.dtype in (UriDstType.IPV4, UriDstType.IPV6) and uri.dst:
            family = socket.AF_INET6 if uri.dtype == UriDstType.IPV6 else socket.AF_INET
            try:
                ipaddress.ip_address(uri.dst)
            except ValueError:
                try:
                    infos = await trio.socket.getaddrinfo(uri.dst, None, family)
                except (OSError, UnicodeError) as exc:  # a name IDNA cannot encode
                    raise CommandError(ErrorCode.INVALID, f"{uri.dst!r}: {exc}") from None
                uri = dataclasses.replace(uri, dst=str(infos[0][4][0]))
        resolved.append(uri)
    return tuple(resolved)


def refuse_trace_file_limits(session: Session, what: str) -> None:
    """A --tracefile-size without --tracefile-count cannot stream: lttng-relayd 2.13 takes
    the next file number modulo the count (stream.c: stream_init_packet()), so a count of 0
    kills it with SIGFPE once the first file is full (later versions refuse the stream).
    The stock lttng-sessiond lets the relay daemon die; pylttng refuses ``what`` (the start
    of a streamed session, a snapshot recorded to a relay daemon) before connecting."""
    assert session.kernel is not None
    for chan in session.kernel.channels:
        if chan.attr.tracefile_size and not chan.attr.tracefile_count:
            log.warning("%s of %s refused: channel %s has a trace file size but no trace "
                        "file count, which lttng-relayd 2.13 cannot split by",
                        what, session.name, chan.name)
            raise CommandError(ErrorCode.NOT_SUPPORTED,
                               "trace file size without a trace file count when streaming")
