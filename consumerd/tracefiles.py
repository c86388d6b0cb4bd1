"""The files of one stream, named, split and recycled as lttng-consumerd 2.13 does.

- Without a trace file size, a stream writes ``<name>`` (``<channel>_<cpu>``, or
  ``metadata``), and a data stream indexes its packets in ``index/<name>.idx``.
- With one (``--tracefile-size``), the files are ``<name>_<n>`` and ``index/<name>_<n>.idx``,
  n counting from 0 (utils.c: utils_stream_file_path(); index.c: the index beside it).
  Before writing a packet that would take the current file past the size, the consumer
  moves to the next file, so a packet is never split (consumer.c:
  lttng_consumer_on_read_subbuffer_mmap() and _splice(), "Check if we need to change the
  tracefile before writing the packet").  The test is ``used + packet > size`` even on an
  empty file, so a packet larger than the size gets a file of its own and leaves an empty
  one behind (the `lttng` CLI rounds the size up to the sub-buffer size, so that takes a
  client that does not).
- With a count too (``--tracefile-count``), n goes round modulo the count: the oldest
  file and its index are truncated and written again (consumer-stream.c:
  consumer_stream_rotate_output_files(), consumer_stream_create_output_files()).

- A local snapshot writes its copy of a stream through the same (snapshot.py), from the
  file number where the stream's previous snapshot ended, its first file indexed only if
  the stream already had an index, each next one indexed (and left empty of entries):
  lttng-consumerd keeps a snapshot stream's file number and index between snapshots.

Files are created relative to the folder's fd (output.py: open_trace_dir()), which the
files own: the session daemon may rename the folder (trace chunks) while they are in use.
A session rotation gives the stream a new StreamFiles in the new chunk, counting from 0
again (consumer.c: rotate_local_stream()).
"""

from __future__ import annotations

import os

from . import index
from .fs_identity import ROOT, Owner
from .output import Transfer, create_trace_file, open_trace_dir, write_from_mmap


def stream_file_name(name: str, tracefile_size: int, n: int, suffix: str = "") -> str:
    """utils_stream_file_path(): ``<name>[_<n>]<suffix>``, ``_<n>`` when files are split."""
    return f"{name}_{n}{suffix}" if tracefile_size else f"{name}{suffix}"


class StreamFiles:
    """The data file (and index file) a stream writes now; ``place`` moves to the next."""

    __slots__ = (
        "_count",
        "_dir_fd",
        "_index_later",
        "_indexed",
        "_n",
        "_name",
        "_size",
        "_trace_dir",
        "data_fd",
        "index_fd",
        "owner",
        "path",
        "used",
    )

    def __init__(
        self,
        trace_dir: str,
        name: str,
        *,
        indexed: bool,
        tracefile_size: int = 0,
        tracefile_count: int = 0,
        dir_fd: int | None = None,
        owner: Owner = ROOT,
        first: int = 0,
        index_later: bool = False,
    ) -> None:
        """Create the first file(s) in ``trace_dir``, or in the folder ``dir_fd`` (then
        owned here; ``trace_dir`` only names it), each as ``owner`` (the session's user);
        raises OSError (``dir_fd`` closed).

        ``first`` numbers the first file (a snapshot goes on from its stream's previous
        one); with ``index_later``, the files after the first get an index even if the
        first has none (a snapshot's: consumer_stream_rotate_output_files() asks for one,
        and lttng-consumerd writes no entry in it)."""
        self.owner = owner
        try:
            self._dir_fd = open_trace_dir(trace_dir, owner) if dir_fd is None else dir_fd
        except BaseException:
            if dir_fd is not None:
                os.close(dir_fd)
            raise
        self._trace_dir = trace_dir
        self._name = name
        self._indexed = indexed
        self._size = tracefile_size
        self._count = tracefile_count
        self._index_later = index_later
        self._n = first
        self.data_fd = -1
        self.index_fd: int | None = None
        self.path = os.path.join(trace_dir, stream_file_name(name, tracefile_size, first))
        self.used = 0  # bytes of packets placed in the current file
        try:
            self._open(first)
        except BaseException:
            os.close(self._dir_fd)
            raise

    @property
    def base_path(self) -> str:
        """The stream's path before any ``_<n>``: what names it among the others."""
        return os.path.join(self._trace_dir, self._name)

    @property
    def number(self) -> int:
        """The current file's ``<n>``."""
        return self._n

    @property
    def indexed(self) -> bool:
        """Whether the current file has an index."""
        return self._indexed

    def place(self, size: int) -> int:
        """Where a packet of ``size`` bytes starts in the current file, after moving to the
        next file if it would not fit.  On OSError nothing changed: call again."""
        if self._size and self.used + size > self._size:
            n = self._n + 1
            self._open(n % self._count if self._count else n, self._indexed or self._index_later)
        start = self.used
        self.used += size
        return start

    def move_to(self, trace_dir: str, dir_fd: int | None) -> None:
        """Close the current files and folder; with a folder (owned from now on), start over
        there at file 0 (a session rotation: rotate_local_stream()), else stay closed with
        no file until the next move.  Raises OSError: then closed too."""
        self.close()
        if dir_fd is None:
            return
        self._dir_fd, self._trace_dir = dir_fd, trace_dir
        self._open(0)

    @property
    def is_open(self) -> bool:
        return self.data_fd >= 0

    def start_over(self) -> None:
        """Empty the current file (regenerated metadata: never split nor indexed)."""
        os.ftruncate(self.data_fd, 0)
        os.lseek(self.data_fd, 0, os.SEEK_SET)
        self.used = 0

    def _open(self, n: int, indexed: bool | None = None) -> None:
        """Create (truncate) file ``n`` and its index (if ``indexed``, by default if the
        stream's files are), then switch to them."""
        indexed = self._indexed if indexed is None else indexed
        name = stream_file_name(self._name, self._size, n)
        data_fd = create_trace_file(self._dir_fd, name, self.owner)
        index_fd = None
        try:
            if indexed:
                index_fd = self._create_index(n)
        except BaseException:
            os.close(data_fd)
            raise
        self._close_files()
        path = os.path.join(self._trace_dir, name)
        self.data_fd, self.index_fd, self.path, self._n, self.used = data_fd, index_fd, path, n, 0
        self._indexed = indexed

    def _create_index(self, n: int) -> int:
        name = stream_file_name(self._name, self._size, n, index.INDEX_SUFFIX)
        fd = create_trace_file(self._dir_fd, os.path.join(index.INDEX_DIR, name), self.owner)
        try:
            header = index.FILE_HEADER
            write_from_mmap(fd, memoryview(header), Transfer(offset=0, size=len(header)))
        except BaseException:
            os.close(fd)
            raise
        return fd

    def close(self) -> None:
        """Close the current files and the folder (idempotent)."""
        self._close_files()
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1

    def _close_files(self) -> None:
        if self.data_fd >= 0:
            os.close(self.data_fd)
            self.data_fd = -1
        if self.index_fd is not None:
            os.close(self.index_fd)
            self.index_fd = None
