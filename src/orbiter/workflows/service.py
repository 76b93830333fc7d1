"""Workflows: CRUD and their versions. A workflow belongs to a project: members see it,
editors and owners change it. Every canvas is validated before it is stored
(`orbiter.workflows.canvas`), and each one that differs from the current canvas becomes a new
immutable version.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from typing import Any, get_args

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import delete_one
from orbiter.core.errors import NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate, paginate_items
from orbiter.models import Role, Workflow, WorkflowVersion
from orbiter.tenancy.access import load_project, load_project_row, member_project_ids
from orbiter.tenancy.events import record_event
from orbiter.tenancy.projects import project_or_personal
from orbiter.workflows.canvas import NodeSettings, content_hash, validate_canvas
from orbiter.workflows.diff import diff_elements
from orbiter.workflows.nodes import REGISTRY, NodeType
from orbiter.workflows.nodes.base import Category
from orbiter.workflows.schemas import (
    Canvas,
    NodeTypePage,
    NodeTypeRead,
    VersionDiff,
    VersionRef,
    WorkflowCreate,
    WorkflowRead,
    WorkflowUpdate,
    WorkflowVersionRead,
)
from orbiter.workflows.triggers import trigger_columns

HASH_LENGTH = 64


def workflow_read(row: Workflow) -> WorkflowRead:
    return WorkflowRead(
        id=row.id,
        project_id=row.project_id,
        created_by=row.created_by,
        name=row.name,
        description=row.description,
        canvas=row.canvas,
        version=row.version,
        content_hash=content_hash(row.canvas),
        trigger_type=row.trigger_type,
        schedule_next_at=row.schedule_next_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def version_read(row: WorkflowVersion) -> WorkflowVersionRead:
    return WorkflowVersionRead(
        version=row.version,
        content_hash=row.content_hash,
        canvas=row.canvas,
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def load_workflow(
    db: AsyncSession, *, user_id: uuid.UUID, workflow_id: uuid.UUID, min_role: Role = Role.VIEWER
) -> Workflow:
    return await load_project_row(
        db, Workflow, workflow_id, user_id=user_id, min_role=min_role, label="Workflow"
    )


def _checked(canvas: Canvas) -> dict[str, Any]:
    """The canvas as stored, once it passed validation: what the editor sent, defaults not
    filled in."""
    validate_canvas(canvas)
    return canvas.model_dump(mode="json", exclude_unset=True)


def _keep_version(db: AsyncSession, row: Workflow, user_id: uuid.UUID) -> None:
    db.add(
        WorkflowVersion(
            workflow_id=row.id,
            version=row.version,
            content_hash=content_hash(row.canvas),
            canvas=row.canvas,
            created_by=user_id,
        )
    )


async def _event(db: AsyncSession, row: Workflow, user_id: uuid.UUID, type_: str) -> None:
    await record_event(
        db,
        project_id=row.project_id,
        actor_id=user_id,
        type=type_,
        data={"workflow_id": str(row.id), "name": row.name, "version": row.version},
    )


async def list_workflows(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    project_id: uuid.UUID | None = None,
) -> tuple[list[WorkflowRead], PageInfo]:
    """Workflows of the caller's projects (or of one), newest first."""
    stmt = select(Workflow).where(Workflow.project_id.in_(member_project_ids(user_id)))
    if project_id is not None:
        await load_project(db, user_id=user_id, project_id=project_id)
        stmt = stmt.where(Workflow.project_id == project_id)
    rows, info = await paginate(
        db, stmt, order=[Workflow.created_at, Workflow.id], params=params, codec=codec
    )
    return [workflow_read(row[0]) for row in rows], info


async def create_workflow(
    db: AsyncSession, *, user_id: uuid.UUID, body: WorkflowCreate
) -> WorkflowRead:
    """A workflow in `project_id` (default: the personal project; editors), at version 1."""
    project_id = await project_or_personal(db, user_id=user_id, project_id=body.project_id)
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    canvas = _checked(body.canvas)
    row = Workflow(
        project_id=project_id,
        created_by=user_id,
        name=body.name,
        description=body.description,
        canvas=canvas,
        version=1,
        **trigger_columns(canvas),
    )
    db.add(row)
    await db.flush()
    _keep_version(db, row, user_id)
    await _event(db, row, user_id, "workflow.created")
    return workflow_read(row)


async def get_workflow(
    db: AsyncSession, *, user_id: uuid.UUID, workflow_id: uuid.UUID
) -> WorkflowRead:
    return workflow_read(await load_workflow(db, user_id=user_id, workflow_id=workflow_id))


