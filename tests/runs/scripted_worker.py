"""`python -m tests.runs.scripted_worker`: the real `orbiter worker` command, with the test-only
scripted executor registered first (a worker process has no other way to get a test executor;
nothing in the shipped code knows about it)."""

from __future__ import annotations

from orbiter.cli import main
from orbiter.runs.engine import register_executor
from orbiter.runs.executors import load_executors
from tests.runs.scripted import KIND, scripted

if __name__ == "__main__":
    # The shipped executors first (the worker's own load is then a no-op): the scripted one
    # borrows a real kind, and must be the one registered for it.
    load_executors()
    register_executor(KIND, scripted)
    main(["worker"])
