"""A deployment's status and the moves between them.

`queued` → `building` → `deploying` → `live` move forward only (a pipeline may skip a step,
e.g. a provider that builds and starts in one go reports `live` after `queued`). `failed`
and `stopped` end a deployment: any status that has not ended may move to either, and an
ended one moves nowhere. Reporting the current status again is not a move (a retried
callback) and changes nothing.
"""

from __future__ import annotations

PROGRESS = ("queued", "building", "deploying", "live")
ENDED = frozenset({"failed", "stopped"})
RUNNING = frozenset({"building", "deploying", "live"})
NOT_ENDED = frozenset(PROGRESS)


def can_move(current: str, new: str) -> bool:
    """Whether a deployment in `current` may be reported `new` (a repeat is not a move)."""
    if current in ENDED:
        return False
    if new in ENDED:
        return True
    return PROGRESS.index(new) > PROGRESS.index(current)
