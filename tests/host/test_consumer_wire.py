"""FramedSocket's own socket handling: sends that meet a full socket buffer (EAGAIN),
frames split across reads, fds riding with a frame, and close() waking a waiting receive."""

from __future__ import annotations

import os
import socket

import pytest
import trio
import trio.testing
from pylttng.consumerd.wire import ConnectionClosed, FramedSocket
from pylttng.protocol.consumer import Frame, frame


def framed_pair() -> tuple[FramedSocket, FramedSocket]:
    a, b = trio.socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return FramedSocket(a), FramedSocket(b)


async def test_a_frame_larger_than_the_socket_buffer_arrives_whole() -> None:
    sender, receiver = framed_pair()
    # Far beyond a unix socket's buffer: send() must wait for the reader (EAGAIN) and go on.
    payload = os.urandom(900_000)
    got: list[Frame] = []

    async def receive() -> None:
        event = await receiver.receive()
        assert isinstance(event, Frame)
        got.append(event)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive)
        await sender.send(frame(payload))
    assert got == [Frame(payload)]
    sender.close()
    receiver.close()


async def test_frames_split_across_reads_and_fds_ride_with_theirs() -> None:
    sender, receiver = framed_pair()
    read_fd, write_fd = os.pipe()
    try:
        await sender.send(frame(b"first"), (write_fd,))
        await sender.send(frame(b"second"))
        assert await receiver.receive() == Frame(b"first")
        passed = receiver.take_fd()
        assert passed is not None and passed != write_fd
        os.write(passed, b"x")  # the same pipe, through the received copy
        os.close(passed)
        assert os.read(read_fd, 1) == b"x"
        assert await receiver.receive() == Frame(b"second")
        assert receiver.take_fd() is None
    finally:
        os.close(read_fd)
        os.close(write_fd)
        sender.close()
        receiver.close()


async def test_end_of_stream_mid_frame_is_reported() -> None:
    sender, receiver = framed_pair()
    whole = frame(b"cut short")
    await sender.send(whole[:-3])
    sender.close()
    with pytest.raises(ConnectionClosed, match="with 10 bytes of a frame"):
        await receiver.receive()
    receiver.close()


async def test_close_wakes_a_task_waiting_to_receive() -> None:
    sender, receiver = framed_pair()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:

            async def wait_for_a_frame() -> None:
                with pytest.raises(trio.ClosedResourceError):
                    await receiver.receive()

            nursery.start_soon(wait_for_a_frame)
            await trio.testing.wait_all_tasks_blocked()
            receiver.close()
    receiver.close()  # idempotent
    sender.close()
