"""`POST /conversations/{id}/snapshot`: a snapshot of the conversation's workspace's current
files, and on request the caller's LLM's summary of what changed since its last snapshot.

`was_dirty` compares the workspace's current manifest with its latest snapshot's (none yet:
dirty). A clean tree records nothing and answers with that snapshot. The summary, when it is
made, is also the new snapshot's message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.access import read_manifest
from orbiter.blobs.manifest import Manifest, ManifestEntry
from orbiter.conversations.service import load_conversation
from orbiter.conversations.snapshot_schemas import ConversationSnapshot, SnapshotRequest
from orbiter.core.errors import AppError, Conflict
from orbiter.files.service import record_version
from orbiter.models import Conversation, Role, Snapshot, Workspace
from orbiter.providers.opening import no_provider
from orbiter.runtime.resources import Resources
from orbiter.storage import BlobStore
from orbiter.sync.assist import Asker, Assistant, configured_provider, unified_diff
from orbiter.sync.merge import identity, text_of
from orbiter.sync.previews import blob_bytes

SOURCE = "conversation"
MAX_PATHS = 100
MAX_DIFFED = 10
MAX_DIFF_BYTES = 32 * 1024
MAX_PROMPT_CHARS = 24_000
MAX_SUMMARY_CHARS = 4000
MAX_REPLY_TOKENS = 600
SYSTEM = (
    "You write the message of a snapshot (a commit) of a software project's files. You get "
    "the paths added, modified and deleted since the previous snapshot and some of the "
    "changes. Answer with a short summary of what changed: a first line of at most 72 "
    "characters, then at most a few lines of detail. Plain text only."
)


@dataclass
class Changes:
    added: list[ManifestEntry] = field(default_factory=list)
    modified: list[tuple[ManifestEntry, ManifestEntry]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def changes(before: Manifest, after: Manifest) -> Changes:
    old, new = before.by_path(), after.by_path()
    out = Changes(deleted=sorted(old.keys() - new.keys()))
    for path in sorted(new):
        if path not in old:
            out.added.append(new[path])
        elif identity(old[path]) != identity(new[path]):
            out.modified.append((old[path], new[path]))
    return out


def _paths(title: str, paths: list[str]) -> str:
    if not paths:
        return ""
    more = f"\n... {len(paths) - MAX_PATHS} more" if len(paths) > MAX_PATHS else ""
    return f"{title}:\n" + "\n".join(paths[:MAX_PATHS]) + more + "\n\n"


async def _diff(store: BlobStore, old: ManifestEntry, new: ManifestEntry) -> str:
    """The text diff of a modified file; "" when binary, large or not a file on both sides."""
    if old.type != "file" or new.type != "file" or not old.hash or not new.hash:
        return ""
    if max(old.size, new.size) > MAX_DIFF_BYTES:
        return ""
    before, after = (
        text_of(await blob_bytes(store, old.hash)),
        text_of(await blob_bytes(store, new.hash)),
    )
    if before is None or after is None:
        return ""
    return unified_diff("".join(before), "".join(after), old=f"a/{old.path}", new=f"b/{new.path}")


async def _prompt(store: BlobStore, title: str | None, found: Changes) -> str:
    text = f"Conversation: {title or '(untitled)'}\n\n"
    text += _paths("Added", [e.path for e in found.added])
    text += _paths("Modified", [new.path for _, new in found.modified])
    text += _paths("Deleted", found.deleted)
    if not (found.added or found.modified or found.deleted):
        text += "Nothing changed since the previous snapshot.\n"
    for old, new in found.modified[:MAX_DIFFED]:
        text += await _diff(store, old, new)
        if len(text) > MAX_PROMPT_CHARS:
            break
    return text[:MAX_PROMPT_CHARS]


async def _summary(
    assistant: Assistant, store: BlobStore, title: str | None, found: Changes
) -> tuple[str | None, list[str]]:
    try:
        reply = await assistant.ask(
            SYSTEM, await _prompt(store, title, found), max_tokens=MAX_REPLY_TOKENS
        )
    except AppError as exc:
        return None, [f"The LLM could not summarize the snapshot: {exc.message}"]
    summary = reply.strip()[:MAX_SUMMARY_CHARS]
    return (summary, []) if summary else (None, ["The LLM answered with an empty summary"])


async def _workspace(db: AsyncSession, conversation: Conversation) -> tuple[Workspace, str]:
    """The conversation's workspace and its current manifest (409 when there is neither)."""
    workspace = None
    if conversation.workspace_id is not None:
        workspace = await db.get(Workspace, conversation.workspace_id)
    if workspace is None:
        raise Conflict(
            "This conversation has no workspace to snapshot; attach one with "
            'PATCH /api/v1/conversations/{id} {"workspace_id": ...}',
            details={"conversation_id": str(conversation.id), "workspace_id": None},
        )
    if workspace.current_manifest_hash is None:
        raise Conflict(
            "The conversation's workspace has no files yet; there is nothing to snapshot",
            details={"workspace_id": str(workspace.id), "current_manifest_hash": None},
        )
    return workspace, workspace.current_manifest_hash


async def _last_snapshot(db: AsyncSession, workspace_id: uuid.UUID) -> Snapshot | None:
    return await db.scalar(
        select(Snapshot)
        .where(Snapshot.workspace_id == workspace_id)
        .order_by(Snapshot.created_at.desc(), Snapshot.id.desc())
        .limit(1)
    )


async def snapshot_workspace(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    body: SnapshotRequest,
) -> ConversationSnapshot:
    conversation, _, _ = await load_conversation(
        db, user_id=user_id, conversation_id=conversation_id, min_role=Role.EDITOR
    )
    workspace, current = await _workspace(db, conversation)
    assistant = None
    if body.generate_summary:
        asker = Asker(db, user_id, conversation.project_id, "snapshot")
        assistant = await configured_provider(resources, asker)
        if assistant is None:
            raise no_provider()
    last = await _last_snapshot(db, workspace.id)
    was_dirty = last is None or last.manifest_hash != current
    summary: str | None = None
    notes: list[str] = []
    if assistant is not None:
        store = resources.blobs
        before = await read_manifest(store, last.manifest_hash if last else None)
        found = changes(before, await read_manifest(store, current))
        summary, notes = await _summary(assistant, store, conversation.title, found)
    if last is not None and not was_dirty:
        snapshot_id = last.id
    else:
        snapshot_id = await record_version(
            db,
            resources.blobs,
            user_id=user_id,
            workspace=workspace,
            hash_=current,
            parent=last.id if last else None,
            message=summary or f"Snapshot from the conversation {conversation.title or ''}".strip(),
            source=SOURCE,
        )
    return ConversationSnapshot(
        snapshot_id=snapshot_id,
        manifest_hash=current,
        was_dirty=was_dirty,
        summary=summary,
        llm=assistant.use if assistant and assistant.use.calls else None,
        notes=notes,
    )
