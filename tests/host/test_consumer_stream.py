"""The drain loop of one stream, against a fake ring buffer (real fds, mmap and splice)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import trio
from pylttng.consumerd import output, stream
from pylttng.consumerd.output import create_trace_file, open_trace_dir
from pylttng.consumerd.stream import Step, Stream
from pylttng.consumerd.tracefiles import StreamFiles
from test_consumer_fakering import FakeRing, page_align


def make_stream(
    ring: FakeRing,
    tmp_path: Path,
    mode: str = "mmap",
    metadata: bool = False,
    *,
    size: int = 0,
    count: int = 0,
) -> Stream:
    """A stream of ``ring`` written to tmp_path/kernel/chan_0 (trace file size and count:
    ``size``, ``count``)."""
    files = StreamFiles(
        str(tmp_path / "kernel"),
        "chan_0",
        indexed=not metadata,
        tracefile_size=size,
        tracefile_count=count,
    )
    return Stream(
        ring,
        stream_fd=os.dup(ring.fd),
        files=files,
        metadata=metadata,
        output=mode,  # type: ignore[arg-type]
        max_subbuf_size=ring.max_subbuf_size(),
    )


def packet(i: int, size: int) -> bytes:
    return bytes([65 + i]) * size


def on_disk(*packets: bytes) -> bytes:
    """What lttng-consumerd leaves in a local file: each packet with its padding."""
    return b"".join(p.ljust(page_align(len(p)), b"\xee") for p in packets)


async def wait_for(predicate: object, timeout: float = 5.0) -> None:
    assert callable(predicate)
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.01)


@pytest.mark.parametrize("mode", ["mmap", "splice"])
async def test_drains_ready_subbuffers_then_finishes(
    ring: FakeRing, tmp_path: Path, mode: str
) -> None:
    s = make_stream(ring, tmp_path, mode)
    pkts = [packet(0, 5000), packet(1, 16384), packet(2, 1)]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(s.run)
        for p in pkts[:2]:
            ring.produce(p)
        await wait_for(lambda: ring.puts == 2)
        ring.produce(pkts[2])  # woken by poll, not by the fallback timer
        await wait_for(lambda: ring.puts == 3, timeout=0.15)
        ring.finalize()
        with trio.fail_after(5):
            await s.finished.wait()
    assert s.closed
    assert Path(s.path).read_bytes() == on_disk(*pkts)
    assert s.bytes_written == len(on_disk(*pkts))


async def test_idle_stream_is_not_woken(
    ring: FakeRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing ready, no wake-up: one try, then sleep until the fd says there is data."""
    s = make_stream(ring, tmp_path)
    tries = 0
    get_next = ring.get_next_subbuf

    def counting() -> object:
        nonlocal tries
        tries += 1
        return get_next()

    monkeypatch.setattr(ring, "get_next_subbuf", counting)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(s.run)
        await trio.sleep(1.5)
        assert tries == 1
        ring.produce(packet(0, 100))
        await wait_for(lambda: ring.puts == 1)
        ring.finalize()
        with trio.fail_after(5):
            await s.finished.wait()
    assert Path(s.path).read_bytes() == on_disk(packet(0, 100))


def test_trace_file_modes(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        dir_fd = open_trace_dir(str(tmp_path / "a" / "b"))
        os.close(create_trace_file(dir_fd, "index/metadata"))
        os.close(dir_fd)
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "a" / "b").st_mode & 0o777 == 0o770
    assert os.stat(tmp_path / "a" / "b" / "index").st_mode & 0o777 == 0o770
    assert os.stat(tmp_path / "a" / "b" / "index" / "metadata").st_mode & 0o777 == 0o660


