"""Per-user preferences: defaults until first saved, partial updates after."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import upsert_insert
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
    row = await _locked_row(db, user_id)
    merged = UserPreferences.model_validate({**row.preferences, **updates})
    row.preferences = merged.model_dump()
    await db.flush()
    return merged


async def _locked_row(db: AsyncSession, user_id: uuid.UUID) -> UserSettings:
    """The caller's row, created if missing and held until commit, so that concurrent
    PATCHes neither collide on the first insert nor overwrite each other's keys.

    The insert comes first: on SQLite it takes the write lock before anything is read.
    """
    await db.execute(
        upsert_insert(db, UserSettings)
        .values(user_id=user_id, preferences={})
        .on_conflict_do_nothing(index_elements=[UserSettings.user_id])
    )
    stmt = (
        select(UserSettings)
        .where(UserSettings.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await db.scalars(stmt)).one()
