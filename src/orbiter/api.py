"""Every domain router, mounted under /api/v1. Find an endpoint's code from its URL here."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from orbiter.action_items.router import router as action_items_router
from orbiter.agents.router import router as agents_router
from orbiter.alerts.router import router as alerts_router
from orbiter.api_keys.router import router as api_keys_router
from orbiter.atlas.router import router as atlas_router
from orbiter.auth.dependencies import require_principal
from orbiter.auth.router import router as auth_router
from orbiter.blobs.router import router as blobs_router
from orbiter.chat.router import router as chat_router
from orbiter.ci.router import router as ci_router
from orbiter.conversations.deploy_router import router as conversation_deploys_router
from orbiter.conversations.router import router as conversations_router
from orbiter.conversations.snapshot_router import router as conversation_snapshot_router
from orbiter.deployments.router import ci_router as deployments_ci_router
from orbiter.deployments.router import router as deployments_router
from orbiter.docs.router import router as docs_router
from orbiter.env_vars.router import router as env_vars_router
from orbiter.files.router import router as files_router
from orbiter.github.router import router as github_router
from orbiter.infrastructure.credentials.router import router as infra_credentials_router
from orbiter.infrastructure.deploy.router import router as deploy_router
from orbiter.infrastructure.deploy.router import workspace_router as workspace_deploy_router
from orbiter.infrastructure.detect.router import router as infra_detect_router
from orbiter.infrastructure.resources.router import router as infra_resources_router
from orbiter.knowledge.router import documents_router
from orbiter.knowledge.router import router as knowledge_router
from orbiter.monitoring.router import router as monitoring_router
from orbiter.oauth.router import router as oauth_router
from orbiter.openapi import install_openapi
from orbiter.project_knowledge.router import router as project_knowledge_router
from orbiter.projects.router import invitations_router
from orbiter.projects.router import router as projects_router
from orbiter.providers.router import router as providers_router
from orbiter.runs.router import ci_router as runs_ci_router
from orbiter.runs.router import router as runs_router
from orbiter.sandboxes.router import router as sandboxes_router
from orbiter.search.router import router as search_router
from orbiter.settings.router import router as settings_router
from orbiter.snapshots.router import project_router as project_snapshots_router
from orbiter.snapshots.router import router as snapshots_router
from orbiter.sync.router import router as sync_router
from orbiter.tasks.router import router as tasks_router
from orbiter.tools.router import router as tools_router
from orbiter.waveforms.router import router as waveforms_router
from orbiter.workflows.router import ci_router as workflows_ci_router
from orbiter.workflows.router import router as workflows_router
from orbiter.workflows.webhook_router import router as workflow_hooks_router
from orbiter.workspaces.router import project_router as project_workspaces_router
from orbiter.workspaces.router import router as workspaces_router

API_PREFIX = "/api/v1"
# Authenticated by default: public routes opt out by name in auth.dependencies.PUBLIC_ROUTES.
AUTHENTICATED = [Depends(require_principal)]
# FastAPI tries these in order on every request, route by route: the most requested come first.
DOMAIN_ROUTERS = (
    projects_router,  # /api/v1/projects
    auth_router,  # /api/v1/auth
    oauth_router,  # /api/v1/oauth
    api_keys_router,  # /api/v1/api-keys
    ci_router,  # /api/v1/ci
    settings_router,  # /api/v1/settings
    invitations_router,  # /api/v1/invitations
    env_vars_router,  # /api/v1/projects/{project_id}/env-vars
    docs_router,  # /api/v1/projects/{project_id}/docs
    blobs_router,  # /api/v1/blobs
    providers_router,  # /api/v1/providers
    chat_router,  # /api/v1/chat
    project_workspaces_router,  # /api/v1/projects/{project_id}/workspaces
    workspaces_router,  # /api/v1/workspaces
    sync_router,  # /api/v1/workspaces/{id}/sync/*, drift/analyze
    project_snapshots_router,  # /api/v1/projects/{project_id}/snapshots
    snapshots_router,  # /api/v1/snapshots
    conversations_router,  # /api/v1/conversations
    conversation_snapshot_router,  # /api/v1/conversations/{id}/snapshot
    runs_router,  # /api/v1/runs
    runs_ci_router,  # /api/v1/ci/runs
    tools_router,  # /api/v1/tools
    agents_router,  # /api/v1/agents
    workflows_router,  # /api/v1/workflows
    workflows_ci_router,  # /api/v1/ci/workflows
    workflow_hooks_router,  # /api/v1/workflows/{id}/webhook-token, /api/v1/hooks/workflows
    deployments_router,  # /api/v1/deployments
    deployments_ci_router,  # /api/v1/ci/deployments
    search_router,  # /api/v1/search
    monitoring_router,  # /api/v1/monitoring
    sandboxes_router,  # /api/v1/sandbox, /api/v1/terminal
    files_router,  # /api/v1/files
    project_knowledge_router,  # /api/v1/projects/{project_id}/brief, /next-steps, /decisions
    atlas_router,  # /api/v1/projects/{project_id}/atlas
    alerts_router,  # /api/v1/alerts
    waveforms_router,  # /api/v1/waveforms
    knowledge_router,  # /api/v1/knowledge-bases
    documents_router,  # /api/v1/documents
    infra_credentials_router,  # /api/v1/infrastructure/credentials
    infra_detect_router,  # /api/v1/infrastructure/projects/{project_id}/detect
    infra_resources_router,  # /api/v1/infrastructure/projects/{project_id}/resources
    github_router,  # /api/v1/github
    tasks_router,  # /api/v1/tasks
    action_items_router,  # /api/v1/action-items
    # i16-deploy: the deploy pipeline
    deploy_router,  # /api/v1/infrastructure/workspaces/{id}/deployment-settings, .../deployments, /deployments/{id}/status, /projects/{id}/deploy
    workspace_deploy_router,  # /api/v1/workspaces/{id}/deploy
    conversation_deploys_router,  # /api/v1/conversations/{id}/deploy, /deployments, /deployments/{id}/logs
)


def include_api(app: FastAPI) -> None:
    """One include per domain, each on the app itself: FastAPI matches included routers on
    every request, and a router nested in another cost a second matching pass. The OpenAPI
    document then gets each operation's own error responses (`orbiter.openapi`)."""
    for router in DOMAIN_ROUTERS:
        app.include_router(router, prefix=API_PREFIX, dependencies=AUTHENTICATED)
    install_openapi(app, api_prefix=API_PREFIX)
