"""Every domain router, mounted under /api/v1. Find an endpoint's code from its URL here."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from orbiter.api_keys.router import router as api_keys_router
from orbiter.auth.dependencies import require_principal
from orbiter.auth.router import router as auth_router
from orbiter.blobs.router import router as blobs_router
from orbiter.chat.router import router as chat_router
from orbiter.ci.router import router as ci_router
from orbiter.conversations.router import router as conversations_router
from orbiter.core.schemas import ERROR_RESPONSES
from orbiter.docs.router import router as docs_router
from orbiter.env_vars.router import router as env_vars_router
from orbiter.oauth.router import router as oauth_router
from orbiter.projects.router import invitations_router
from orbiter.projects.router import router as projects_router
from orbiter.providers.router import router as providers_router
from orbiter.settings.router import router as settings_router
from orbiter.snapshots.router import project_router as project_snapshots_router
from orbiter.snapshots.router import router as snapshots_router
from orbiter.workspaces.router import project_router as project_workspaces_router
from orbiter.workspaces.router import router as workspaces_router

# Authenticated by default: public routes opt out by name in auth.dependencies.PUBLIC_ROUTES.
api_router = APIRouter(
    prefix="/api/v1", responses=ERROR_RESPONSES, dependencies=[Depends(require_principal)]
)
api_router.include_router(auth_router)  # /api/v1/auth
api_router.include_router(oauth_router)  # /api/v1/oauth
api_router.include_router(api_keys_router)  # /api/v1/api-keys
api_router.include_router(ci_router)  # /api/v1/ci
api_router.include_router(settings_router)  # /api/v1/settings
api_router.include_router(projects_router)  # /api/v1/projects
api_router.include_router(invitations_router)  # /api/v1/invitations
api_router.include_router(env_vars_router)  # /api/v1/projects/{project_id}/env-vars
api_router.include_router(docs_router)  # /api/v1/projects/{project_id}/docs
api_router.include_router(blobs_router)  # /api/v1/blobs
api_router.include_router(providers_router)  # /api/v1/providers
api_router.include_router(chat_router)  # /api/v1/chat
api_router.include_router(project_workspaces_router)  # /api/v1/projects/{project_id}/workspaces
api_router.include_router(workspaces_router)  # /api/v1/workspaces
api_router.include_router(project_snapshots_router)  # /api/v1/projects/{project_id}/snapshots
api_router.include_router(snapshots_router)  # /api/v1/snapshots
api_router.include_router(conversations_router)  # /api/v1/conversations
