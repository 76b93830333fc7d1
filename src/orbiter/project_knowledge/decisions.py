"""Decisions taken in a project's conversations, found by the user's LLM.

Each decision keeps the ids of the messages it came from. Its `key` (the title, NFKC, lower
case, words only) is unique per project: extracting again adds the new message ids to a
known decision instead of storing it twice.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.atlas.summary import concepts_named
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.models import Conversation, Decision, Message, Role
from orbiter.project_knowledge.llm_json import ask_json, text_field
from orbiter.project_knowledge.schemas import DecisionRead, ExtractedDecisions, LinkedConcept
from orbiter.providers.opening import choose_provider
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project

RECENT_MESSAGES = 200
MAX_MESSAGE_CHARS = 2000
MAX_DECISIONS = 30
_NOT_WORD = re.compile(r"[\W_]+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*[A-Za-z0-9_]|[A-Za-z]")
SYSTEM = (
    "You read a software team's conversations and list the decisions they took (a choice of "
    "technology, design, scope or process that was agreed, not a question or an idea still "
    "open). Each message is shown as [message id] role: text. Answer with one JSON object "
    'only: {"decisions": [{"title": str, "rationale": str, "message_ids": [str]}]}, where '
    "message_ids are the ids of the messages the decision was taken or explained in. "
    "Use short titles that name the decision itself. An empty list when there is none."
)


def decision_key(title: str) -> str:
    """The normalized form two titles of the same decision share."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())[:300]


def decision_read(row: Decision) -> DecisionRead:
    return DecisionRead(
        id=row.id,
        project_id=row.project_id,
        title=row.title,
        rationale=row.rationale,
        message_ids=[uuid.UUID(m) for m in row.message_ids],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def list_decisions(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    include_links: bool,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[DecisionRead], PageInfo]:
    """Newest first; with `include_links`, the atlas concepts each decision names."""
    await load_project(db, user_id=user_id, project_id=project_id)
    stmt = select(Decision).where(Decision.project_id == project_id)
    rows, info = await paginate(
        db, stmt, order=[Decision.created_at, Decision.id], params=params, codec=codec
    )
    decisions = [decision_read(row[0]) for row in rows]
    if include_links:
        await _link(db, project_id, decisions)
    return decisions, info


async def _link(db: AsyncSession, project_id: uuid.UUID, decisions: list[DecisionRead]) -> None:
    words = {d.id: _words(f"{d.title} {d.rationale}") for d in decisions}
    named = await concepts_named(db, project_id=project_id, names=set().union(*words.values()))
    for decision in decisions:
        found = [c for word in sorted(words[decision.id]) for c in named.get(word, [])]
        decision.linked_concepts = [
            LinkedConcept(id=c.id, name=c.name, layer=c.layer, path=c.path) for c in found
        ]


def _words(text: str) -> set[str]:
    return {word.lower() for word in _IDENTIFIER.findall(text)}


async def _recent_messages(db: AsyncSession, project_id: uuid.UUID) -> list[Message]:
    stmt = (
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.project_id == project_id,
            Message.role.in_(("user", "assistant")),
            Message.status == "complete",
            Message.content != "",
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(RECENT_MESSAGES)
    )
    return list(reversed((await db.scalars(stmt)).all()))


def _transcript(messages: list[Message]) -> str:
    lines = []
    for message in messages:
        text = " ".join(message.content.split())[:MAX_MESSAGE_CHARS]
        lines.append(f"[{message.id}] {message.role}: {text}")
    return "\n".join(lines)


def _found(items: list[Any], known_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The model's decisions by key, each with the message ids it named that were shown."""
    found: dict[str, dict[str, Any]] = {}
    for item in items[:MAX_DECISIONS]:
        title = text_field(item, "title", 300) if isinstance(item, dict) else ""
        key = decision_key(title)
        if not key:
            continue
        raw_ids = item.get("message_ids")
        ids = [str(i) for i in raw_ids if str(i) in known_ids] if isinstance(raw_ids, list) else []
        entry = found.setdefault(
            key, {"title": title, "rationale": text_field(item, "rationale", 4000), "ids": []}
        )
        entry["ids"] = list(dict.fromkeys([*entry["ids"], *ids]))
    return found


async def _store(
    db: AsyncSession, project_id: uuid.UUID, key: str, found: dict[str, Any]
) -> tuple[Decision, bool]:
    """The decision stored under `key` (its message ids extended), or a new one."""
    existing = await db.scalar(
        select(Decision).where(Decision.project_id == project_id, Decision.key == key)
    )
    if existing is None:
        row = Decision(
            project_id=project_id,
            key=key,
            title=found["title"],
            rationale=found["rationale"],
            message_ids=found["ids"],
        )
        try:
            async with db.begin_nested():
                db.add(row)
            return row, True
        except IntegrityError:  # a concurrent extract stored it first
            existing = await db.scalar(
                select(Decision).where(Decision.project_id == project_id, Decision.key == key)
            )
            assert existing is not None
    merged = list(dict.fromkeys([*existing.message_ids, *found["ids"]]))
    if merged != existing.message_ids:
        existing.message_ids = merged
    return existing, False


async def extract_decisions(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, project_id: uuid.UUID
) -> ExtractedDecisions:
    """Ask the model for the decisions in the project's recent conversations (editors only)."""
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    await choose_provider(db, user_id=user_id)  # 503 saying how to add one, even with no messages
    messages = await _recent_messages(db, project_id)
    if not messages:
        return ExtractedDecisions(decisions=[], extracted_count=0)
    prompt = "Conversations:\n" + _transcript(messages)
    answer = await ask_json(
        db,
        resources,
        user_id=user_id,
        project_id=project_id,
        purpose="decisions",
        system=SYSTEM,
        prompt=prompt,
        key="decisions",
    )
    stored = [
        await _store(db, project_id, key, item)
        for key, item in _found(answer, {str(m.id) for m in messages}).items()
    ]
    await db.flush()
    return ExtractedDecisions(
        decisions=[decision_read(row) for row, _ in stored],
        extracted_count=sum(1 for _, new in stored if new),
    )
