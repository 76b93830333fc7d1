"""Every domain router, mounted under /api/v1. Find an endpoint's code from its URL here."""

from __future__ import annotations

from fastapi import APIRouter

from orbiter.api_keys.router import router as api_keys_router
from orbiter.auth.router import router as auth_router
from orbiter.ci.router import router as ci_router
from orbiter.core.schemas import ERROR_RESPONSES
from orbiter.oauth.router import router as oauth_router
from orbiter.projects.router import router as projects_router
from orbiter.settings.router import router as settings_router

api_router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
api_router.include_router(auth_router)  # /api/v1/auth
api_router.include_router(oauth_router)  # /api/v1/oauth
api_router.include_router(api_keys_router)  # /api/v1/api-keys
api_router.include_router(ci_router)  # /api/v1/ci
api_router.include_router(settings_router)  # /api/v1/settings
api_router.include_router(projects_router)  # /api/v1/projects
