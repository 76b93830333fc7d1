"""A fixture for tests whose code runs in sandboxes (code_interpreter, code tools and the
code_python node): the settings point at a sandbox root the sandbox's user can reach (the
test data dir is private), and the test is skipped where bubblewrap cannot run."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from orbiter.core.settings import Settings
from orbiter.runtime.resources import Resources
from orbiter.sandboxes.host import remove_tree
from orbiter.sandboxes.oneshot import unavailable_reason


@pytest.fixture(scope="session")
def code_sandbox_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="orbiter-code-sandboxes-"))
    root.chmod(0o711)
    yield root
    remove_tree(root)


@pytest.fixture
async def sandboxed(
    resources: Resources, code_sandbox_root: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Settings]:
    """The app's settings, running code in sandboxes under `code_sandbox_root`; every
    sandbox a test started is gone when it ends."""
    monkeypatch.setattr(resources.settings, "sandbox_dir", code_sandbox_root)
    if reason := await unavailable_reason(resources.settings):
        pytest.skip(f"sandboxes cannot run here: {reason}")
    yield resources.settings
    left = [p.name for p in code_sandbox_root.iterdir() if not p.name.startswith(".")]
    assert left == [], f"sandbox work dirs left behind: {left}"
