"""``pylttng-consumerd``: command line."""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
from collections.abc import Sequence

import trio

from . import daemon

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pylttng-consumerd",
        description="Drain LTTng kernel ring-buffer streams handed over by pylttng-sessiond "
        "into CTF trace files.",
    )
    parser.add_argument(
        "--socket", required=True, metavar="PATH", help="unix socket to serve the sessiond on"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (repeatable)"
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="drain and exit when the parent (the session daemon) dies, even by SIGKILL",
    )
    return parser.parse_args(argv)


def exit_with_parent() -> None:
    """SIGTERM (drain, then exit) once the parent is gone: prctl(PR_SET_PDEATHSIG), as
    lttng-consumerd quits when it loses its session daemon."""
    parent = os.getppid()
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s pylttng-consumerd: %(levelname)s: %(message)s"
    )
    try:
        if args.exit_with_parent:
            exit_with_parent()
        trio.run(daemon.run, args.socket)
    except OSError as exc:
        logging.getLogger("pylttng.consumerd").error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
