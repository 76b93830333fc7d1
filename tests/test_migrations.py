"""One Alembic history: after `upgrade head` the schema matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from orbiter.models import Base
from orbiter.runtime.resources import Resources


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_autogenerate_finds_no_difference_after_upgrade(resources: Resources) -> None:
    async with resources.engine.connect() as connection:
        assert await connection.run_sync(_diff) == []
