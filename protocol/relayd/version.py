"""Version negotiation of the relayd protocol (relayd.c: relayd_version_check(),
main.c: relay_send_version()).

The peer sends its lttng-tools major.minor, lttng-relayd answers its own; they talk only
if the majors are equal, then both use the lower minor, which selects the layouts of
create-session, add-stream, index and the chunk commands.
"""

from __future__ import annotations

from .constants import OLDEST_MINOR
from .errors import ProtocolError
from .messages import Version


def negotiate(ours: Version, theirs: Version) -> Version:
    """The version both sides speak; ProtocolError if they cannot talk, or only in the
    pre-2.11 layouts this package does not write."""
    if ours.major != theirs.major:
        # lttng-sessiond reports LTTNG_ERR_RELAYD_VERSION_FAIL.
        raise ProtocolError(
            f"relayd protocol {theirs.major}.{theirs.minor} is incompatible with"
            f" {ours.major}.{ours.minor}: the major versions differ"
        )
    agreed = Version(ours.major, min(ours.minor, theirs.minor))
    if agreed.minor < OLDEST_MINOR:
        raise ProtocolError(
            f"relayd protocol {agreed.major}.{agreed.minor} predates trace chunks"
            f" ({agreed.major}.{OLDEST_MINOR}): unsupported"
        )
    return agreed
