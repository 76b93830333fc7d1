"""Fixtures for the deploy pipeline tests: deployments' sandboxes in a directory the
sandbox's user can reach (skipped where bubblewrap cannot run), a worker consuming the
deploy jobs on the services backend, and a project with a workspace holding a tiny app."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from orbiter.core.settings import Settings
from orbiter.sandbox import create_runner, limits_from
from orbiter.sandboxes.host import remove_tree
from tests.fakes.github import fake_github

__all__ = ["fake_github"]


@pytest.fixture(scope="session")
def _deploy_sandbox_dir(migrated: Settings) -> Iterator[Path]:
    # The test data dir is private (0700); sandboxes run as an unprivileged user when the
    # tests run as root, so deployments live where that user can pass (as in production).
    root = Path(tempfile.mkdtemp(prefix="orbiter-deploys-"))
    root.chmod(0o711)
    patch = pytest.MonkeyPatch()
    patch.setattr(migrated, "sandbox_dir", root)
    yield root
    patch.undo()
    remove_tree(root)


@pytest.fixture
async def deploys(app: FastAPI, _deploy_sandbox_dir: Path, run_worker: None) -> AsyncIterator[None]:
    settings = app.state.resources.settings
    reason = await create_runner(settings).probe(limits_from(settings))
    if reason:
        pytest.skip(f"sandboxes cannot run here: {reason}")
    yield
