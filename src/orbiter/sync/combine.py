"""The `combined` option of a text conflict that merge3 cannot merge: a version of the file
the caller's LLM proposes from the base and both sides. Only a proposal: stored with the
preview (its blob and a manifest of such entries, a GC root while the preview lives) and
applied only when the user answers `combined` in `sync/execute`.

Without a provider nothing is asked. A failing call leaves that conflict (and the ones after
it) without the option and says so in the preview's notes; prepare itself never fails for it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace

from orbiter.blobs.manifest import ManifestEntry
from orbiter.core.errors import AppError
from orbiter.storage import BlobStore
from orbiter.sync.assist import Assistant, LlmUse, unified_diff
from orbiter.sync.merge import PathPlan, merge_text, text_of
from orbiter.sync.previews import SyncPlan, blob_bytes
from orbiter.sync.schemas import DecisionOption, EntryRead

MAX_PROPOSALS = 5  # conflicts sent to the LLM per prepare
MAX_SIDE_BYTES = 48 * 1024  # larger files get no proposal
MAX_REPLY_TOKENS = 16_000
SYSTEM = (
    "You resolve a merge conflict in one text file. You get the common ancestor (base), the "
    "version in main and the version in the user's workspace. Answer with the complete "
    "resulting file that keeps the intent of both changes, and nothing else: no explanation, "
    "no code fence, no conflict markers."
)
_FENCE = re.compile(r"\A```[^\n]*\n(.*?)\n?```\s*\Z", re.DOTALL)


@dataclass
class Proposals:
    """The `combined` entries by path, and the notes on the conflicts left without one."""

    entries: dict[str, ManifestEntry] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    llm: LlmUse | None = None


def _prompt(path: str, base: str, main: str, mine: str) -> str:
    return (
        f"File: {path}\n\n<base>\n{base}</base>\n\n<main>\n{main}</main>\n\n"
        f"<workspace>\n{mine}</workspace>\n"
    )


def _cleaned(reply: str, sides: tuple[str, str]) -> str:
    fenced = _FENCE.match(reply.strip())
    text = fenced.group(1) if fenced else reply
    if all(side.endswith("\n") for side in sides) and not text.endswith("\n"):
        text += "\n"
    return text


async def _texts(store: BlobStore, plan: PathPlan) -> tuple[str, str, str] | None:
    """Base, main and workspace text of a content conflict; None when binary, too large or
    not a content conflict (only the modes clash)."""
    base, main, mine = plan.base, plan.main, plan.workspace
    assert main is not None and mine is not None
    has_base = base is not None and base.type == "file" and base.hash is not None
    sizes = [main.size, mine.size, base.size if has_base and base else 0]
    if max(sizes) > MAX_SIDE_BYTES or main.hash is None or mine.hash is None:
        return None
    base_data = await blob_bytes(store, base.hash) if has_base and base and base.hash else b""
    main_data, mine_data = await blob_bytes(store, main.hash), await blob_bytes(store, mine.hash)
    if main_data == mine_data or merge_text(base_data, main_data, mine_data) is not None:
        return None
    lines = [text_of(data) for data in (base_data, main_data, mine_data)]
    if any(part is None for part in lines):
        return None
    b, m, w = ("".join(part or []) for part in lines)
    return b, m, w


def _option(path: str, mine: str, combined: str, entry: ManifestEntry) -> DecisionOption:
    return DecisionOption(
        id="combined",
        label="Combine both (proposed by the LLM)",
        description="A version of the file the LLM wrote to keep both sides' changes; "
        "review its diff (preview) before choosing it",
        result=EntryRead(
            hash=entry.hash, size=entry.size, mode=entry.mode, type=entry.type, target=None
        ),
        preview=unified_diff(mine, combined, old=f"workspace/{path}", new=f"combined/{path}"),
    )


async def _propose(
    assistant: Assistant, store: BlobStore, sync: SyncPlan, plan: PathPlan
) -> ManifestEntry | None:
    texts = await _texts(store, plan)
    if texts is None:
        return None
    base, main, mine = texts
    reply = await assistant.ask(
        SYSTEM, _prompt(plan.path, base, main, mine), max_tokens=MAX_REPLY_TOKENS
    )
    combined = _cleaned(reply, (main, mine))
    data = combined.encode("utf-8")
    hash_ = hashlib.sha256(data).hexdigest()
    assert plan.workspace is not None
    entry = replace(plan.workspace, hash=hash_, size=len(data))
    sync.contents[hash_] = data
    decision = next(d for d in sync.decisions if d.path == plan.path)
    decision.options.append(_option(plan.path, mine, combined, entry))
    return entry


async def propose_combined(
    assistant: Assistant | None, store: BlobStore, sync: SyncPlan
) -> Proposals:
    """Ask for a `combined` version of the first MAX_PROPOSALS text conflicts; each proposal
    becomes an option of its decision, its content one of `sync.contents`."""
    out = Proposals()
    if assistant is None or not sync.text_conflicts:
        return out
    for index, plan in enumerate(sync.text_conflicts):
        if index >= MAX_PROPOSALS:
            out.notes.append(
                f"No combined proposal for the {len(sync.text_conflicts) - index} text "
                f"conflicts after the first {MAX_PROPOSALS}"
            )
            break
        try:
            entry = await _propose(assistant, store, sync, plan)
        except AppError as exc:
            out.notes.append(
                f"The LLM could not propose a combined version of {plan.path} "
                f"(no combined option for it or the conflicts after it): {exc.message}"
            )
            break
        if entry is not None:
            out.entries[plan.path] = entry
    out.llm = assistant.use if assistant.use.calls else None
    return out
