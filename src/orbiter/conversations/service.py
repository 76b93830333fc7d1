"""Conversations and their stored messages: create, list, read, change, clear, delete.

Posting a message (which calls a model and streams) lives in `replies.py`; following the
reply (streaming or resuming it) in `follow.py`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.access import read_manifest
from orbiter.conversations.schemas import (
    ConversationCreate,
    ConversationRead,
    ConversationUpdate,
    ManifestSummary,
    MessageParts,
    MessageRead,
    ProjectInfo,
    ProjectSummary,
    TimelineEntry,
    WorkspaceSummary,
)
from orbiter.conversations.timeline import events_between
from orbiter.core.db import delete_one
from orbiter.core.errors import BadRequest, NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.time import utcnow
from orbiter.models import Agent, Conversation, Message, Project, Role, Workspace
from orbiter.storage import BlobNotFound, BlobStore
from orbiter.tenancy.access import (
    load_project,
    load_project_row_scope,
    load_reference,
    member_project_ids,
)
from orbiter.tenancy.events import record_event
from orbiter.tenancy.projects import project_or_personal


async def load_conversation(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    min_role: Role = Role.VIEWER,
) -> tuple[Conversation, Project, Role]:
    """The conversation, its project and the caller's role there (through the one scope)."""
    return await load_project_row_scope(
        db,
        Conversation,
        conversation_id,
        user_id=user_id,
        min_role=min_role,
        label="Conversation",
    )


def conversation_read(
    conversation: Conversation, project_name: str, workspace_name: str | None
) -> ConversationRead:
    return ConversationRead(
        id=conversation.id,
        project_id=conversation.project_id,
        project_name=project_name,
        workspace_id=conversation.workspace_id,
        workspace_name=workspace_name,
        agent_id=conversation.agent_id,
        user_id=conversation.user_id,
        title=conversation.title,
        provider_id=conversation.provider_id,
        model=conversation.model,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
    )


async def _workspace_name(db: AsyncSession, workspace_id: uuid.UUID | None) -> str | None:
    if workspace_id is None:
        return None
    return await db.scalar(select(Workspace.name).where(Workspace.id == workspace_id))


async def _workspace_in_project(
    db: AsyncSession, *, workspace_id: uuid.UUID, project_id: uuid.UUID
) -> Workspace:
    return await load_reference(
        db,
        Workspace,
        workspace_id,
        project_id=project_id,
        field="workspace_id",
        label="Workspace",
    )


async def create_conversation(
    db: AsyncSession, *, user_id: uuid.UUID, body: ConversationCreate
) -> ConversationRead:
    project_id = await project_or_personal(db, user_id=user_id, project_id=body.project_id)
    project, _ = await load_project(
        db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR
    )
    if body.agent_id is not None:
        await load_reference(
            db, Agent, body.agent_id, project_id=project.id, field="agent_id", label="Agent"
        )
    workspace_name = None
    if body.workspace_id is not None:
        workspace = await _workspace_in_project(
            db, workspace_id=body.workspace_id, project_id=project.id
        )
        workspace_name = workspace.name
    conversation = Conversation(
        project_id=project.id,
        workspace_id=body.workspace_id,
        agent_id=body.agent_id,
        user_id=user_id,
        title=body.title,
    )
    db.add(conversation)
    await db.flush()
    await record_event(
        db,
        project_id=project.id,
        actor_id=user_id,
        type="conversation.created",
        data={"conversation_id": str(conversation.id), "title": conversation.title},
    )
    return conversation_read(conversation, project.name, workspace_name)


