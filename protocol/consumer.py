"""sessiond <-> consumerd messages: sans-I/O codec.

Wire format: each frame is a 4-byte big-endian payload length followed by a msgpack map.
Requests carry ``"cmd"``; every request gets exactly one reply, ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``.  File descriptors (the ring-buffer stream fd of
``add_stream``) travel beside the frame as SCM_RIGHTS ancillary data: that is the I/O
layer's job, this module never sees a socket or an fd.

Malformed input never desynchronises the stream: the length prefix always tells where the
next frame starts, so a frame whose payload is garbage (or too big) is reported and skipped.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

import msgpack

HEADER: Final = struct.Struct(">I")
# Requests are a few paths and integers; a bigger frame is a bug or garbage.
MAX_PAYLOAD: Final = 1 << 20
# lttng_channel_attr's tracefile_size and tracefile_count are uint64_t.
U64_MAX: Final = (1 << 64) - 1
# (uid_t) -1 / (gid_t) -1: "no id" to chown(2) and setfsuid(2).
ID_NONE: Final = (1 << 32) - 1

Output: TypeAlias = Literal["mmap", "splice"]
OUTPUTS: Final[tuple[Output, ...]] = ("mmap", "splice")


class ProtocolError(Exception):
    """A frame or message that does not follow the protocol; the text says why."""


# --- requests -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddStream:
    """Adopt a ring-buffer stream (its fd comes beside the frame) and drain it to a file.

    ``tracefile_size`` / ``tracefile_count`` are the channel's --tracefile-size and
    --tracefile-count (0: unlimited), which lttng-sessiond sends with the channel
    (kernel-consumer.c: kernel_consumer_add_channel()); here they come with each stream.
    """

    session_id: int
    trace_dir: str
    file_name: str
    metadata: bool
    output: Output = "mmap"
    tracefile_size: int = 0
    tracefile_count: int = 0
    # Only for a session that streams (RelaydSession): the stream's folder relative to the
    # trace chunk, domain first ("kernel"), as relayd.c: relayd_add_stream() sends it.
    relay_path: str = ""
    # The session's user: its folders and files are created with that user's rights and
    # belong to it (lttng-consumerd's run-as credentials of the channel).
    uid: int = 0
    gid: int = 0
    cmd: Literal["add_stream"] = field(default="add_stream", init=False)


@dataclass(frozen=True, slots=True)
class DataPending:
    session_id: int
    cmd: Literal["data_pending"] = field(default="data_pending", init=False)


@dataclass(frozen=True, slots=True)
class CloseSession:
    session_id: int
    cmd: Literal["close_session"] = field(default="close_session", init=False)


@dataclass(frozen=True, slots=True)
class SnapshotStream:
    """Copy what a stream's buffer holds now (its fd comes beside the frame) into
    ``trace_dir/file_name``: the newest ``max_packets`` packets (0: all), or for a
    metadata stream all of it. The consumerd closes its copy of the fd when done."""

    session_id: int
    trace_dir: str
    file_name: str
    metadata: bool
    max_packets: int = 0
    uid: int = 0  # the session's user, as in AddStream
    gid: int = 0
    # To the snapshot session opened on a relay daemon (RelaydSession with ``snapshot``):
    # the stream's folder in the snapshot's chunk ("kernel"); ``trace_dir`` is then "".
    relay_path: str = ""
    # The channel's --tracefile-size and --tracefile-count, as in AddStream.
    tracefile_size: int = 0
    tracefile_count: int = 0
    # A local copy goes on from where the stream's previous local snapshot left off, as
    # lttng-consumerd keeps a stream's file number and index file from one snapshot to
    # the next (consumer-stream.c): the file number to start at, and whether the stream
    # has an index file (it gets one the first time it moves to a next file).  The reply
    # gives both as they are at the end (``tracefile_index``, ``indexed``).
    tracefile_index: int = 0
    indexed: bool = False
    cmd: Literal["snapshot_stream"] = field(default="snapshot_stream", init=False)


CloseCommandName: TypeAlias = Literal["move_to_completed", "no_operation", "delete"]
CLOSE_COMMANDS: Final[tuple[CloseCommandName, ...]] = ("move_to_completed", "no_operation", "delete")


@dataclass(frozen=True, slots=True)
class RelaydRotation:
    """What the rotation of a session streamed to a relay daemon needs besides its streams'
    positions: the chunk it goes on in (None: no chunk, a rotation while stopped), created
    there first (CREATE_TRACE_CHUNK), and how the chunk being archived is closed there
    afterwards (CLOSE_TRACE_CHUNK): what lttng-sessiond asks its consumer for around
    ROTATE_CHANNEL (cmd.c: cmd_rotate_session(), session.c: session_set_trace_chunk(),
    session_close_trace_chunk())."""

    next_chunk_id: int | None
    creation_time: int  # of the next chunk, seconds since the epoch
    close_time: int  # of the chunk being archived
    close_command: CloseCommandName = "move_to_completed"


@dataclass(frozen=True, slots=True)
class RotateSession:
    """End the session's current trace chunk in every stream at the position of now and go
    on in ``trace_dir`` (each stream's folder of the new chunk), or in no chunk when it is
    empty (a rotation while stopped): lttng-sessiond's ROTATE_CHANNEL of each channel.
    A session streamed to a relay daemon gets ``relayd`` instead of a folder; the reply
    then has ``archive_path``, where the relay daemon put the closed chunk ("": none)."""

    session_id: int
    trace_dir: str
    relayd: RelaydRotation | None = None
    cmd: Literal["rotate_session"] = field(default="rotate_session", init=False)


@dataclass(frozen=True, slots=True)
class RotationPending:
    """Whether a stream still writes the chunk being rotated away from (reply ``pending``):
    lttng-sessiond's TRACE_CHUNK_EXISTS on the chunk being archived."""

    session_id: int
    cmd: Literal["rotation_pending"] = field(default="rotation_pending", init=False)


@dataclass(frozen=True, slots=True)
class ClearSession:
    """Drop what the session's data streams hold and have not consumed (CLEAR_CHANNEL)."""

    session_id: int
    cmd: Literal["clear_session"] = field(default="clear_session", init=False)


@dataclass(frozen=True, slots=True)
class ConsumedSize:
    """Bytes the session's data streams have written since they were added (reply
    ``bytes``): what lttng-consumerd's monitor timer reports for size-based rotations."""

    session_id: int
    cmd: Literal["consumed_size"] = field(default="consumed_size", init=False)


Family: TypeAlias = Literal["ipv4", "ipv6"]
# ADD_STREAM's pathname is length-prefixed on the wire (sessiond-comm/relayd.h:
# lttcomm_relayd_add_stream_2_11), but the stock lttng-relayd 2.13 refuses more than 255
# bytes (learnt against it; see protocol/relayd): refuse such a path before it gets there.
RELAY_PATH_MAX: Final = 255


@dataclass(frozen=True, slots=True)
class RelaydEndpoint:
    """One TCP end of a relay daemon: a numeric address (the sessiond resolves names, as
    uri.c: uri_parse() does before lttng-sessiond hands URIs to its consumer) and a port."""

    family: Family
    address: str
    port: int


@dataclass(frozen=True, slots=True)
class RelaydSession:
    """The session streams to a relay daemon: open its control and data connections,
    negotiate, CREATE_SESSION and CREATE_TRACE_CHUNK (what lttng-sessiond's cmd.c:
    create_connect_relayd() / send_consumer_relayd_sockets() and the consumer's
    relayd socket pair do in lttng-tools 2.13). Reply: ``relayd_session_id``,
    ``output_path`` and ``clear_allowed`` (the relay daemon is 2.12+ and allows `lttng
    clear`), or an error naming what failed (connect, version, refusal)."""

    session_id: int
    control: RelaydEndpoint
    data: RelaydEndpoint
    session_name: str
    hostname: str
    base_path: str
    creation_time: int  # seconds since the epoch
    # The session's current trace chunk; None: none yet, the first rotation creates it
    # (lttng-sessiond creates a session's first chunk at its first start).
    chunk_id: int | None
    live_timer_us: int = 0  # 0: not a live session
    snapshot: bool = False
    # The chunk's name on the relay daemon instead of the one it makes up ("": its own):
    # a snapshot's "<output name>-<date>-<n>" (CREATE_TRACE_CHUNK's override_name).
    chunk_name: str = ""
    # An auto-generated session name already holds its date: the relay daemon appends
    # none to the session's folder (lttng-sessiond's has_auto_generated_name).
    session_name_contains_creation_time: bool = False
    cmd: Literal["relayd_session"] = field(default="relayd_session", init=False)


Request: TypeAlias = (
    RelaydSession
    | AddStream
    | DataPending
    | CloseSession
    | SnapshotStream
    | RotateSession
    | RotationPending
    | ClearSession
    | ConsumedSize
)


@dataclass(frozen=True, slots=True)
class Reply:
    """``ok`` with extra ``values`` (e.g. ``pending``), or not ``ok`` with an ``error``."""

    ok: bool
    error: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def success(cls, **values: Any) -> Reply:
        return cls(ok=True, values=values)

    @classmethod
    def failure(cls, error: str) -> Reply:
        return cls(ok=False, error=error)


# --- framing ------------------------------------------------------------------------------


def frame(payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"frame payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return HEADER.pack(len(payload)) + payload


@dataclass(frozen=True, slots=True)
class Frame:
    payload: bytes


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame that was skipped; ``reason`` is meant for an error reply."""

    reason: str


FrameEvent: TypeAlias = Frame | BadFrame


class FrameDecoder:
    """Incremental splitter of a byte stream into frames (feed bytes, pull events)."""

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self._buf = bytearray()
        self._max = max_payload
        self._skip = 0  # bytes still to drop of an oversized frame

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete frame (non-zero at EOF means a truncated frame)."""
        return len(self._buf) + self._skip

    def next_event(self) -> FrameEvent | None:
        """The next complete frame, a report of a skipped one, or None if more bytes needed."""
        if self._skip:
            dropped = min(self._skip, len(self._buf))
            del self._buf[:dropped]
            self._skip -= dropped
            if self._skip:
                return None
        if len(self._buf) < HEADER.size:
            return None
        (length,) = HEADER.unpack_from(self._buf)
        if length > self._max:
            # Drop the whole declared frame so the stream stays in sync, report it once.
            del self._buf[: HEADER.size]
            self._skip = length
            dropped = min(self._skip, len(self._buf))
            del self._buf[:dropped]
            self._skip -= dropped
            return BadFrame(f"frame of {length} bytes exceeds the {self._max}-byte limit")
        end = HEADER.size + length
        if len(self._buf) < end:
            return None
        payload = bytes(self._buf[HEADER.size : end])
        del self._buf[:end]
        return Frame(payload)


# --- payload <-> objects ------------------------------------------------------------------


def _unpack_map(payload: bytes) -> dict[str, Any]:
    try:
        obj = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    # msgpack reports garbage as ValueError subclasses (ExtraData, FormatError, StackError)
    # or UnpackException, and unhashable map keys as TypeError.
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise ProtocolError(f"payload is not valid msgpack: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"payload must be a msgpack map, not {type(obj).__name__}")
    if not all(isinstance(k, str) for k in obj):
        raise ProtocolError("payload map keys must be strings")
    return obj


def _pack(obj: Mapping[str, Any]) -> bytes:
    return frame(msgpack.packb(dict(obj), use_bin_type=True))


def _field(msg: Mapping[str, Any], name: str, kind: type, cmd: str) -> Any:
    if name not in msg:
        raise ProtocolError(f"{cmd}: missing field {name!r}")
    value = msg[name]
    # bool is an int subclass: never accept one for the other.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError(
            f"{cmd}: field {name!r} must be {kind.__name__}, not {type(value).__name__}"
        )
    return value


def _session_id(msg: Mapping[str, Any], cmd: str) -> int:
    sid: int = _field(msg, "session_id", int, cmd)
    if sid < 0:
        raise ProtocolError(f"{cmd}: session_id must be >= 0")
    return sid


def _optional_u64(msg: Mapping[str, Any], name: str, cmd: str) -> int:
    """An optional unsigned 64-bit field (absent: 0)."""
    if name not in msg:
        return 0
    value: int = _field(msg, name, int, cmd)
    if not 0 <= value <= U64_MAX:
        raise ProtocolError(f"{cmd}: field {name!r} must be within [0, 2**64 - 1]")
    return value


def _u64(msg: Mapping[str, Any], name: str, cmd: str) -> int:
    """A required unsigned 64-bit field."""
    _field(msg, name, int, cmd)
    return _optional_u64(msg, name, cmd)


def _optional_id(msg: Mapping[str, Any], name: str, cmd: str) -> int:
    """An optional uid or gid (absent: 0, root); (uid_t) -1 names nobody."""
    if name not in msg:
        return 0
    value: int = _field(msg, name, int, cmd)
    if not 0 <= value < ID_NONE:
        raise ProtocolError(f"{cmd}: field {name!r} must be within [0, 2**32 - 2]")
    return value


def _nonempty(msg: Mapping[str, Any], name: str, cmd: str) -> str:
    value: str = _field(msg, name, str, cmd)
    if not value or "\0" in value:
        raise ProtocolError(f"{cmd}: field {name!r} must be a non-empty path without NUL")
    return value


def _file_name(msg: Mapping[str, Any], cmd: str) -> str:
    file_name = _nonempty(msg, "file_name", cmd)
    if "/" in file_name or file_name in (".", ".."):
        raise ProtocolError(f"{cmd}: file_name {file_name!r} must be a plain name")
    return file_name


def parse_request(payload: bytes) -> Request:
    """Decode one request payload; raises ProtocolError with a message fit for a reply."""
    msg = _unpack_map(payload)
    cmd = msg.get("cmd")
    if not isinstance(cmd, str):
        raise ProtocolError("request has no 'cmd' string")
    if cmd == "relayd_session":
        return _relayd_session(msg)
    if cmd == "add_stream":
        file_name = _file_name(msg, cmd)
        output = msg.get("output", "mmap")
        if output not in OUTPUTS:
            raise ProtocolError(f"add_stream: output must be 'mmap' or 'splice', not {output!r}")
        metadata: bool = _field(msg, "metadata", bool, cmd)
        tracefile_size = _optional_u64(msg, "tracefile_size", cmd)
        tracefile_count = _optional_u64(msg, "tracefile_count", cmd)
        if metadata and (tracefile_size or tracefile_count):
            # lttng-sessiond gives the metadata channel neither (channel.c defaults): a
            # metadata file split in pieces would be unreadable.
            raise ProtocolError("add_stream: a metadata stream has no trace file size or count")
        return AddStream(
            session_id=_session_id(msg, cmd),
            trace_dir=_nonempty(msg, "trace_dir", cmd),
            file_name=file_name,
            metadata=metadata,
            output=output,
            tracefile_size=tracefile_size,
            tracefile_count=tracefile_count,
            relay_path=_relay_path(msg, cmd),
            uid=_optional_id(msg, "uid", cmd),
            gid=_optional_id(msg, "gid", cmd),
        )
    if cmd == "snapshot_stream":
        max_packets: int = _field(msg, "max_packets", int, cmd)
        if max_packets < 0:
            raise ProtocolError("snapshot_stream: max_packets must be >= 0")
        relay_path = _relay_path(msg, cmd)
        if relay_path and _field(msg, "trace_dir", str, cmd):
            raise ProtocolError("snapshot_stream: a snapshot sent to a relayd has no trace_dir")
        metadata = _field(msg, "metadata", bool, cmd)
        tracefile_size = _optional_u64(msg, "tracefile_size", cmd)
        tracefile_count = _optional_u64(msg, "tracefile_count", cmd)
        tracefile_index = _optional_u64(msg, "tracefile_index", cmd)
        indexed: bool = _field(msg, "indexed", bool, cmd) if "indexed" in msg else False
        if metadata and (tracefile_size or tracefile_count or tracefile_index or indexed):
            raise ProtocolError("snapshot_stream: a metadata stream is neither split nor indexed")
        if tracefile_count and tracefile_index >= tracefile_count:
            raise ProtocolError("snapshot_stream: tracefile_index must be below tracefile_count")
        return SnapshotStream(
            session_id=_session_id(msg, cmd),
            trace_dir="" if relay_path else _nonempty(msg, "trace_dir", cmd),
            file_name=_file_name(msg, cmd),
            metadata=metadata,
            max_packets=max_packets,
            uid=_optional_id(msg, "uid", cmd),
            gid=_optional_id(msg, "gid", cmd),
            relay_path=relay_path,
            tracefile_size=tracefile_size,
            tracefile_count=tracefile_count,
            tracefile_index=tracefile_index,
            indexed=indexed,
        )
    if cmd == "rotate_session":
        trace_dir: str = _field(msg, "trace_dir", str, cmd)
        if "\0" in trace_dir:
            raise ProtocolError("rotate_session: field 'trace_dir' must be a path without NUL")
        relayd = _relayd_rotation(msg["relayd"], cmd) if "relayd" in msg else None
        if relayd is not None and trace_dir:
            raise ProtocolError("rotate_session: a streamed session has no trace_dir")
        return RotateSession(_session_id(msg, cmd), trace_dir, relayd)
    plain = _SESSION_REQUESTS.get(cmd)
    if plain is not None:
        return plain(_session_id(msg, cmd))
    raise ProtocolError(f"unknown command {cmd!r}")


def _relayd_rotation(raw: Any, cmd: str) -> RelaydRotation:
    where = f"{cmd}.relayd"
    if not isinstance(raw, dict):
        raise ProtocolError(f"{where} must be a map")
    next_chunk = raw.get("next_chunk_id")
    if next_chunk is not None:
        next_chunk = _u64(raw, "next_chunk_id", where)
    command = raw.get("close_command")
    if command not in CLOSE_COMMANDS:
        raise ProtocolError(f"{where}: close_command must be one of {CLOSE_COMMANDS}")
    return RelaydRotation(
        next_chunk_id=next_chunk,
        creation_time=_u64(raw, "creation_time", where),
        close_time=_u64(raw, "close_time", where),
        close_command=command,
    )


def _relay_path(msg: Mapping[str, Any], cmd: str) -> str:
    if "relay_path" not in msg:
        return ""
    path: str = _field(msg, "relay_path", str, cmd)
    if "\0" in path or path.startswith("/") or len(path.encode()) > RELAY_PATH_MAX:
        raise ProtocolError(
            f"{cmd}: relay_path must be relative, without NUL, at most {RELAY_PATH_MAX} bytes"
        )
    return path


def _endpoint(msg: Mapping[str, Any], name: str, cmd: str) -> RelaydEndpoint:
    raw = _field(msg, name, dict, cmd)
    where = f"{cmd}.{name}"
    family = raw.get("family")
    if family not in ("ipv4", "ipv6"):
        raise ProtocolError(f"{where}: family must be 'ipv4' or 'ipv6', not {family!r}")
    address: str = _field(raw, "address", str, where)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        raise ProtocolError(f"{where}: {address!r} is not a numeric IP address") from None
    if parsed.version != (4 if family == "ipv4" else 6):
        raise ProtocolError(f"{where}: address {address!r} is not {family}")
    port: int = _field(raw, "port", int, where)
    if not 0 < port < 1 << 16:
        raise ProtocolError(f"{where}: port must be within [1, 65535]")
    return RelaydEndpoint(family, address, port)


def _relayd_session(msg: Mapping[str, Any]) -> RelaydSession:
    cmd = "relayd_session"
    name = _nonempty(msg, "session_name", cmd)
    hostname = _nonempty(msg, "hostname", cmd)
    base_path: str = _field(msg, "base_path", str, cmd)
    if "\0" in base_path:
        raise ProtocolError(f"{cmd}: field 'base_path' must be a path without NUL")
    live = _optional_u64(msg, "live_timer_us", cmd)
    # The live timer goes on the wire as a uint32_t (lttcomm_relayd_create_session_2_11).
    if live >= 1 << 32:
        raise ProtocolError(f"{cmd}: live_timer_us must fit in 32 bits")
    return RelaydSession(
        session_id=_session_id(msg, cmd),
        control=_endpoint(msg, "control", cmd),
        data=_endpoint(msg, "data", cmd),
        session_name=name,
        hostname=hostname,
        base_path=base_path,
        creation_time=_u64(msg, "creation_time", cmd),
        chunk_id=None if msg.get("chunk_id") is None else _u64(msg, "chunk_id", cmd),
        live_timer_us=live,
        snapshot=_field(msg, "snapshot", bool, cmd),
        chunk_name=_chunk_name(msg, cmd),
        session_name_contains_creation_time=_optional_flag(
            msg, "session_name_contains_creation_time", cmd
        ),
    )


def _chunk_name(msg: Mapping[str, Any], cmd: str) -> str:
    if "chunk_name" not in msg:
        return ""
    name: str = _field(msg, "chunk_name", str, cmd)
    if "\0" in name or "/" in name or name in (".", ".."):
        raise ProtocolError(f"{cmd}: chunk_name {name!r} must be a plain name")
    return name


def _optional_flag(msg: Mapping[str, Any], name: str, cmd: str) -> bool:
    return _field(msg, name, bool, cmd) if name in msg else False


# Requests that carry nothing but the session id.
_SESSION_REQUESTS: Final[dict[str, Callable[[int], Request]]] = {
    "data_pending": DataPending,
    "close_session": CloseSession,
    "rotation_pending": RotationPending,
    "clear_session": ClearSession,
    "consumed_size": ConsumedSize,
}


def encode_request(req: Request) -> bytes:
    """A complete frame for ``req``."""
    msg: dict[str, Any] = {"cmd": req.cmd, "session_id": req.session_id}
    if isinstance(req, AddStream):
        msg.update(
            trace_dir=req.trace_dir,
            file_name=req.file_name,
            metadata=req.metadata,
            output=req.output,
            tracefile_size=req.tracefile_size,
            tracefile_count=req.tracefile_count,
            uid=req.uid,
            gid=req.gid,
        )
        if req.relay_path:
            msg.update(relay_path=req.relay_path)
    elif isinstance(req, RelaydSession):
        msg.update(
            control=_endpoint_map(req.control),
            data=_endpoint_map(req.data),
            session_name=req.session_name,
            hostname=req.hostname,
            base_path=req.base_path,
            creation_time=req.creation_time,
            chunk_id=req.chunk_id,
            live_timer_us=req.live_timer_us,
            snapshot=req.snapshot,
            session_name_contains_creation_time=req.session_name_contains_creation_time,
        )
        if req.chunk_name:
            msg.update(chunk_name=req.chunk_name)
    elif isinstance(req, SnapshotStream):
        msg.update(
            trace_dir=req.trace_dir,
            file_name=req.file_name,
            metadata=req.metadata,
            max_packets=req.max_packets,
            uid=req.uid,
            gid=req.gid,
            tracefile_size=req.tracefile_size,
            tracefile_count=req.tracefile_count,
            tracefile_index=req.tracefile_index,
            indexed=req.indexed,
        )
        if req.relay_path:
            msg.update(relay_path=req.relay_path)
    elif isinstance(req, RotateSession):
        msg.update(trace_dir=req.trace_dir)
        if req.relayd is not None:
            msg.update(relayd=dataclasses.asdict(req.relayd))
    return _pack(msg)


def _endpoint_map(end: RelaydEndpoint) -> dict[str, Any]:
    return {"family": end.family, "address": end.address, "port": end.port}


def request_fd_count(req: Request) -> int:
    """How many fds travel beside this request's frame."""
    return 1 if isinstance(req, AddStream | SnapshotStream) else 0


def encode_reply(reply: Reply) -> bytes:
    """A complete frame for ``reply``."""
    if reply.ok:
        return _pack({**reply.values, "ok": True})
    return _pack({"ok": False, "error": reply.error or "unspecified error"})


def parse_reply(payload: bytes) -> Reply:
    msg = _unpack_map(payload)
    ok = msg.pop("ok", None)
    if not isinstance(ok, bool):
        raise ProtocolError("reply has no boolean 'ok'")
    if ok:
        return Reply(ok=True, values=msg)
    error = msg.get("error")
    if not isinstance(error, str):
        raise ProtocolError("error reply has no 'error' string")
    return Reply(ok=False, error=error)
