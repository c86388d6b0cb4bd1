"""``pylttng-consumerd``: command line."""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Sequence

import trio

from . import daemon


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
        "--session-daemon-pid",
        type=int,
        metavar="PID",
        help="drain and exit once this process (the session daemon) is gone, even killed",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s pylttng-consumerd: %(levelname)s: %(message)s",
    )
    try:
        trio.run(
            functools.partial(daemon.run, args.socket, session_daemon_pid=args.session_daemon_pid)
        )
    except OSError as exc:
        logging.getLogger("pylttng.consumerd").error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
