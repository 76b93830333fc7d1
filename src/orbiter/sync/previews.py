"""Planning a sync: the per-path plans of main against the workspace over their merge base,
the conflicts merged where they merge cleanly, and the preview's body."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from orbiter.blobs.manifest import Manifest, ManifestEntry, blob_key
from orbiter.storage import BlobStore
from orbiter.sync.base import MergeBase
from orbiter.sync.merge import PathPlan, classify, merge_text, three_way
from orbiter.sync.schemas import AutoAction, Decision, DecisionOption, EntryRead

MAX_MERGE_BYTES = 1024 * 1024  # larger text conflicts are decisions, not merged in memory
COPY_DESCRIPTIONS = {
    "add": "Added in main",
    "update": "Changed in main only",
    "delete": "Deleted in main only",
}


@dataclass
class SyncPlan:
    base: MergeBase
    main: dict[str, ManifestEntry]
    merged: dict[str, ManifestEntry]  # the workspace with every auto action applied
    auto_actions: list[AutoAction] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict)  # merged texts by hash
    # Two files changed on both sides that did not merge: what an LLM may propose to combine.
    text_conflicts: list[PathPlan] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        return (
            f"{len(self.added)} to add, {len(self.updated)} to update, "
            f"{len(self.deleted)} to delete, {len(self.auto_actions)} automatic, "
            f"{len(self.decisions)} needing a decision"
        )

    def main_entries(self) -> dict[str, dict[str, Any] | None]:
        """For each decision, the entry `use_main` leaves (None: deleted)."""
        return {d.path: entry_json(self.main.get(d.path)) for d in self.decisions}


def entry_json(entry: ManifestEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "path": entry.path,
        "hash": entry.hash,
        "size": entry.size,
        "mode": entry.mode,
        "type": entry.type,
        "target": entry.target,
        "mod_time": entry.mod_time,
    }


def entry_of(data: dict[str, Any]) -> ManifestEntry:
    return ManifestEntry(**data)


def _read(entry: ManifestEntry | None) -> EntryRead | None:
    if entry is None:
        return None
    return EntryRead(
        hash=entry.hash, size=entry.size, mode=entry.mode, type=entry.type, target=entry.target
    )


async def blob_bytes(store: BlobStore, hash_: str) -> bytes:
    stream = await store.open_stream(blob_key(hash_))
    return b"".join([chunk async for chunk in stream])


async def _merge_content(store: BlobStore, plan: PathPlan) -> tuple[str, int, bytes] | None:
    """(hash, size, new bytes or b"") of the two files' merged content; None when it does not
    merge."""
    base, main, mine = plan.base, plan.main, plan.workspace
    assert main is not None and mine is not None
    base_hash = base.hash if base is not None and base.type == "file" else None
    merged, hash_ = three_way(base_hash, main.hash, mine.hash)
    if merged:
        chosen = mine if hash_ == mine.hash else main
        return chosen.hash or "", chosen.size, b""
    sizes = [main.size, mine.size, base.size if base_hash and base else 0]
    if max(sizes) > MAX_MERGE_BYTES or main.hash is None or mine.hash is None:
        return None
    base_data = await blob_bytes(store, base_hash) if base_hash else b""
    text = merge_text(
        base_data, await blob_bytes(store, main.hash), await blob_bytes(store, mine.hash)
    )
    if text is None:
        return None
    return hashlib.sha256(text).hexdigest(), len(text), text


async def merge_entries(
    store: BlobStore, plan: PathPlan, contents: dict[str, bytes]
) -> ManifestEntry | None:
    """The merged entry of a path changed on both sides; None when it needs a decision."""
    base, main, mine = plan.base, plan.main, plan.workspace
    assert main is not None and mine is not None
    if main.type != mine.type or mine.type == "dir":
        return None
    same_type = base is not None and base.type == mine.type
    mode_ok, mode = three_way(base.mode if same_type and base else None, main.mode, mine.mode)
    if not mode_ok:
        return None
    if mine.type == "symlink":
        target_ok, target = three_way(
            base.target if same_type and base else None, main.target, mine.target
        )
        if not target_ok:
            return None
        return replace(mine, target=str(target), mode=int(str(mode)))
    content = await _merge_content(store, plan)
    if content is None:
        return None
    hash_, size, data = content
    if hash_ not in (main.hash, mine.hash):
        contents[hash_] = data
    return replace(mine, hash=hash_, size=size, mode=int(str(mode)))


def _decision(plan: PathPlan, reason: str) -> Decision:
    return Decision(
        path=plan.path,
        conflict_reason=reason,
        options=[
            DecisionOption(
                id="use_main",
                label="Use main's version",
                description="Replace this workspace's version with main's"
                + (" (deletes the path)" if plan.main is None else ""),
                result=_read(plan.main),
            ),
            DecisionOption(
                id="use_workspace",
                label="Keep this workspace's version",
                description="Keep this workspace's version and drop main's change"
                + (" (the path stays deleted)" if plan.workspace is None else ""),
                result=_read(plan.workspace),
            ),
        ],
        recommended_option_id="use_workspace",
    )


def _type(plan: PathPlan) -> str | None:
    return plan.workspace.type if plan.workspace else None


def _apply_copy(sync: SyncPlan, plan: PathPlan) -> None:
    if plan.main is None:
        sync.merged.pop(plan.path, None)
        sync.deleted.append(plan.path)
    else:
        sync.merged[plan.path] = plan.main
        (sync.added if plan.action == "add" else sync.updated).append(plan.path)
    sync.auto_actions.append(
        AutoAction(
            path=plan.path, action="copy_from_main", description=COPY_DESCRIPTIONS[plan.action]
        )
    )


async def _apply(sync: SyncPlan, store: BlobStore, plan: PathPlan) -> None:
    if plan.action == "keep":
        sync.auto_actions.append(
            AutoAction(
                path=plan.path,
                action="keep_workspace",
                description="Changed in this workspace only",
            )
        )
    elif plan.action in COPY_DESCRIPTIONS:
        _apply_copy(sync, plan)
    elif plan.action == "merge" and (merged := await merge_entries(store, plan, sync.contents)):
        sync.merged[plan.path] = merged
        sync.updated.append(plan.path)
        sync.auto_actions.append(
            AutoAction(
                path=plan.path,
                action="merged",
                description=f"{plan.reason.capitalize()}; merged cleanly",
            )
        )
    else:
        reason = (
            plan.reason if plan.action == "decide" else f"{plan.reason}; does not merge cleanly"
        )
        sync.decisions.append(_decision(plan, reason))
        if plan.action == "merge" and plan.main and plan.main.type == "file" == _type(plan):
            sync.text_conflicts.append(plan)


async def plan_sync(
    store: BlobStore, base: MergeBase, base_tree: Manifest, main: Manifest, workspace: Manifest
) -> SyncPlan:
    b, m, w = base_tree.by_path(), main.by_path(), workspace.by_path()
    sync = SyncPlan(base=base, main=m, merged=dict(w))
    for path in sorted(m.keys() | w.keys()):
        plan = classify(path, b.get(path), m.get(path), w.get(path))
        if plan is None:
            sync.unchanged += 1
        else:
            await _apply(sync, store, plan)
    return sync
