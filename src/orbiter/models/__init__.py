"""Every SQLAlchemy model, importable from one place (Alembic reads `Base.metadata`)."""

from orbiter.models.action_items import (
    ActionItem,
    ActionItemAnalysis,
    ActionItemDismissal,
    ActionItemRun,
)
from orbiter.models.agents import TOOL_TYPES, Agent, Tool
from orbiter.models.alerts import AlertDelivery, AlertEvent, AlertRule
from orbiter.models.base import Base
from orbiter.models.credentials import AccessToken, ApiKey, DeviceAuthorization
from orbiter.models.deployments import DEPLOYMENT_TARGETS, Deployment
from orbiter.models.infra_deployments import (
    APP_DEPLOYMENT_STATUSES,
    APP_DEPLOYMENT_TRIGGERS,
    AppDeployment,
    AppDeploymentLog,
    DeploymentSettings,
)
from orbiter.models.infrastructure import InfraCredential, InfraResource
from orbiter.models.knowledge import (
    DOCUMENT_STATUSES,
    DOCUMENT_TYPES,
    Document,
    KnowledgeBase,
    KnowledgeChunk,
)
from orbiter.models.llm import PROVIDER_TYPES, Conversation, LlmProvider, Message
from orbiter.models.project import Event, Project, ProjectInvitation, ProjectMember, Role
from orbiter.models.project_knowledge import (
    AtlasConcept,
    AtlasDiagram,
    AtlasEdge,
    AtlasIndexState,
    Decision,
    NextStep,
    ProjectBrief,
)
from orbiter.models.runs import (
    RUN_KINDS,
    RUN_STATUSES,
    SPAN_TYPES,
    LlmCall,
    Run,
    Span,
    UsageRollup,
)
from orbiter.models.sandboxes import Sandbox
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
from orbiter.models.sync import SyncPreview
from orbiter.models.tasks import TASK_LOG_TYPES, Task, TaskLog
from orbiter.models.user import User
from orbiter.models.waveforms import WAVEFORM_FORMATS, Waveform
from orbiter.models.workflows import Workflow, WorkflowVersion

__all__ = [
    "APP_DEPLOYMENT_STATUSES",
    "APP_DEPLOYMENT_TRIGGERS",
    "DEPLOYMENT_TARGETS",
    "DOCUMENT_STATUSES",
    "DOCUMENT_TYPES",
    "OBJECT_KINDS",
    "PROVIDER_TYPES",
    "RUN_KINDS",
    "RUN_STATUSES",
    "SPAN_TYPES",
    "TASK_LOG_TYPES",
    "TOOL_TYPES",
    "WAVEFORM_FORMATS",
    "AccessToken",
    "ActionItem",
    "ActionItemAnalysis",
    "ActionItemDismissal",
    "ActionItemRun",
    "Agent",
    "AlertDelivery",
    "AlertEvent",
    "AlertRule",
    "ApiKey",
    "AppDeployment",
    "AppDeploymentLog",
    "AtlasConcept",
    "AtlasDiagram",
    "AtlasEdge",
    "AtlasIndexState",
    "Base",
    "Conversation",
    "Decision",
    "Deployment",
    "DeploymentSettings",
    "DeviceAuthorization",
    "Document",
    "DriftReport",
    "EnvVar",
    "Event",
    "InfraCredential",
    "InfraResource",
    "KnowledgeBase",
    "KnowledgeChunk",
    "LlmCall",
    "LlmProvider",
    "Message",
    "NextStep",
    "ObjectOwner",
    "Project",
    "ProjectBrief",
    "ProjectInvitation",
    "ProjectMember",
    "Role",
    "Run",
    "Sandbox",
    "Snapshot",
    "Span",
    "StoredObject",
    "SyncPreview",
    "Task",
    "TaskLog",
    "Tool",
    "UsageRollup",
    "User",
    "UserSettings",
    "Waveform",
    "Workflow",
    "WorkflowVersion",
    "Workspace",
]
