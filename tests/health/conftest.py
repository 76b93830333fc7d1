"""Apps pointed at a broken dependency, and a database a test may leave behind a migration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config

from orbiter.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOWN = "127.0.0.1:1"  # nothing listens there


def migrate_sqlite(path: Path, revision: str = "head") -> str:
    """Migrate a SQLite file of its own (not the shared test database); its async URL."""
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def broken_blob_store(migrated: Settings, backend: str, tmp_path: Path) -> dict[str, Any]:
    """Settings updates that leave the blob store unusable on this backend: a bucket that
    does not exist on S3, a data dir whose `blobs` is a file for the local store."""
    if backend == "services":
        return {"s3_bucket": "no-such-bucket"}
    (tmp_path / "blobs").write_text("not a directory")
    return {"data_dir": tmp_path, "database_url": migrated.effective_database_url}