async def test_short_writes_are_completed(
    ring: FakeRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    def short_write(fd: int, data: memoryview) -> int:
        nonlocal calls
        calls += 1
        return os.write(fd, data[:1000])

    monkeypatch.setattr(output, "_write", short_write)
    s = make_stream(ring, tmp_path)
    ring.produce(packet(0, 9000))
    assert s.step() is Step.WROTE
    # 12288 padded bytes, 1000 at a time; the index file's header and the packet's entry.
    assert calls == 13 + 2
    assert ring.puts == 1
    assert Path(s.path).read_bytes() == on_disk(packet(0, 9000))
    s.close()


async def test_full_disk_keeps_subbuffer_and_resumes(
    ring: FakeRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk_full = True

    def flaky_write(fd: int, data: memoryview) -> int:
        if disk_full:
            # Some bytes fit, then the disk is full: a short write, then ENOSPC.
            room = 3000 - os.fstat(fd).st_size
            if room <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return os.write(fd, data[:room])
        return os.write(fd, data)

    monkeypatch.setattr(output, "_write", flaky_write)
    monkeypatch.setattr(stream, "WRITE_RETRY_S", 0.05)
    s = make_stream(ring, tmp_path)
    pkts = [packet(0, 8192), packet(1, 100)]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(s.run)
        for p in pkts:
            ring.produce(p)
        await wait_for(lambda: s.write_error is not None)
        assert "No space left on device" in (s.write_error or "")
        assert ring.puts == 0  # the sub-buffer is kept, not released to the writer
        await trio.sleep(0.2)  # retries keep failing without losing or duplicating bytes
        assert os.stat(s.path).st_size == 3000
        assert ring.puts == 0
        disk_full = False
        await wait_for(lambda: ring.puts == 2)
        assert s.write_error is None
        ring.finalize()
        await s.finished.wait()
    assert Path(s.path).read_bytes() == on_disk(*pkts)


async def test_closed_on_a_full_disk_the_file_ends_at_a_whole_packet(
    ring: FakeRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fills_at_6000(fd: int, data: memoryview) -> int:
        room = 6000 - os.fstat(fd).st_size
        if room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data[:room])

    monkeypatch.setattr(output, "_write", fills_at_6000)
    s = make_stream(ring, tmp_path)
    first, second = packet(0, 4096), packet(1, 4096)
    ring.produce(first)
    ring.produce(second)
    while s.step() is not Step.STUCK:
        pass
    assert os.stat(s.path).st_size == 6000  # the second packet cut short by the disk
    s.close()
    assert Path(s.path).read_bytes() == on_disk(first)


async def test_flush_and_data_pending(ring: FakeRing, tmp_path: Path) -> None:
    s = make_stream(ring, tmp_path)
    ring.produce_partial(b"x" * 100)
    assert not s.data_pending()  # the open packet is not a ready sub-buffer
    s.flush()
    assert ring.flushes == 1
    assert s.data_pending()
    assert s.data_pending()  # the probe does not consume
    assert await s.drain_ready() is Step.AGAIN
    assert not s.data_pending()
    assert Path(s.path).read_bytes() == on_disk(b"x" * 100)
    s.close()


async def test_metadata_stream_is_not_flushed(ring: FakeRing, tmp_path: Path) -> None:
    s = make_stream(ring, tmp_path, metadata=True)
    s.flush()
    assert ring.flushes == 0
    s.close()


@pytest.mark.parametrize("mode", ["mmap", "splice"])
async def test_regenerated_metadata_starts_the_file_over(
    ring: FakeRing, tmp_path: Path, mode: str
) -> None:
    s = make_stream(ring, tmp_path, mode, metadata=True)
    old = [packet(0, 5000), packet(1, 100)]
    for p in old:
        ring.produce(p)
    assert [s.step(), s.step(), s.step()] == [Step.WROTE, Step.WROTE, Step.AGAIN]
    assert Path(s.path).read_bytes() == on_disk(*old)
    ring.version += 1  # `lttng regenerate metadata`: the whole text again
    new = packet(2, 7000)
    ring.produce(new)
    assert s.step() is Step.WROTE
    assert Path(s.path).read_bytes() == on_disk(new)
    s.close()


async def test_cancelled_stream_closes_its_fds(ring: FakeRing, tmp_path: Path) -> None:
    s = make_stream(ring, tmp_path)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(s.run)
        await trio.sleep(0.05)
        s.cancel_scope.cancel()
        await s.finished.wait()
    assert s.closed
    assert s.step() is Step.DONE
    assert not s.data_pending()


async def test_ioctl_failure_breaks_only_that_stream(
    ring: FakeRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise OSError(errno.EIO, "Input/output error")

    s = make_stream(ring, tmp_path)
    ring.produce(b"a")
    monkeypatch.setattr(ring, "get_next_subbuf", broken)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(s.run)
        await s.finished.wait()
    assert s.fatal_error is not None and "Input/output error" in s.fatal_error


async def test_bug_in_one_stream_does_not_stop_the_daemon(
    ring: FakeRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def buggy() -> None:
        raise RuntimeError("oops")

    s = make_stream(ring, tmp_path)
    ring.produce(b"a")
    monkeypatch.setattr(ring, "get_next_subbuf", buggy)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(s.run)
        await s.finished.wait()
    assert s.closed
    assert s.fatal_error is not None and "internal error" in s.fatal_error
