"""Paths as clients send them, normalised to the one form a manifest stores.

`src//a.py`, `./src/a.py` and `src/a.py/` all name `src/a.py` (NFC). Refused with 400: an
empty path or one naming the root, an absolute path, `..` anywhere, NUL, and whatever else the
manifest rules refuse (control and bidi characters, backslashes, drive letters, more than 4096
bytes or a segment of more than 255), so nothing is written that a manifest would not hold;
and paths more than `MAX_DEPTH` levels deep, so the tree `GET /files` answers stays readable.
"""

from __future__ import annotations

import unicodedata

from orbiter.blobs.manifest_checks import check_path
from orbiter.core.errors import BadRequest

MAX_DEPTH = 64  # segments in a path written through /files


def bad_path(message: str, path: object) -> BadRequest:
    shown = path[:200] if isinstance(path, str) else None
    return BadRequest(f"Bad path: {message}", details={"field": "path", "path": shown})


def normalise_path(raw: str) -> str:
    """The normalised relative path, or BadRequest (400) saying what is wrong with it."""
    if "\x00" in raw:
        raise bad_path("it must not contain NUL characters", raw.replace("\x00", "\\0"))
    if raw.startswith("/"):
        raise bad_path("it must be relative to the workspace, not absolute", raw)
    segments = [segment for segment in raw.split("/") if segment not in ("", ".")]
    if ".." in segments:
        raise bad_path("it must not contain '..'", raw)
    if not segments:
        raise bad_path("it must name a file or directory, not the workspace's root", raw)
    if len(segments) > MAX_DEPTH:
        raise bad_path(f"it must be at most {MAX_DEPTH} levels deep", raw)
    path = unicodedata.normalize("NFC", "/".join(segments))
    try:
        return check_path(path)
    except ValueError as exc:
        raise bad_path(str(exc), raw) from exc


def name_of(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def parent_of(path: str) -> str:
    """The parent directory's path; "" for the root."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def ancestors(path: str) -> list[str]:
    """Every directory above `path`, nearest first, the root left out."""
    found = []
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        found.append(path)
    return found
