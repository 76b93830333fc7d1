"""Workflows: what callers send and what they get back, and the canvas a ReactFlow editor
saves. The canvas keeps keys it does not know (an editor stores `width`, `selected`...); what
its nodes and edges must mean is checked by `orbiter.workflows.canvas`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class WorkflowRunRequest(RequestModel):
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="The run's inputs: `{{ inputs.name }}` in node settings; checked against "
        "the manual trigger's `input_schema` when it has one",
    )
