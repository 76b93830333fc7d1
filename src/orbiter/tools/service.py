"""Tools: built-ins (read-only, visible to everyone) and a project's custom tools (CRUD).

Custom tools belong to a project: members see them, editors change them. A tool's `id` in
the API is a built-in's name or a custom tool's UUID.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import delete_one
from orbiter.core.errors import BadRequest, Conflict, Forbidden, NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams
from orbiter.models import Agent, Role, Tool
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project, load_project_row, member_project_ids
from orbiter.tenancy.events import record_event
from orbiter.tenancy.projects import project_or_personal
from orbiter.tools import custom_code, custom_http, secrets
from orbiter.tools.base import RunnableTool
from orbiter.tools.registry import BUILTINS, builtin, builtin_names
from orbiter.tools.schema_check import check_input_schema
from orbiter.tools.schemas import ToolCreate, ToolRead, ToolUpdate


def builtin_read(tool: RunnableTool) -> ToolRead:
    return ToolRead(
        id=tool.id,
        name=tool.name,
        description=tool.description,
        type="builtin",
        builtin=True,
        project_id=None,
        input_schema=tool.input_schema,
        config=None,
        created_at=None,
        updated_at=None,
    )


def tool_read(row: Tool) -> ToolRead:
    return ToolRead(
        id=str(row.id),
        name=row.name,
        description=row.description,
        type=row.type,
        builtin=False,
        project_id=row.project_id,
        input_schema=row.input_schema,
        config=custom_http.shown_config(row.config) if row.type == "http" else row.config,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def custom_id(tool_id: str) -> uuid.UUID:
    """A custom tool's id; anything that is neither a built-in nor a UUID names nothing."""
    try:
        return uuid.UUID(tool_id)
    except ValueError as exc:
        raise NotFound("Tool not found") from exc


async def load_tool(
    db: AsyncSession, *, user_id: uuid.UUID, tool_id: str, min_role: Role = Role.VIEWER
) -> Tool:
    return await load_project_row(
        db, Tool, custom_id(tool_id), user_id=user_id, min_role=min_role, label="Tool"
    )


# ---------------------------------------------------------------- list


async def list_tools(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    project_id: uuid.UUID | None = None,
) -> tuple[list[ToolRead], PageInfo]:
    """Built-ins first (by name), then the custom tools the caller can see, newest first.

    One keyset over both: a cursor is `[0, name]` inside the built-ins, `[1, created_at, id]`
    inside the custom tools.
    """
    visible: ColumnElement[bool] = Tool.project_id.in_(member_project_ids(user_id))
    if project_id is not None:
        await load_project(db, user_id=user_id, project_id=project_id)
        visible = visible & (Tool.project_id == project_id)
    after: list[Any] | None = None
    if params.cursor:
        cursor = codec.decode(params.cursor)
        after, total = _checked(cursor.after), cursor.total
    else:
        custom = await db.scalar(select(func.count()).select_from(Tool).where(visible))
        total = len(BUILTINS) + int(custom or 0)
    items: list[tuple[list[Any], ToolRead]] = []
    if after is None or after[0] == 0:
        names = [n for n in builtin_names() if after is None or n > after[1]]
        items = [([0, n], builtin_read(BUILTINS[n])) for n in names[: params.limit + 1]]
    room = params.limit + 1 - len(items)
    if room > 0:
        stmt = select(Tool).where(visible)
        if after is not None and after[0] == 1:
            stmt = stmt.where(tuple_(Tool.created_at, Tool.id) < tuple_(after[1], after[2]))
        stmt = stmt.order_by(Tool.created_at.desc(), Tool.id.desc()).limit(room)
        items += [([1, r.created_at, r.id], tool_read(r)) for r in (await db.scalars(stmt)).all()]
    has_more = len(items) > params.limit
    page = items[: params.limit]
    next_cursor = codec.encode(page[-1][0], total) if has_more else None
    return [read for _, read in page], PageInfo(
        next_cursor=next_cursor, has_more=has_more, total=total
    )


def _checked(after: list[Any]) -> list[Any]:
    if (len(after) == 2 and after[0] == 0 and isinstance(after[1], str)) or (
        len(after) == 3 and after[0] == 1 and isinstance(after[2], uuid.UUID)
    ):
        return after
    raise BadRequest("Invalid pagination cursor", details={"field": "cursor"})


# ---------------------------------------------------------------- read and write


async def get_tool(db: AsyncSession, *, user_id: uuid.UUID, tool_id: str) -> ToolRead:
    found = builtin(tool_id)
    if found is not None:
        return builtin_read(found)
    return tool_read(await load_tool(db, user_id=user_id, tool_id=tool_id))


