"""Deploy pipeline schemas: deployments, their logs, the callback, deployment settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from orbiter.core.schemas import RequestModel, has_control_characters

DeploymentStatus = Literal["queued", "building", "deploying", "live", "failed", "stopped"]
Runtime = Literal["python", "node", "go", "static"]
MAX_COMMAND = 4000


def _command(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise ValueError("must not be blank (send null to use the detected command)")
    if "\n" in value or "\r" in value:
        raise ValueError("must be one line (chain commands with && or ;)")
    return value


def _health_path(value: str) -> str:
    if not value.startswith("/") or value.startswith("//") or has_control_characters(value):
        raise ValueError("must be a path on the app, starting with a single /")
    return value


Command = Annotated[str | None, Field(max_length=MAX_COMMAND), AfterValidator(_command)]
HealthPath = Annotated[str, Field(max_length=512), AfterValidator(_health_path)]


class AppDeploymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    workspace_id: uuid.UUID | None
    conversation_id: uuid.UUID | None
    trigger: str = Field(description="`manual`, `workspace`, `conversation` or `auto`")
    provider: str = Field(description="Where it runs: `local` (this host, in a sandbox)")
    manifest_hash: str | None = Field(description="The workspace's files it deploys")
    snapshot_id: uuid.UUID | None = Field(description="The snapshot of those files, if any")
    status: DeploymentStatus
    url: str | None
    error: str | None
    plan: dict[str, Any] = Field(
        description="What the pipeline found and ran: runtime, framework, build and start "
        "commands, health path, requirements"
    )
    provisioned_resources: list[Any] = Field(
        description="The resources it needs: `{id, provider, resource_type, name, created}` "
        "(`created`: provisioned for it)"
    )
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None = Field(description="When it went live or failed")
    stopped_at: datetime | None


class AppDeploymentCreated(AppDeploymentRead):
    callback_token: str = Field(
        description="Shown once: the token a pipeline of your own sends to "
        "`POST /infrastructure/deployments/{id}/status` (only its hash is stored)"
    )


class DeployStarted(BaseModel):
    deployment_id: uuid.UUID
    status: DeploymentStatus
    callback_token: str = Field(description="Shown once (see the deployment's status callback)")


class ProjectDeploy(RequestModel):
    workspace_id: uuid.UUID | None = Field(
        default=None, description="The workspace whose current files to deploy (default: main)"
    )


class ProjectDeployResult(BaseModel):
    success: bool = Field(description="False when the deployment failed")
    deployment_id: uuid.UUID
    status: DeploymentStatus = Field(description="`live` or `failed`, or still in progress")
    url: str | None
    resources: list[Any] = Field(
        description="The resources the app needs: `{id, provider, resource_type, name, created}`"
    )
    provisioned_resources: list[Any] = Field(description="Those this deploy provisioned")
    error: str | None
    callback_token: str = Field(description="Shown once (see the deployment's status callback)")


class StatusReport(RequestModel):
    status: DeploymentStatus
    url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https?://", description="Where it answers"
    )
    error: str | None = Field(default=None, max_length=8000)
    completed_at: datetime | None = None


class StatusAccepted(BaseModel):
    deployment_id: uuid.UUID
    status: str = Field(description="The deployment's status now")
    changed: bool = Field(description="False when it already had that status")


class DeployLogLine(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int = Field(description="Its position in the deployment's log, from 1")
    stream: str = Field(description="`system` (the pipeline), `build` or `app`")
    line: str
    created_at: datetime


class DeploymentSettingsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    workspace_id: uuid.UUID
    project_id: uuid.UUID
    auto_deploy: bool = Field(
        description="Deploy (trigger `auto`) each time the workspace's current files change"
    )
    runtime_override: Runtime | None = Field(description="Instead of the detected runtime")
    build_command: str | None = Field(description="Instead of the detected build command")
    start_command: str | None = Field(description="Instead of the detected start command")
    health_check_path: str = Field(description="What must answer before it is `live`")
    updated_at: datetime | None


class DeploymentSettingsEnvelope(BaseModel):
    settings: DeploymentSettingsRead


class DeploymentSettingsUpdate(RequestModel):
    """Fields left out keep their value; null clears an override."""

    auto_deploy: bool | None = None
    runtime_override: Runtime | None = None
    build_command: Command = None
    start_command: Command = None
    health_check_path: HealthPath | None = None
