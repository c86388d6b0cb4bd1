"""sessiond/relayd_output.py: the URIs `lttng create -U/--ctrl-url/--data-url` sends, their
default ports, how `lttng list` shows them, and what lttng-sessiond refuses."""

from __future__ import annotations

import dataclasses

import pytest
import trio
from pylttng.protocol.client.constants import ErrorCode, UriDstType
from pylttng.protocol.client.messages import Uri
from pylttng.protocol.consumer import RelaydEndpoint
from pylttng.sessiond.errors import CommandError
from pylttng.sessiond.relayd_output import STREAM_CONTROL, STREAM_DATA, from_uris, resolve


def uri(stype: int, port: int = 0, subdir: str = "", *, v6: bool = False) -> Uri:
    dtype = UriDstType.IPV6 if v6 else UriDstType.IPV4
    return Uri(dtype=dtype, stype=stype, proto=1, port=port, subdir=subdir,
               dst="::1" if v6 else "127.0.0.1")


def test_net_url_gets_the_default_ports() -> None:
    out = from_uris((uri(STREAM_CONTROL), uri(STREAM_DATA)))
    assert out.list_path == "tcp4://127.0.0.1:5342/ [data: 5343]"
    assert out.control.endpoint() == RelaydEndpoint("ipv4", "127.0.0.1", 5342)
    assert out.data.endpoint() == RelaydEndpoint("ipv4", "127.0.0.1", 5343)
    assert out.base_path == ""


def test_control_url_folder_is_the_base_path() -> None:
    out = from_uris((uri(STREAM_CONTROL, 6342, "sub/dir"), uri(STREAM_DATA, 6343)))
    assert out.list_path == "tcp4://127.0.0.1:6342/sub/dir [data: 6343]"
    assert out.base_path == "sub/dir"
    assert out.control.url == "tcp4://127.0.0.1:6342/sub/dir"
    assert out.data.url == "tcp4://127.0.0.1:6343/"


def test_ipv6_in_brackets() -> None:
    out = from_uris((uri(STREAM_CONTROL, v6=True), uri(STREAM_DATA, v6=True)))
    assert out.list_path == "tcp6://[::1]:5342/ [data: 5343]"
    assert out.data.endpoint() == RelaydEndpoint("ipv6", "::1", 5343)


@pytest.mark.parametrize(
    ("uris", "code"),
    [
        ((uri(STREAM_CONTROL, 7000), uri(STREAM_DATA, 7000)), ErrorCode.INVALID),
        ((uri(STREAM_CONTROL, subdir="a/../b"), uri(STREAM_DATA)), ErrorCode.INVALID),
        ((uri(STREAM_DATA),), ErrorCode.URL_CTRL_MISS),
        ((uri(STREAM_CONTROL),), ErrorCode.URL_DATA_MISS),
        ((uri(STREAM_CONTROL), uri(STREAM_CONTROL), uri(STREAM_DATA)), ErrorCode.URL_EXIST),
        ((Uri(dtype=UriDstType.PATH, dst="/tmp"), uri(STREAM_DATA)), ErrorCode.INVALID),
    ],
)
def test_refused_as_lttng_sessiond_refuses(uris: tuple[Uri, ...], code: ErrorCode) -> None:
    with pytest.raises(CommandError) as caught:
        from_uris(uris)
    assert caught.value.code == code


@pytest.mark.parametrize("name", ["127.0.0.\udcff\udcff\x7f", "a" * 64 + ".example"])
def test_a_host_name_that_cannot_be_looked_up_is_invalid(name: str) -> None:
    """Bytes that are no address and that IDNA cannot encode (the fuzzer's finding), or
    a label longer than DNS allows: refused, not a daemon error."""
    bad = dataclasses.replace(uri(STREAM_CONTROL), dst=name)
    with pytest.raises(CommandError) as caught:
        trio.run(resolve, (bad, uri(STREAM_DATA)))
    assert caught.value.code == ErrorCode.INVALID
