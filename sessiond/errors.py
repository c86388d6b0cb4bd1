"""The exception that carries an lttng error code back to the client."""

from __future__ import annotations

from pylttng.protocol.client.constants import ErrorCode


class CommandError(Exception):
    """A command failed; `code` is the enum lttng_error_code sent in the reply."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        super().__init__(f"{code.name}: {detail}" if detail else code.name)
        self.code = code
        self.detail = detail
