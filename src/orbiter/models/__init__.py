"""Every SQLAlchemy model, importable from one place (Alembic reads `Base.metadata`)."""

from orbiter.models.agents import TOOL_TYPES, Agent, Tool
from orbiter.models.base import Base
from orbiter.models.credentials import AccessToken, ApiKey, DeviceAuthorization
from orbiter.models.deployments import DEPLOYMENT_TARGETS, Deployment
from orbiter.models.llm import PROVIDER_TYPES, Conversation, LlmProvider, Message
from orbiter.models.project import Event, Project, ProjectInvitation, ProjectMember, Role
from orbiter.models.runs import RUN_KINDS, RUN_STATUSES, SPAN_TYPES, Run, Span, UsageRollup
from orbiter.models.settings import UserSettings
from orbiter.models.store import (
    OBJECT_KINDS,
    DriftReport,
    EnvVar,
    ObjectOwner,
    Snapshot,
    StoredObject,
    Workspace,
)
from orbiter.models.user import User
from orbiter.models.waveforms import WAVEFORM_FORMATS, Waveform
from orbiter.models.workflows import Workflow, WorkflowVersion

__all__ = [
    "DEPLOYMENT_TARGETS",
    "OBJECT_KINDS",
    "PROVIDER_TYPES",
    "RUN_KINDS",
    "RUN_STATUSES",
    "SPAN_TYPES",
    "TOOL_TYPES",
    "WAVEFORM_FORMATS",
    "AccessToken",
    "Agent",
    "ApiKey",
    "Base",
    "Conversation",
    "Deployment",
    "DeviceAuthorization",
    "DriftReport",
    "EnvVar",
    "Event",
    "LlmProvider",
    "Message",
    "ObjectOwner",
    "Project",
    "ProjectInvitation",
    "ProjectMember",
    "Role",
    "Run",
    "Snapshot",
    "Span",
    "StoredObject",
    "Tool",
    "UsageRollup",
    "User",
    "UserSettings",
    "Waveform",
    "Workflow",
    "WorkflowVersion",
    "Workspace",
]
