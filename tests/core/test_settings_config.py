"""Start-up settings: production refuses default secrets; development keeps generated ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from orbiter.core.crypto import new_key_entry
from orbiter.core.settings import Settings


def test_production_refuses_the_default_secret(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="ORBITER_SECRET_KEY"):
        Settings(environment="production", data_dir=tmp_path, encryption_keys=[new_key_entry()])


def test_production_refuses_missing_encryption_keys(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="ORBITER_ENCRYPTION_KEYS"):
        Settings(environment="production", data_dir=tmp_path, secret_key="s" * 48)


def test_development_generates_a_secret_once_and_keeps_it(tmp_path: Path) -> None:
    settings = Settings(environment="development", data_dir=tmp_path)
    first, generated = settings.resolved_secret_key()
    assert generated and len(first) >= 48
    assert Settings(data_dir=tmp_path).resolved_secret_key() == (first, False)
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_lists_come_from_comma_separated_environment_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORBITER_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]
