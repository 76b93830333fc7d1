"""Start-up: an unmigrated database is refused with the command to run; unreachable Redis or
blob store is a warning; one summary line says where everything is, passwords masked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from asgi_lifespan import LifespanManager

from orbiter.core.settings import Settings
from orbiter.health.schema import SchemaNotAtHead
from orbiter.main import create_app
from tests.health.conftest import DOWN, migrate_sqlite


async def _start_and_read_log(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> list[dict[str, Any]]:
    """Start and stop an app with JSON logs; the JSON lines it wrote."""
    app = create_app(settings.model_copy(update={"log_format": "json", "log_level": "INFO"}))
    capsys.readouterr()
    async with LifespanManager(app):
        pass
    lines = capsys.readouterr().err.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _event(lines: list[dict[str, Any]], event: str) -> dict[str, Any]:
    found = [line for line in lines if line["event"] == event]
    assert len(found) == 1, lines
    return found[0]


async def test_an_unmigrated_database_is_refused_with_the_command_to_run(
    migrated: Settings, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    app = create_app(migrated.model_copy(update={"database_url": url}))
    with pytest.raises(SchemaNotAtHead, match=r"not migrated.*orbiter migrate"):
        async with LifespanManager(app):
            pass


async def test_a_database_behind_the_latest_migration_is_refused(
    migrated: Settings, tmp_path: Path
) -> None:
    url = migrate_sqlite(tmp_path / "old.db", revision="0001")
    app = create_app(migrated.model_copy(update={"database_url": url}))
    with pytest.raises(SchemaNotAtHead, match=r"at revision 0001.*orbiter migrate"):
        async with LifespanManager(app):
            pass


async def test_the_summary_says_where_everything_is_and_that_keys_were_generated(
    migrated: Settings, tmp_path: Path, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    update = {"data_dir": tmp_path, "database_url": migrated.effective_database_url}
    lines = await _start_and_read_log(migrated.model_copy(update=update), capsys)
    summary = _event(lines, "orbiter started")
    assert summary["level"] == "info" and summary["time"].endswith("Z")
    assert summary["data_dir"] == str(tmp_path.resolve())
    assert summary["docs"].endswith("/docs")
    assert summary["keys"] == "generated now: secret key, encryption key (kept in the data dir)"
    if backend == "services":
        assert summary["redis"].startswith("redis://127.0.0.1:")
        assert (
            summary["blob_store"] == f"S3 bucket {migrated.s3_bucket} at {migrated.s3_endpoint_url}"
        )
        assert summary["database"].startswith("postgresql+asyncpg://")
    else:
        assert summary["redis"] == "in-process (no Redis)"
        assert summary["blob_store"] == f"local directory {tmp_path.resolve() / 'blobs'}"
        assert summary["database"].startswith("sqlite+aiosqlite:///")
    again = await _start_and_read_log(migrated.model_copy(update=update), capsys)
    assert _event(again, "orbiter started")["keys"] == "development keys from the data dir"


async def test_an_unreachable_database_is_a_warning_with_the_password_masked(
    migrated: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql+asyncpg://orbiter:hunter2@{DOWN}/none"
    lines = await _start_and_read_log(migrated.model_copy(update={"database_url": url}), capsys)
    assert _event(lines, "database unreachable at start-up")["level"] == "warning"
    assert (
        _event(lines, "orbiter started")["database"]
        == f"postgresql+asyncpg://orbiter:***@{DOWN}/none"
    )
    assert "hunter2" not in json.dumps(lines)


async def test_unreachable_redis_and_blob_store_are_warnings(
    migrated: Settings,
    broken_blob_store: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    update = broken_blob_store | {"redis_url": f"redis://:hunter2@{DOWN}/0"}
    lines = await _start_and_read_log(migrated.model_copy(update=update), capsys)
    assert _event(lines, "redis unreachable at start-up")["level"] == "warning"
    assert _event(lines, "blob_store unreachable at start-up")["error"]
    assert _event(lines, "orbiter started")["redis"] == f"redis://:***@{DOWN}/0"
