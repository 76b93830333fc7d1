"""A database snippet with private-use marks around matched words, as escaped HTML."""

from __future__ import annotations

import html
import re

from orbiter.search.queries import MARK_END, MARK_START

_SPACES = re.compile(r"\s+")
_PARTS = re.compile(f"([{MARK_START}{MARK_END}])")


def render_snippet(text: str) -> str:
    """Escape the text, turn the marks into `<mark>`/`</mark>` (a mark that opens nothing or
    closes nothing is dropped, as is an unclosed one), and fold runs of white space."""
    out: list[str] = []
    inside = False
    for part in _PARTS.split(_SPACES.sub(" ", text).strip()):
        if part == MARK_START:
            if not inside:
                out.append("<mark>")
            inside = True
        elif part == MARK_END:
            if inside:
                out.append("</mark>")
            inside = False
        else:
            out.append(html.escape(part))
    if inside:
        out.append("</mark>")
    return "".join(out).replace("<mark></mark>", "")
