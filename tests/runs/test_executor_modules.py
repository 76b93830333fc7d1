"""A worker process (`orbiter worker`) imports no router: it must still find the executor of
every run kind the API starts."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
from orbiter.runs.executors import load_executors
from orbiter.runs.engine import executor_for
load_executors()
print(",".join(k for k in ("agent", "tool", "workflow") if executor_for(k) is not None))
"""


def test_a_worker_process_has_the_agent_tool_and_workflow_executors() -> None:
    found = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "agent,tool,workflow", found.stderr