async def _checked_config(
    resources: Resources,
    *,
    tool_type: str,
    config: dict[str, Any],
    input_schema: dict[str, Any],
    kept_secrets: dict[str, str],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The configuration to store and the secret values to seal (a code tool has none)."""
    check_input_schema(input_schema)
    if tool_type == "code":
        return custom_code.stored_config(custom_code.parse_config(config)), {}
    parsed = custom_http.parse_config(config)
    await custom_http.check_config(parsed, input_schema, resources.settings)
    return custom_http.stored_config(parsed, kept_secrets)


def _refuse_builtin_name(name: str) -> None:
    if builtin(name) is not None:
        raise Conflict(
            f"{name!r} is the name of a built-in tool", details={"field": "name", "name": name}
        )


def _duplicate(name: str) -> Conflict:
    return Conflict(
        f"The project already has a tool named {name!r}", details={"field": "name", "name": name}
    )


async def _flush_unique(db: AsyncSession, row: Tool) -> None:
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError as exc:  # the name, taken by a concurrent request
        raise _duplicate(row.name) from exc


async def _name_taken(db: AsyncSession, project_id: uuid.UUID, name: str, exclude: Any) -> bool:
    stmt = select(Tool.id).where(Tool.project_id == project_id, Tool.name == name)
    if exclude is not None:
        stmt = stmt.where(Tool.id != exclude)
    return (await db.scalar(stmt.limit(1))) is not None


async def create_tool(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, body: ToolCreate
) -> ToolRead:
    project_id = await project_or_personal(db, user_id=user_id, project_id=body.project_id)
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    _refuse_builtin_name(body.name)
    config, values = await _checked_config(
        resources,
        tool_type=body.type,
        config=body.config,
        input_schema=body.input_schema,
        kept_secrets={},
    )
    if await _name_taken(db, project_id, body.name, None):
        raise _duplicate(body.name)
    row = Tool(
        id=uuid.uuid4(),
        project_id=project_id,
        created_by=user_id,
        name=body.name,
        description=body.description,
        type=body.type,
        input_schema=body.input_schema,
        config=config,
    )
    row.secrets_encrypted = secrets.seal(resources.secrets, row.id, values)
    await _flush_unique(db, row)
    await record_event(
        db,
        project_id=project_id,
        actor_id=user_id,
        type="tool.created",
        data={"tool_id": str(row.id), "name": row.name},
    )
    await db.refresh(row)
    return tool_read(row)


def _refuse_builtin_change(tool_id: str) -> None:
    if builtin(tool_id) is not None:
        raise Forbidden("Built-in tools are read-only")


async def update_tool(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, tool_id: str, body: ToolUpdate
) -> ToolRead:
    _refuse_builtin_change(tool_id)
    row = await load_tool(db, user_id=user_id, tool_id=tool_id, min_role=Role.EDITOR)
    if body.name is not None and body.name != row.name:
        _refuse_builtin_name(body.name)
        if await _name_taken(db, row.project_id, body.name, row.id):
            raise _duplicate(body.name)
        row.name = body.name
    if body.description is not None:
        row.description = body.description
    if body.input_schema is not None or body.config is not None:
        kept = secrets.unseal(resources.secrets, row)
        raw = body.config if body.config is not None else _editable(row.config, kept)
        schema = body.input_schema if body.input_schema is not None else row.input_schema
        config, values = await _checked_config(
            resources, tool_type=row.type, config=raw, input_schema=schema, kept_secrets=kept
        )
        row.input_schema, row.config = schema, config
        row.secrets_encrypted = secrets.seal(resources.secrets, row.id, values)
    await _flush_unique(db, row)
    await db.refresh(row)
    return tool_read(row)


def _editable(config: dict[str, Any], kept: dict[str, str]) -> dict[str, Any]:
    """The stored configuration in the shape a request sends (secret values from `kept`)."""
    if "headers" not in config:  # a code tool's
        return config
    headers = [
        {"name": h["name"], "value": kept.get(h["name"]), "secret": True}
        if h.get("secret")
        else {"name": h["name"], "value": h["value"], "secret": False}
        for h in config.get("headers", [])
    ]
    return {**config, "headers": headers}


async def delete_tool(db: AsyncSession, *, user_id: uuid.UUID, tool_id: str) -> None:
    """Delete it, and take it out of the tool lists of the project's agents."""
    _refuse_builtin_change(tool_id)
    row = await load_tool(db, user_id=user_id, tool_id=tool_id, min_role=Role.EDITOR)
    await delete_one(db, delete(Tool).where(Tool.id == row.id), missing="Tool not found")
    agents = (await db.scalars(select(Agent).where(Agent.project_id == row.project_id))).all()
    for agent in agents:
        if str(row.id) in agent.tool_ids:
            agent.tool_ids = [t for t in agent.tool_ids if t != str(row.id)]
            agent.version += 1
    await record_event(
        db,
        project_id=row.project_id,
        actor_id=user_id,
        type="tool.deleted",
        data={"tool_id": str(row.id), "name": row.name},
    )


# ---------------------------------------------------------------- ready to run


async def runnable_tool(
    db: AsyncSession, resources: Resources, *, tool: str, project_id: uuid.UUID
) -> RunnableTool | None:
    """A built-in by name, or a custom tool of `project_id` by id, ready to run; else None."""
    found = builtin(tool)
    if found is not None:
        return found
    try:
        row = await db.get(Tool, uuid.UUID(tool))
    except ValueError:
        return None
    if row is None or row.project_id != project_id:
        return None
    return runnable_row(resources, row)


def runnable_row(resources: Resources, row: Tool) -> RunnableTool:
    """A custom tool ready to run, of its type."""
    if row.type == "code":
        return custom_code.runnable(row)
    return custom_http.runnable(row, secrets.unseal(resources.secrets, row))