async def list_conversations(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    project_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
) -> tuple[list[ConversationRead], PageInfo]:
    """Conversations in every project the caller is a member of, most recently active first."""
    stmt = (
        select(Conversation, Project.name, Workspace.name)
        .join(Project, Project.id == Conversation.project_id)
        .where(Conversation.project_id.in_(member_project_ids(user_id)))
        .outerjoin(Workspace, Workspace.id == Conversation.workspace_id)
    )
    if project_id is not None:
        stmt = stmt.where(Conversation.project_id == project_id)
    if workspace_id is not None:
        stmt = stmt.where(Conversation.workspace_id == workspace_id)
    rows, info = await paginate(
        db, stmt, order=[Conversation.updated_at, Conversation.id], params=params, codec=codec
    )
    return [conversation_read(row[0], row[1], row[2]) for row in rows], info


async def get_conversation(
    db: AsyncSession, *, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> ConversationRead:
    conversation, project, _ = await load_conversation(
        db, user_id=user_id, conversation_id=conversation_id
    )
    return conversation_read(
        conversation, project.name, await _workspace_name(db, conversation.workspace_id)
    )


async def update_conversation(
    db: AsyncSession, *, user_id: uuid.UUID, conversation_id: uuid.UUID, body: ConversationUpdate
) -> ConversationRead:
    conversation, project, _ = await load_conversation(
        db, user_id=user_id, conversation_id=conversation_id, min_role=Role.EDITOR
    )
    if "workspace_id" in body.model_fields_set and body.workspace_id is not None:
        await _workspace_in_project(db, workspace_id=body.workspace_id, project_id=project.id)
    for field in body.model_fields_set:
        setattr(conversation, field, getattr(body, field))
    conversation.updated_at = utcnow()
    await db.flush()
    return conversation_read(
        conversation, project.name, await _workspace_name(db, conversation.workspace_id)
    )


async def delete_conversation(
    db: AsyncSession, *, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> None:
    conversation, project, _ = await load_conversation(
        db, user_id=user_id, conversation_id=conversation_id, min_role=Role.EDITOR
    )
    await db.execute(delete(Message).where(Message.conversation_id == conversation.id))
    await delete_one(
        db,
        delete(Conversation).where(Conversation.id == conversation.id),
        missing="Conversation not found",
    )
    await record_event(
        db,
        project_id=project.id,
        actor_id=user_id,
        type="conversation.deleted",
        data={"conversation_id": str(conversation.id), "title": conversation.title},
    )


async def clear_messages(
    db: AsyncSession, *, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> int:
    conversation, _, _ = await load_conversation(
        db, user_id=user_id, conversation_id=conversation_id, min_role=Role.EDITOR
    )
    touched = await db.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not getattr(touched, "rowcount", 0):  # deleted by a racing request
        raise NotFound("Conversation not found")
    result = await db.execute(delete(Message).where(Message.conversation_id == conversation.id))
    return int(getattr(result, "rowcount", 0) or 0)


async def _messages_page(
    db: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    before: uuid.UUID | None,
    descending: bool = True,
) -> tuple[list[Message], PageInfo]:
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if before is not None:
        anchor = await db.get(Message, before)
        if anchor is None or anchor.conversation_id != conversation_id:
            raise BadRequest(
                "`before` is not a message of this conversation", details={"field": "before"}
            )
        stmt = stmt.where(
            tuple_(Message.created_at, Message.id)
            < tuple_(
                literal(anchor.created_at, type_=Message.created_at.type),
                literal(anchor.id, type_=Message.id.type),
            )
        )
    rows, info = await paginate(
        db,
        stmt,
        order=[Message.created_at, Message.id],
        params=params,
        codec=codec,
        descending=descending,
    )
    return [row[0] for row in rows], info


async def list_messages(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    before: uuid.UUID | None = None,
) -> tuple[list[MessageRead], PageInfo]:
    """The newest `limit` messages (older than `before`), returned oldest first.

    `next_cursor` pages further back in time, as does `before=<oldest id on this page>`.
    """
    await load_conversation(db, user_id=user_id, conversation_id=conversation_id)
    messages, info = await _messages_page(
        db, conversation_id=conversation_id, params=params, codec=codec, before=before
    )
    return [MessageRead.model_validate(m) for m in reversed(messages)], info


async def list_message_parts(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    before: uuid.UUID | None = None,
) -> tuple[list[MessageParts], PageInfo]:
    """The same pages as `list_messages`, with each message's structured parts."""
    await load_conversation(db, user_id=user_id, conversation_id=conversation_id)
    messages, info = await _messages_page(
        db, conversation_id=conversation_id, params=params, codec=codec, before=before
    )
    return [
        MessageParts(message_id=m.id, role=m.role, created_at=m.created_at, parts=m.parts)
        for m in reversed(messages)
    ], info


async def timeline(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[TimelineEntry], PageInfo]:
    """Messages (each followed by its tool calls), the conversation's deployments and its
    workspace's snapshots, oldest first; `limit` counts messages.

    A page holds the events from its first message (the beginning, on the first page) up to
    the next page's first message (no end, on the last page).
    """
    conversation, _, _ = await load_conversation(
        db, user_id=user_id, conversation_id=conversation_id
    )
    messages, info = await _messages_page(
        db,
        conversation_id=conversation_id,
        params=params,
        codec=codec,
        before=None,
        descending=False,
    )
    entries: list[TimelineEntry] = []
    for message in messages:
        entries.append(
            TimelineEntry(
                kind="message",
                id=str(message.id),
                at=message.created_at,
                message_id=message.id,
                role=message.role,
                status=message.status,
                content=message.content,
            )
        )
        for part in message.parts:
            if isinstance(part, dict) and part.get("type") == "tool_call":
                entries.append(_tool_call_entry(message, part))
    if messages or params.cursor is None:
        start = messages[0].created_at if params.cursor is not None else None
        end = await _next_message_at(db, messages[-1]) if info.has_more else None
        entries += await events_between(db, conversation, start, end)
    return sorted(entries, key=lambda entry: entry.at), info


async def _next_message_at(db: AsyncSession, last: Message) -> datetime | None:
    """When the message after `last` (in timeline order) was created."""
    after = tuple_(Message.created_at, Message.id) > tuple_(
        literal(last.created_at, type_=Message.created_at.type),
        literal(last.id, type_=Message.id.type),
    )
    stmt = (
        select(Message.created_at)
        .where(Message.conversation_id == last.conversation_id, after)
        .order_by(Message.created_at, Message.id)
        .limit(1)
    )
    return await db.scalar(stmt)


def _tool_call_entry(message: Message, part: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(
        kind="tool_call",
        id=str(part.get("id", "")),
        at=message.created_at,
        message_id=message.id,
        role=message.role,
        name=str(part.get("name", "")),
        arguments=str(part.get("arguments", "")),
    )


async def project_info(
    db: AsyncSession, blobs: BlobStore, *, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> ProjectInfo:
    conversation, project, role = await load_conversation(
        db, user_id=user_id, conversation_id=conversation_id
    )
    workspace = (
        await db.get(Workspace, conversation.workspace_id) if conversation.workspace_id else None
    )
    manifest = None
    if workspace is not None and workspace.current_manifest_hash:
        try:
            parsed = await read_manifest(blobs, workspace.current_manifest_hash)
        except BlobNotFound:
            parsed = None
        if parsed is not None:
            files = [entry for entry in parsed.files if entry.type == "file"]
            manifest = ManifestSummary(
                hash=workspace.current_manifest_hash,
                file_count=len(files),
                total_bytes=sum(entry.size for entry in files),
            )
    return ProjectInfo(
        conversation_id=conversation.id,
        project=ProjectSummary(
            id=project.id, name=project.name, is_personal=project.is_personal, role=role
        ),
        workspace=WorkspaceSummary(
            id=workspace.id,
            name=workspace.name,
            is_main=workspace.is_main,
            current_manifest_hash=workspace.current_manifest_hash,
            last_seen_at=workspace.last_seen_at,
        )
        if workspace is not None
        else None,
        manifest=manifest,
    )
