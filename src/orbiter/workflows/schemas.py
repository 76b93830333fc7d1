"""Workflows: what callers send and what they get back, and the canvas a ReactFlow editor
saves. The canvas keeps keys it does not know (an editor stores `width`, `selected`...); what
its nodes and edges must mean is checked by `orbiter.workflows.canvas`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orbiter.core.pagination import Page
from orbiter.core.schemas import Name, RequestModel, contains_nul

MAX_NODES = 500
MAX_EDGES = 2000

WorkflowName = Annotated[Name, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=2000)]
ElementId = Annotated[str, Field(min_length=1, max_length=100)]
Handle = Annotated[str, Field(min_length=1, max_length=100)]


class CanvasPart(BaseModel):
    """Unknown keys are kept: they are the editor's."""

    model_config = ConfigDict(extra="allow")


class Position(CanvasPart):
    x: float
    y: float


class NodeData(CanvasPart):
    """`nodeType` says what the node does; the node's settings sit beside it."""

    nodeType: str = Field(min_length=1, max_length=64, description="One of the node types")
    label: str = Field(max_length=200)


class CanvasNode(CanvasPart):
    id: ElementId
    type: str = Field(max_length=64, description="The editor's component for the node")
    data: NodeData
    position: Position


class CanvasEdge(CanvasPart):
    id: ElementId
    source: ElementId
    target: ElementId
    sourceHandle: Handle | None = None
    targetHandle: Handle | None = None


class Canvas(CanvasPart):
    nodes: list[CanvasNode] = Field(max_length=MAX_NODES)
    edges: list[CanvasEdge] = Field(default_factory=list, max_length=MAX_EDGES)
    viewport: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if contains_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


CANVAS = (
    "What a ReactFlow editor saves: `{nodes: [{id, type, data: {nodeType, label, ...settings}, "
    "position}], edges: [{id, source, target, sourceHandle?, targetHandle?}], viewport?}`"
)


class WorkflowCreate(RequestModel):
    project_id: uuid.UUID | None = Field(
        default=None, description="Default: the caller's personal project"
    )
    name: WorkflowName
    description: Description | None = None
    canvas: Canvas = Field(description=CANVAS)


class WorkflowUpdate(RequestModel):
    """Fields not sent keep their value; `description` may be set to null. A canvas that
    differs from the current one becomes a new version."""

    name: WorkflowName | None = None
    description: Description | None = None
    canvas: Canvas | None = Field(default=None, description=CANVAS)

    @model_validator(mode="after")
    def _something_to_change(self) -> WorkflowUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        for name in ("name", "canvas"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class WorkflowRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    created_by: uuid.UUID | None
    name: str
    description: str | None
    canvas: dict[str, Any]
    version: int = Field(description="The number of the version holding the current canvas")
    content_hash: str = Field(description="SHA-256 of the current canvas's canonical form")
    trigger_type: str = Field(description="The node type of the canvas's trigger")
    schedule_next_at: datetime | None = Field(
        description="With a schedule trigger: when the scheduler starts the next run (UTC)"
    )
    created_at: datetime
    updated_at: datetime


class WorkflowVersionRead(BaseModel):
    version: int = Field(description="1 for the first canvas, then one more per changed canvas")
    content_hash: str = Field(
        description="SHA-256 of the canonical canvas (nodes and edges sorted by id, keys sorted; "
        "the viewport left out)"
    )
    canvas: dict[str, Any]
    created_by: uuid.UUID | None
    created_at: datetime


class NodeTypeRead(BaseModel):
    name: str = Field(description="What a node's `data.nodeType` says")
    category: str = Field(description="trigger, ai, tool, logic, data, knowledge or output")
    description: str
    inputs: list[str] = Field(description="Its input handles (`targetHandle`); none: a trigger")
    outputs: list[str] = Field(
        description="Its output handles (`sourceHandle`); none: nothing may follow it"
    )
    outputs_from_config: str | None = Field(
        default=None,
        description="Set when the config adds output handles to `outputs` (a switch: one per "
        "case), saying how",
    )
    config_schema: dict[str, Any] = Field(
        description="JSON Schema of the node's own settings in `data` (its pydantic model's); "
        "save-time validation applies it. A field not in `raw_fields` may also hold a template "
        "(`{{ inputs.limit }}`): it is rendered with the run's variables, then checked"
    )
    raw_fields: list[str] = Field(
        description="Fields the node reads as written (a template it renders itself, an "
        "expression, code), not rendered before it runs"
    )


class NodeTypePage(Page[NodeTypeRead]):
    settings_schema: dict[str, Any] = Field(
        description="JSON Schema of the settings every node may set in `data` besides its own "
        "(`retry_count`, `retry_delay_ms`, `on_error`, `fallback_value`, `timeout_ms`)"
    )


VERSION_PATTERN = r"^([1-9][0-9]{0,8}|[0-9a-f]{64})$"
VERSION_ID = "A version number (1, 2, ...) or a content hash (64 lowercase hex)"


class VersionRef(BaseModel):
    version: int
    content_hash: str


class FieldChange(BaseModel):
    field: str = Field(
        description="`data.<key>` for a key of a node's data, else the top-level key "
        "(`position`, `sourceHandle`, `targetHandle`, `source`, `target`...)"
    )
    before: Any = Field(default=None, description="null: the key was not there")
    after: Any = Field(default=None, description="null: the key is gone")


class ElementChange(BaseModel):
    id: str
    changes: list[FieldChange]


class ElementsDiff(BaseModel):
    added: list[dict[str, Any]] = Field(description="As saved in the newer version")
    removed: list[dict[str, Any]] = Field(description="As saved in the older version")
    changed: list[ElementChange] = Field(description="The same id, some keys changed")


class VersionDiff(BaseModel):
    """What changed from one version (`from`) to another (`to`), by node and edge id."""

    model_config = ConfigDict(populate_by_name=True)

    from_: VersionRef | None = Field(
        alias="from", description="null when `to` is the first version (everything is added)"
    )
    to: VersionRef
    nodes: ElementsDiff
    edges: ElementsDiff


class WorkflowRunRequest(RequestModel):
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="The run's inputs: `{{ inputs.name }}` in node settings; checked against "
        "the manual trigger's `input_schema` when it has one",
    )
