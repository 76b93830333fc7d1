"""The one list of executor modules, imported by every process that runs runs (the worker,
and the API when embedded). Each module calls `register_executor(kind, fn)` at import.

Named, not imported: `runs` sits below the domains whose executors run on it (agents,
workflows, tasks...), so importing them here would make an import cycle.
"""

from __future__ import annotations

import importlib

EXECUTOR_MODULES: tuple[str, ...] = (
    "orbiter.agents.executor",
    "orbiter.tools.invoke",
    "orbiter.workflows.executor",
    "orbiter.tasks.executor",
    "orbiter.action_items.executor",
)


def load_executors() -> None:
    for name in EXECUTOR_MODULES:
        importlib.import_module(name)
