"""Rules for the fields of one manifest entry; each check raises ValueError with the reason.

They exist so that a manifest the store accepted can be written to a disk, listed in JSON,
stored in a database column and shown in a terminal without surprises: no control or bidi
override characters, no lone surrogates (not encodable as UTF-8), NFC paths only, no path or
symlink leaving the tree, sizes that fit a signed 64-bit column, and plain file modes.
"""

from __future__ import annotations

import math
import re
import stat
import unicodedata

MAX_SIZE = 2**63 - 1  # a BIGINT column
MAX_PATH_BYTES = 4096  # PATH_MAX on Linux
MAX_SEGMENT_BYTES = 255  # NAME_MAX
MAX_TEXT_CHARS = 64  # mod_time strings and the like
PERMISSION_BITS = 0o777  # rwx for user, group, other: no setuid, setgid or sticky bit
TYPE_BITS = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK}

# C0 and C1 controls, DEL, lone surrogates, and the bidirectional embeddings, overrides,
# isolates and marks that make a name display as something else (CVE-2021-42574).
_FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def check_text(value: str, what: str) -> str:
    found = _FORBIDDEN.search(value)
    if found is not None:
        raise ValueError(
            f"{what} must not contain control, bidi override or surrogate characters "
            f"(found U+{ord(found.group()):04X})"
        )
    return value


def check_path(path: object) -> str:
    if not isinstance(path, str) or not path:
        raise ValueError("path must be a non-empty string")
    check_text(path, "path")
    if "\\" in path:
        raise ValueError("path must not contain backslashes")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise ValueError("path must be relative")
    segments = path.split("/")
    if ".." in segments:
        raise ValueError("path must not contain '..'")
    if "." in segments or "" in segments:  # what posixpath.normpath would remove
        raise ValueError("path must be normalised (no '.', '//' or trailing '/')")
    if not path.isascii() and not unicodedata.is_normalized("NFC", path):
        raise ValueError("path must be in Unicode normalisation form NFC")
    size = len(path.encode())
    if size > MAX_PATH_BYTES:
        raise ValueError(f"path must be at most {MAX_PATH_BYTES} bytes")
    if size > MAX_SEGMENT_BYTES and any(len(s.encode()) > MAX_SEGMENT_BYTES for s in segments):
        raise ValueError(f"each path segment must be at most {MAX_SEGMENT_BYTES} bytes")
    return path


def check_target(target: object, path: str) -> str:
    """A relative target that stays inside the tree however the links on the way resolve.

    `..` may only lead the target: after a name that may itself be a symlink, `..` would climb
    from wherever that link points, which a lexical check cannot follow.
    """
    if not isinstance(target, str) or not target:
        raise ValueError("a symlink needs a non-empty target")
    check_text(target, "target")
    if "\\" in target or target.startswith("/") or re.match(r"^[A-Za-z]:", target):
        raise ValueError("a symlink target must be a relative POSIX path")
    if len(target.encode()) > MAX_PATH_BYTES:
        raise ValueError(f"a symlink target must be at most {MAX_PATH_BYTES} bytes")
    segments = [s for s in target.split("/") if s not in ("", ".")]
    climbs = 0
    while climbs < len(segments) and segments[climbs] == "..":
        climbs += 1
    if ".." in segments[climbs:]:
        raise ValueError("a symlink target may use '..' only at its start")
    if climbs > path.count("/"):
        raise ValueError("a symlink target must resolve inside the tree")
    return target


def check_size(size: object, max_size: int) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError("size must be a non-negative integer")
    if size > max_size:
        raise ValueError(f"size must be at most {max_size} bytes")
    return size


def check_mode(mode: object, kind: str) -> int:
    """Permission bits, optionally with the file type bits of the entry's own type."""
    if not isinstance(mode, int) or isinstance(mode, bool) or mode < 0:
        raise ValueError("mode must be a non-negative integer file mode")
    type_bits = mode & ~PERMISSION_BITS
    if type_bits not in (0, TYPE_BITS[kind]):
        raise ValueError(
            f"mode may hold only permission bits (0o777, no setuid, setgid or sticky bit) "
            f"and the {kind} type bits"
        )
    return mode


def check_mod_time(value: object) -> object:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str) and len(value) <= MAX_TEXT_CHARS:
        return check_text(value, "mod_time")
    raise ValueError(f"mod_time must be a number or a string of at most {MAX_TEXT_CHARS} chars")
