"""Per-user preferences: defaults until first saved, partial updates after."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import ValidationFailed
from orbiter.models import UserSettings
from orbiter.settings.schemas import UserPreferences, UserPreferencesUpdate

NON_NULLABLE = ("theme", "privacy_mode", "notifications", "sounds", "enabled_model_ids", "language")


async def get_preferences(db: AsyncSession, *, user_id: uuid.UUID) -> UserPreferences:
    row = await db.get(UserSettings, user_id)
    return UserPreferences.model_validate(row.preferences if row else {})


async def update_preferences(
    db: AsyncSession, *, user_id: uuid.UUID, changes: UserPreferencesUpdate
) -> UserPreferences:
    updates = changes.model_dump(exclude_unset=True)
    for key in NON_NULLABLE:
        if key in updates and updates[key] is None:
            raise ValidationFailed.for_field(key, f"{key} cannot be null", "null_not_allowed")
    row = await db.get(UserSettings, user_id)
    if row is None:
        row = UserSettings(user_id=user_id, preferences={})
        db.add(row)
    merged = UserPreferences.model_validate({**row.preferences, **updates})
    row.preferences = merged.model_dump()
    await db.flush()
    return merged
