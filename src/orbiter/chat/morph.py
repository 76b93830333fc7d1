"""The edit format morph-chat asks the model for, and applying a reply to the code.

Format: one or more search/replace blocks (the format aider popularised, which models follow
reliably), each naming an exact excerpt of the current code and its replacement:

    <<<<<<< SEARCH
    lines copied exactly from the current code
    =======
    the lines that replace them
    >>>>>>> REPLACE

Or, for a rewrite, the whole updated file in one fenced code block. Parsing is forgiving
where models are sloppy (fences around blocks, 5-9 marker characters, trailing whitespace,
CRLF, uniformly different indentation) and strict where a guess could corrupt the code: a
SEARCH text must match exactly one place, otherwise the edit is refused and the reason named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orbiter.core.errors import UpstreamError

SYSTEM_PROMPT = """You edit one source file at the user's request.

Reply with search/replace blocks, and nothing else but an optional one-line explanation:

<<<<<<< SEARCH
exact lines from the current file (copy them character for character, with indentation)
=======
the new lines that replace them
>>>>>>> REPLACE

Rules:
- Each SEARCH part must match exactly one place in the current file; include enough lines
  to make it unique. Keep blocks small: only the lines that change plus a little context.
- Use several blocks for several changes, in file order. Blocks must not overlap.
- To delete lines, leave the replacement part empty. To add lines, search for the lines
  next to the insertion point and repeat them in the replacement with the new lines.
- If the file is empty, use one block with an empty SEARCH part.
- To rewrite most of the file instead, reply with the complete new file in a single fenced
  code block (```) and no search/replace blocks.

The current file{path}:
```
{code}
```"""

_BLOCK = re.compile(
    r"^[ \t]*<{5,9} ?SEARCH[ \t]*\n(?P<search>.*?)^[ \t]*={5,9}[ \t]*\n(?P<replace>.*?)"
    r"^[ \t]*>{5,9} ?REPLACE[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_FENCE = re.compile(r"^```[^\n`]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


class EditFailed(UpstreamError):
    """The model's reply could not be applied (502: the upstream answer was unusable)."""


@dataclass(frozen=True)
class Block:
    search: str
    replace: str


def system_prompt(code: str, file_path: str) -> str:
    return SYSTEM_PROMPT.format(code=code, path=f" ({file_path})" if file_path else "")


def parse_blocks(reply: str) -> list[Block]:
    text = reply.replace("\r\n", "\n")
    return [Block(m["search"], m["replace"]) for m in _BLOCK.finditer(text)]


def apply_reply(code: str, reply: str) -> str:
    """The code after applying the model's reply; `EditFailed` saying why when it cannot."""
    blocks = parse_blocks(reply)
    if blocks:
        updated = code.replace("\r\n", "\n") if "\r\n" in code else code
        for number, block in enumerate(blocks, start=1):
            updated = _apply_block(updated, block, number, len(blocks))
        if "\r\n" in code:
            updated = updated.replace("\n", "\r\n")
        return updated
    if re.search(r"<{5,9} ?SEARCH|>{5,9} ?REPLACE", reply):
        raise EditFailed("The model's edit is malformed: a SEARCH/REPLACE block is incomplete")
    fences = list(_FENCE.finditer(reply.replace("\r\n", "\n")))
    if len(fences) == 1:
        return fences[0]["body"]
    if len(fences) > 1:
        raise EditFailed("The model replied with several code blocks; expected one whole file")
    raise EditFailed("The model's reply contains no edit (no SEARCH/REPLACE block, no code block)")


def _apply_block(code: str, block: Block, number: int, total: int) -> str:
    where = f"Edit {number} of {total}"
    if not block.search.strip():
        if code.strip():
            raise EditFailed(f"{where} has an empty SEARCH part but the code is not empty")
        return block.replace
    count = code.count(block.search)
    if count == 1:
        return code.replace(block.search, block.replace, 1)
    if count > 1:
        raise EditFailed(f"{where}: its SEARCH text matches {count} places; it must be unique")
    start, end, indent = _fuzzy_find(code, block.search, where)
    replacement = _reindent(block.replace, indent)
    return code[:start] + replacement + code[end:]


def _lines(text: str) -> list[str]:
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")


def _fuzzy_find(code: str, search: str, where: str) -> tuple[int, int, tuple[str, str]]:
    """Line-wise match ignoring trailing whitespace, then a uniform indentation difference.

    Returns the character span of the matched lines (with their final newline) and the
    indentation to swap in the replacement (model's indent → file's indent).
    """
    code_lines = code.split("\n")
    wanted = [line.rstrip() for line in _lines(search)]
    while wanted and not wanted[0]:
        wanted.pop(0)
    while wanted and not wanted[-1]:
        wanted.pop()
    if not wanted:
        raise EditFailed(f"{where}: its SEARCH part is blank")
    for strategy in ("trailing", "indent"):
        hits: list[tuple[int, tuple[str, str]]] = []
        for i in range(len(code_lines) - len(wanted) + 1):
            window = [line.rstrip() for line in code_lines[i : i + len(wanted)]]
            indent = _match(window, wanted, strategy)
            if indent is not None:
                hits.append((i, indent))
        if len(hits) > 1:
            raise EditFailed(
                f"{where}: its SEARCH text matches {len(hits)} places; it must be unique"
            )
        if hits:
            i, indent = hits[0]
            start = sum(len(line) + 1 for line in code_lines[:i])
            end = start + sum(len(line) + 1 for line in code_lines[i : i + len(wanted)])
            return start, min(end, len(code) + 0), indent
    first = wanted[0].strip()[:80]
    raise EditFailed(
        f"{where}: its SEARCH text was not found in the current code (starts {first!r})"
    )


def _match(window: list[str], wanted: list[str], strategy: str) -> tuple[str, str] | None:
    if strategy == "trailing":
        return ("", "") if window == wanted else None
    pairs = [(w, c) for w, c in zip(wanted, window, strict=True) if w.strip() or c.strip()]
    if not pairs or any(w.lstrip() != c.lstrip() for w, c in pairs):
        return None
    w0, c0 = pairs[0]
    model_indent, file_indent = w0[: len(w0) - len(w0.lstrip())], c0[: len(c0) - len(c0.lstrip())]
    for w, c in pairs:
        w_ind, c_ind = w[: len(w) - len(w.lstrip())], c[: len(c) - len(c.lstrip())]
        if not w_ind.startswith(model_indent) or file_indent + w_ind[len(model_indent) :] != c_ind:
            return None
    return model_indent, file_indent


def _reindent(text: str, indent: tuple[str, str]) -> str:
    model_indent, file_indent = indent
    if model_indent == file_indent:
        return text
    out = []
    for line in text.split("\n"):
        if line.startswith(model_indent) and line.strip():
            line = file_indent + line[len(model_indent) :]
        out.append(line)
    return "\n".join(out)
