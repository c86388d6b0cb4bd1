"""Relay daemon URLs as text (a saved session's <control_uri>/<data_uri>) turned into the
URIs liblttng-ctl sends with SET_CONSUMER_URI (uri.c: uri_parse(), uri_parse_str_urls()).
Pure: host names are left as they are; the session daemon resolves them (relayd_output)."""

from __future__ import annotations

import re

from pylttng.protocol.client.constants import UriDstType
from pylttng.protocol.client.messages import Uri

from .relayd_output import STREAM_CONTROL, STREAM_DATA

_TCP = 1  # LTTNG_TCP
# proto://host-or-[v6]:port1:port2/subdir
_URL = re.compile(r"(?P<proto>net6|net|tcp6|tcp4|tcp)://"
                  r"(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:/\[\]]+))"
                  r"(?::(?P<p1>\d*))?(?::(?P<p2>\d*))?(?:/(?P<subdir>.*))?")


def _port(text: str | None) -> int:
    if not text:
        return 0
    port = int(text)
    if not 0 < port <= 0xFFFF:
        raise ValueError(f"invalid port number {port}")
    return port


def parse_url(url: str) -> tuple[Uri, ...]:
    """uri_parse() of a network URL: two URIs (control, data) for net[6]://, one for tcp."""
    m = _URL.fullmatch(url)
    if m is None:
        raise ValueError(f"unrecognized URL {url!r}")
    proto = m["proto"]
    v6 = proto in ("net6", "tcp6")
    if m["v6"] is not None and not v6:
        v6 = True  # a bracketed address is IPv6 whatever the protocol says
    dtype = UriDstType.IPV6 if v6 else UriDstType.IPV4
    address = m["v6"] if m["v6"] is not None else m["host"]
    net = proto.startswith("net")
    if m["p2"] is not None and not net:
        raise ValueError(f"two ports are only for net:// URLs: {url!r}")
    control = Uri(dtype=dtype, stype=STREAM_CONTROL, proto=_TCP, port=_port(m["p1"]),
                  subdir=m["subdir"] or "", dst=address)
    if not net:
        return (control,)
    return control, Uri(dtype=dtype, stype=STREAM_DATA, proto=_TCP, port=_port(m["p2"]),
                        dst=address)


def parse_urls(control: str, data: str) -> tuple[Uri, Uri]:
    """uri_parse_str_urls(): a net:// control URL alone (or with an equal data URL), or a
    control and a data URL to the same host."""
    ctrl = parse_url(control)
    if len(ctrl) == 2:
        if data and data != control:
            raise ValueError("a net:// control URL with a different data URL")
        return ctrl[0], ctrl[1]
    data_uris = parse_url(data)
    if len(data_uris) != 1:
        raise ValueError("a data URL cannot use net://")
    data_uri = data_uris[0]
    if (data_uri.dtype, data_uri.dst) != (ctrl[0].dtype, ctrl[0].dst):
        raise ValueError("control and data destination mismatch")
    return ctrl[0], Uri(dtype=data_uri.dtype, stype=STREAM_DATA, proto=_TCP,
                        port=data_uri.port, subdir=data_uri.subdir, dst=data_uri.dst)