async def update_workflow(
    db: AsyncSession, *, user_id: uuid.UUID, workflow_id: uuid.UUID, body: WorkflowUpdate
) -> WorkflowRead:
    """Rename, describe or save a new canvas (editors). A canvas whose content hash differs
    from the current one takes the next version number, counted in the database so that two
    concurrent saves get two numbers."""
    row = await load_workflow(db, user_id=user_id, workflow_id=workflow_id, min_role=Role.EDITOR)
    sent = body.model_fields_set
    values: dict[str, Any] = {
        name: getattr(body, name) for name in ("name", "description") if name in sent
    }
    changed = False
    if body.canvas is not None:
        canvas = _checked(body.canvas)
        values |= trigger_columns(canvas)  # a schedule's next time counts from this save
        if content_hash(canvas) != content_hash(row.canvas):
            values |= {"canvas": canvas, "version": Workflow.version + 1}
            changed = True
        else:
            values["canvas"] = canvas  # the editor's extras (viewport...) still saved
    if values:
        await db.execute(
            update(Workflow)
            .where(Workflow.id == row.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await db.refresh(row)
    if changed:
        _keep_version(db, row, user_id)
        await _event(db, row, user_id, "workflow.versioned")
        await db.flush()
    return workflow_read(row)


async def delete_workflow(db: AsyncSession, *, user_id: uuid.UUID, workflow_id: uuid.UUID) -> None:
    """Delete it and its versions; its runs stay in the history."""
    row = await load_workflow(db, user_id=user_id, workflow_id=workflow_id, min_role=Role.EDITOR)
    await delete_one(
        db, delete(Workflow).where(Workflow.id == row.id), missing="Workflow not found"
    )
    await _event(db, row, user_id, "workflow.deleted")


async def list_versions(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    workflow_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[WorkflowVersionRead], PageInfo]:
    """The workflow's saved versions, newest first."""
    row = await load_workflow(db, user_id=user_id, workflow_id=workflow_id)
    stmt = select(WorkflowVersion).where(WorkflowVersion.workflow_id == row.id)
    rows, info = await paginate(
        db,
        stmt,
        order=[WorkflowVersion.version, WorkflowVersion.id],
        params=params,
        codec=codec,
    )
    return [version_read(r[0]) for r in rows], info


# ---------------------------------------------------------------- node types

CATEGORIES: tuple[str, ...] = get_args(Category)


@functools.cache  # the registry is filled at import; a JSON Schema takes a while to build
def node_type_read(node_type: NodeType) -> NodeTypeRead:
    from_config = None
    if node_type.dynamic_outputs is not None:
        from_config = inspect.getdoc(node_type.dynamic_outputs) or "Decided by the node's config"
    return NodeTypeRead(
        name=node_type.name,
        category=node_type.category,
        description=node_type.description,
        inputs=list(node_type.inputs),
        outputs=list(node_type.outputs),
        outputs_from_config=from_config,
        config_schema=node_type.config.model_json_schema(),
        raw_fields=sorted(node_type.raw_fields),
    )


def list_node_types(*, params: PageParams, codec: CursorCodec) -> NodeTypePage:
    """Every registered node type, by category (triggers first) then name, with the schema of
    the settings all of them share."""
    palette = sorted(REGISTRY.values(), key=lambda t: (CATEGORIES.index(t.category), t.name))
    rank = {node_type.name: place for place, node_type in enumerate(palette)}
    page, info = paginate_items(palette, key=lambda t: (-rank[t.name],), params=params, codec=codec)
    return NodeTypePage(
        data=[node_type_read(t) for t in page],
        pagination=info,
        settings_schema=_settings_schema(),
    )


@functools.cache
def _settings_schema() -> dict[str, Any]:
    return NodeSettings.model_json_schema()


# ---------------------------------------------------------------- diffs


async def diff_versions(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    workflow_id: uuid.UUID,
    version: str,
    against: str | None = None,
) -> VersionDiff:
    """What changed from `against` (default: the version before) to `version`; each is a
    number or a content hash. Against nothing (version 1), everything is added."""
    row = await load_workflow(db, user_id=user_id, workflow_id=workflow_id)
    newer = await _version(db, row.id, version)
    older = None
    if against is not None:
        older = await _version(db, row.id, against)
    elif newer.version > 1:
        older = await _version(db, row.id, str(newer.version - 1))
    before: dict[str, Any] = older.canvas if older is not None else {}
    return VersionDiff(
        from_=_ref(older) if older is not None else None,
        to=_ref(newer),
        nodes=diff_elements(before.get("nodes", []), newer.canvas.get("nodes", [])),
        edges=diff_elements(before.get("edges", []), newer.canvas.get("edges", [])),
    )


async def _version(db: AsyncSession, workflow_id: uuid.UUID, ref: str) -> WorkflowVersion:
    """A version by number, or by content hash (the newest with it: saving an earlier canvas
    again gives it a new number)."""
    stmt = select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id)
    if len(ref) == HASH_LENGTH:
        stmt = stmt.where(WorkflowVersion.content_hash == ref)
    else:
        stmt = stmt.where(WorkflowVersion.version == int(ref))
    found = await db.scalar(stmt.order_by(WorkflowVersion.version.desc()).limit(1))
    if found is None:
        raise NotFound(f"Version {ref} of the workflow not found")
    return found


def _ref(row: WorkflowVersion) -> VersionRef:
    return VersionRef(version=row.version, content_hash=row.content_hash)
