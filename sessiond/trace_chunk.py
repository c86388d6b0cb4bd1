"""Trace chunks of a session with local output: their names and folders, as lttng-sessiond
2.13 lays them out (src/common/trace-chunk.c, src/bin/lttng-sessiond/session.c).

A session with an output records into a trace chunk from its first start.  Chunk 0 lives
in the session's output folder itself (path ""); a rotation moves it aside into
``.tmp_old_chunk`` and records on in a new chunk, created as ``.tmp_new_chunk`` and named
``<begin>-<id>`` once the old one is closed; once the consumer has written all of the old
chunk, it becomes ``archives/<begin>-<end>-<id>`` (MOVE_TO_COMPLETED), is deleted
(DELETE: `lttng clear`) or stays where it is (NO_OPERATION).  Dates are ISO 8601 in the
compact form, local time with its UTC offset (time.c: time_to_iso8601_str()).

The session daemon owns these folders: it renames them while the consumer still writes
into them (the consumer holds their fds), as lttng-sessiond does.
"""

from __future__ import annotations

import enum
import logging
import os
import shutil
import time
from dataclasses import dataclass

log = logging.getLogger("pylttng.sessiond.chunk")

# src/common/defaults.h
ARCHIVES_DIR = "archives"  # DEFAULT_ARCHIVED_TRACE_CHUNKS_DIRECTORY
TMP_OLD_CHUNK = ".tmp_old_chunk"  # DEFAULT_CHUNK_TMP_OLD_DIRECTORY
TMP_NEW_CHUNK = ".tmp_new_chunk"  # DEFAULT_CHUNK_TMP_NEW_DIRECTORY
KERNEL_DIR = "kernel"  # DEFAULT_KERNEL_TRACE_DIR: a kernel session's one top-level folder
DIR_MODE = 0o770  # DIR_CREATION_MODE


class CloseCommand(enum.Enum):
    """enum lttng_trace_chunk_command_type: what becomes of a closed chunk."""

    MOVE_TO_COMPLETED = 0
    NO_OPERATION = 1
    DELETE = 2


def iso8601(timestamp: int) -> str:
    return time.strftime("%Y%m%dT%H%M%S%z", time.localtime(timestamp))


def chunk_name(chunk_id: int, begin: int, end: int | None = None) -> str:
    """generate_chunk_name(): ``<begin>[-<end>]-<id>``."""
    dates = iso8601(begin) if end is None else f"{iso8601(begin)}-{iso8601(end)}"
    return f"{dates}-{chunk_id}"


@dataclass
class TraceChunk:
    id: int
    creation_time: int
    path: str  # folder relative to the session output; "": the output folder itself
    close_time: int | None = None
    close_command: CloseCommand | None = None

    @property
    def name(self) -> str:
        """Chunk 0 has no name until closed (lttng_trace_chunk_create())."""
        if self.close_time is not None or self.id:
            return chunk_name(self.id, self.creation_time, self.close_time)
        return ""

    def kernel_dir(self, output: str) -> str:
        return os.path.join(output, self.path, KERNEL_DIR)


def create_chunk(output: str, chunk_id: int, path: str | None) -> TraceChunk:
    """lttng_trace_chunk_create() + set_as_owner() + kernel_create_channel_subdirectories():
    the chunk's kernel folder exists on return (path None: the chunk's name)."""
    chunk = TraceChunk(id=chunk_id, creation_time=int(time.time()), path="")
    chunk.path = chunk.name if path is None else path
    os.makedirs(chunk.kernel_dir(output), mode=DIR_MODE, exist_ok=True)
    return chunk


def rename_path(output: str, chunk: TraceChunk, path: str | None) -> None:
    """lttng_trace_chunk_rename_path() (None: the chunk's name).  Between two sub-folders
    the folder is renamed; to or from the output folder itself, the chunk's top-level
    folder (kernel/) moves."""
    new = chunk.name if path is None else path
    old = chunk.path
    if new == old:
        return
    if old and new:
        os.rename(os.path.join(output, old), os.path.join(output, new))
    elif not old:
        os.makedirs(os.path.join(output, new), mode=DIR_MODE, exist_ok=True)
        _move_kernel_dir(output, os.path.join(output, new))
    else:
        _move_kernel_dir(os.path.join(output, old), output)
        os.rmdir(os.path.join(output, old))
    chunk.path = new


def _move_kernel_dir(src: str, dst: str) -> None:
    if os.path.isdir(os.path.join(src, KERNEL_DIR)):
        os.rename(os.path.join(src, KERNEL_DIR), os.path.join(dst, KERNEL_DIR))


def release_chunk(output: str, chunk: TraceChunk) -> None:
    """The close command's post-release work, once no stream writes the chunk any more
    (lttng_trace_chunk_move_to_completed_post_release(), _delete_post_release_owner())."""
    if chunk.close_command is CloseCommand.MOVE_TO_COMPLETED:
        archives = os.path.join(output, ARCHIVES_DIR)
        os.makedirs(archives, mode=DIR_MODE, exist_ok=True)
        if chunk.path != TMP_OLD_CHUNK:  # rotated while stopped: never moved aside
            rename_path(output, chunk, TMP_OLD_CHUNK)
        os.rename(os.path.join(output, chunk.path), os.path.join(archives, chunk.name))
    elif chunk.close_command is CloseCommand.DELETE:
        shutil.rmtree(chunk.kernel_dir(output), ignore_errors=True)
        if chunk.path:
            os.rmdir(os.path.join(output, chunk.path))
