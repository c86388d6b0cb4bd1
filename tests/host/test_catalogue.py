"""LIST_TRACEPOINTS: the TRACEPOINT_LIST fd's text and the reply, as lttng-sessiond builds them."""

from __future__ import annotations

from pylttng.protocol.client import replies, writer
from pylttng.protocol.client.messages import Event
from pylttng.protocol.client.reply_writer import encode_answer
from pylttng.sessiond.kernel_tracer import parse_tracepoint_list


def test_parse_stops_at_the_first_bad_line() -> None:
    text = ("event { name = sched_switch; };\n"
            "event { name = timer_hrtimer_start; };\n"
            "garbage\n"
            "event { name = after; };\n")
    assert parse_tracepoint_list(text) == ["sched_switch", "timer_hrtimer_start"]


def test_reply_is_one_zeroed_event_per_name() -> None:
    zeroed = [Event(name=n, loglevel_type=0, loglevel=0, enabled=-1) for n in ("a", "b")]
    header, body, fds = encode_answer(replies.CatalogueList(zeroed))
    assert header == writer.encode_list_header(2) and fds == ()
    one = writer.encode_event(zeroed[0])
    assert body.startswith(one)
    assert len(body) == 2 * len(one)
