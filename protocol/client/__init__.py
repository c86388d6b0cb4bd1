"""Sans-I/O codec of the lttng-tools 2.13 client protocol (lttng CLI <-> session daemon).

`reader` turns bytes into typed `messages`; `writer` turns messages into bytes; the
packed layouts live in `structs`, the enumerations in `constants`.
"""

from .constants import Command, DomainType, ErrorCode, EventType
from .errors import ProtocolError
from .messages import Channel, Domain, Event, Reply, Request, SessionDescriptor, SessionInfo
from .reader import NEED_DATA, RequestReader
from .writer import encode_reply

__all__ = [
    "NEED_DATA",
    "Channel",
    "Command",
    "Domain",
    "DomainType",
    "ErrorCode",
    "Event",
    "EventType",
    "ProtocolError",
    "Reply",
    "Request",
    "RequestReader",
    "SessionDescriptor",
    "SessionInfo",
    "encode_reply",
]
