"""What a deployment pins: the version of its target current at deploy (or redeploy) time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.agents.pinned import pinned_settings
from orbiter.core.errors import ValidationFailed
from orbiter.models import Agent, Workflow
from orbiter.tenancy.access import load_reference
from orbiter.workflows.running import current_version

WORKSPACE_LATER = (
    "Deploying a workspace comes with the sync and deploy issue; deploy an agent or a workflow"
)


@dataclass(frozen=True)
class Pin:
    target_version: str
    pinned: dict[str, Any] = field(default_factory=dict)


async def pin_target(
    db: AsyncSession, *, project_id: uuid.UUID, target_type: str, target_id: uuid.UUID
) -> Pin:
    """The target's current version; 422 `reference_not_found` on `target_id` when it is not
    an agent or workflow of the project (missing and foreign alike)."""
    if target_type == "workflow":
        workflow = await load_reference(
            db, Workflow, target_id, project_id=project_id, field="target_id", label="Workflow"
        )
        version = await current_version(db, workflow)
        return Pin(version.content_hash, {"version": version.version})
    if target_type == "agent":
        agent = await load_reference(
            db, Agent, target_id, project_id=project_id, field="target_id", label="Agent"
        )
        return Pin(str(agent.version), pinned_settings(agent))
    raise ValidationFailed.for_field("target_type", WORKSPACE_LATER)
