"""Start pylttng-consumerd on first use, keep it supervised, and hand out the link to it."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Sequence

import trio
from pylttng.protocol.client.constants import ErrorCode

from .consumer_link import ConsumerError, ConsumerLink
from .consumer_supervisor import run_consumerd
from .errors import CommandError

log = logging.getLogger("pylttng.sessiond.consumer")


class Consumer:
    """The kernel consumer daemon of this session daemon (the_kconsumer_data)."""

    def __init__(
        self,
        nursery: trio.Nursery,
        socket_path: str,
        command: Sequence[str] | None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self._nursery = nursery
        self._socket_path = socket_path
        self._command = [*command, "--socket", socket_path] if command else None
        self._extra_args = list(extra_args)
        self._link: ConsumerLink | None = None
        self._lock = trio.Lock()

    async def link(self) -> ConsumerLink:
        """The connected link, starting the consumer daemon the first time."""
        async with self._lock:
            if self._link is None:
                try:
                    os.makedirs(os.path.dirname(self._socket_path), mode=0o750, exist_ok=True)
                    started = time.monotonic()
                    await self._nursery.start(
                        functools.partial(
                            run_consumerd, command=self._command, extra_args=self._extra_args
                        ),
                        self._socket_path,
                    )
                    self._link = await ConsumerLink.connect(self._socket_path)
                    log.info("consumer daemon ready in %.3f s", time.monotonic() - started)
                except (ConsumerError, OSError) as exc:
                    log.error("cannot start the kernel consumer daemon: %s", exc)
                    raise CommandError(ErrorCode.KERN_CONSUMER_FAIL, str(exc)) from None
            return self._link

    def start_soon(self) -> None:
        """Start the consumer daemon in the background, as the stock sessiond does when
        the first kernel session is created, so `lttng start` need not wait for it."""

        async def warm_up() -> None:
            try:
                await self.link()
            except CommandError:
                pass  # logged by link(); `lttng start` will report it

        self._nursery.start_soon(warm_up)

    @property
    def started(self) -> bool:
        return self._link is not None

    async def aclose(self) -> None:
        if self._link is not None:
            await self._link.aclose()
            self._link = None
