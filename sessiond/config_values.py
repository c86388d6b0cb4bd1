"""Values of a session configuration document, read as session-config.c reads them
(parse_uint(), parse_int(), parse_bool(), xmlNodeGetContent(); lttng-tools 2.13)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pylttng.protocol.client.constants import ErrorCode


class LoadError(Exception):
    """The document cannot be loaded; `code` is the lttng error to report."""

    def __init__(self, detail: str, code: ErrorCode = ErrorCode.LOAD_INVALID_CONFIG) -> None:
        super().__init__(detail)
        self.code = code


def text(node: ET.Element) -> str:
    """xmlNodeGetContent(): the text of the node and its descendants."""
    return "".join(node.itertext())


def uint(node: ET.Element, limit: int = (1 << 64) - 1) -> int:
    """parse_uint(), and the range the caller checks."""
    value = text(node).strip()
    if not value.isdigit() or int(value) > limit:
        raise LoadError(f"<{node.tag}>: {value!r} is not a number up to {limit}")
    return int(value)


def integer(node: ET.Element) -> int:
    """parse_int()."""
    try:
        return int(text(node).strip(), 10)
    except ValueError:
        raise LoadError(f"<{node.tag}>: {text(node)!r} is not a number") from None


def boolean(node: ET.Element) -> bool:
    """parse_bool(): xs:boolean."""
    value = text(node).strip()
    if value not in ("true", "1", "false", "0"):
        raise LoadError(f"<{node.tag}>: {value!r} is not a boolean")
    return value in ("true", "1")


def find(node: ET.Element, tag: str) -> ET.Element | None:
    """The first child of that name."""
    return next((child for child in node if child.tag == tag), None)


def choice(node: ET.Element, values: dict[str, int]) -> int:
    """One of the enumeration's strings (get_*_type())."""
    value = text(node)
    if value not in values:
        raise LoadError(f"<{node.tag}>: {value!r}")
    return values[value]
