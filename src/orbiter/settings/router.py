"""/api/v1/settings: the caller's preferences."""

from __future__ import annotations

from fastapi import APIRouter

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.runtime.deps import DbSession
from orbiter.settings import service
from orbiter.settings.schemas import UserPreferences, UserPreferencesUpdate

router = APIRouter(prefix="/settings", tags=["settings"])


@router.get("", response_model=UserPreferences, summary="Get preferences")
async def get_settings(principal: CurrentPrincipal, db: DbSession) -> UserPreferences:
    """The caller's preferences (defaults for anything never set)."""
    return await service.get_preferences(db, user_id=principal.user_id)


@router.patch("", response_model=UserPreferences, summary="Change preferences")
async def update_settings(
    body: UserPreferencesUpdate, principal: CurrentPrincipal, db: DbSession
) -> UserPreferences:
    """Change some preferences; unknown keys are refused (422)."""
    return await service.update_preferences(db, user_id=principal.user_id, changes=body)
