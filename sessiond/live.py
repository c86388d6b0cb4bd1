"""Live sessions (`lttng create --live[=US]`): what the session daemon adds to a session
streamed to lttng-relayd.

The `lttng` CLI does the user-facing part itself: the default live timer (1 s,
DEFAULT_LTTNG_LIVE_TIMER), spawning lttng-relayd when it was given no URL and none
listens, and `lttng view`, which runs babeltrace2 on
net://localhost/host/<hostname>/<session>. The session daemon keeps the timer, gives a
live descriptor without URLs the default output net://127.0.0.1 (session-descriptor.c:
lttng_session_descriptor_set_default_output()), makes every channel use the live timer
instead of a switch timer (cmd_channels.py), and hands the timer to the consumer daemon
with the relay daemon session (relayd_output.py), where the live timer runs
(consumerd/live_timer.py).
"""

from __future__ import annotations

import logging

from pylttng.protocol.client.constants import ErrorCode, SessionDescriptorOutputType, UriDstType
from pylttng.protocol.client.messages import SessionDescriptor, Uri

from .errors import CommandError
from .relayd_output import DEFAULT_CONTROL_PORT, DEFAULT_DATA_PORT, STREAM_CONTROL, STREAM_DATA

log = logging.getLogger("pylttng.sessiond.live")

DEFAULT_ADDRESS = "127.0.0.1"
U32_MAX = (1 << 32) - 1
# uri.h: LTTNG_URI_DST, LTTNG_TCP.
_URI_DST = 0
_TCP = 1


def default_uris() -> tuple[Uri, Uri]:
    """uri_parse_str_urls("net://127.0.0.1", NULL): the control and data URIs."""
    return _uri(STREAM_CONTROL, DEFAULT_CONTROL_PORT), _uri(STREAM_DATA, DEFAULT_DATA_PORT)


def _uri(stype: int, port: int) -> Uri:
    return Uri(
        dtype=UriDstType.IPV4,
        utype=_URI_DST,
        stype=stype,
        proto=_TCP,
        port=port,
        dst=DEFAULT_ADDRESS,
    )


def network_uris(desc: SessionDescriptor) -> tuple[Uri, ...]:
    """The descriptor's URIs, or the default ones when the client gave none."""
    return desc.uris or default_uris()


def check_descriptor(desc: SessionDescriptor) -> None:
    """A live descriptor pylttng carries out: a timer and a network output, as
    `lttng create --live` sends it (lttng_session_descriptor_live_network_create()), or
    none yet, as `lttng load` creates a live session."""
    if not desc.live_timer_us:
        # _lttng_session_descriptor_live_create() refuses a zero timer.
        raise CommandError(ErrorCode.INVALID, "live session without a live timer")
    if desc.live_timer_us > U32_MAX:
        # The session keeps it in an unsigned int (lttng-sessiond truncates it silently):
        # what `lttng list` and the relay daemon get must be what was asked.
        raise CommandError(ErrorCode.INVALID, "live timer beyond 32 bits")
    # lttng_create_session_live(name, NULL, timer) has no output: its URLs come with
    # SET_CONSUMER_URI (`lttng load`, cmd_output.py).
    if desc.output_type not in (SessionDescriptorOutputType.NETWORK,
                                SessionDescriptorOutputType.NONE):
        raise CommandError(ErrorCode.INVALID, "live session with a local output")
