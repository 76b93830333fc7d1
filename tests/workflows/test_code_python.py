"""The `code_python` node runs its code in a sandbox with the node's input: its output is
`{result, stdout, stderr}`; an exception, a limit or a host without sandboxes fails it."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from httpx import AsyncClient

from orbiter.core.settings import Settings
from tests.tools.sandboxed import code_sandbox_root, sandboxed
from tests.workflows.runs import node_spans, run_canvas
from tests.workflows.util import canvas, edge, node

__all__ = ["code_sandbox_root", "sandboxed"]
pytestmark = pytest.mark.usefixtures("run_worker")

SUM = """
numbers = input["numbers"]
print("summing", len(numbers))
result = {"total": sum(numbers), "label": inputs["label"].upper()}
"""


def flow(*nodes: dict[str, Any]) -> dict[str, Any]:
    ids = ["start", *(n["id"] for n in nodes)]
    return canvas(node("start", "manual"), *nodes, edges=[edge(a, b) for a, b in pairwise(ids)])


async def test_a_code_python_node_outputs_its_result(
    browser: AsyncClient, sandboxed: Settings
) -> None:
    steps = flow(
        node("code", "code_python", code=SUM),
        node(
            "show",
            "code_python",
            code="f\"{input['result']['label']}: {input['result']['total']}\"",
        ),
    )
    run = await run_canvas(browser, steps, numbers=[1, 2, 3.5], label="total")
    assert run["status"] == "succeeded", (run["error"], run["trace"])
    spans = node_spans(run)
    assert spans["code (code_python)"]["output"] == {
        "result": {"total": 6.5, "label": "TOTAL"},
        "stdout": "summing 3\n",
        "stderr": "",
    }
    assert spans["show (code_python)"]["output"]["result"] == "TOTAL: 6.5"


async def test_code_that_raises_fails_the_node_with_its_error(
    browser: AsyncClient, sandboxed: Settings
) -> None:
    run = await run_canvas(browser, flow(node("code", "code_python", code="x = 1\nx / 0")))
    assert run["status"] == "failed"
    assert "ZeroDivisionError: division by zero" in run["error"]["message"], run["error"]
    assert "line 2" in node_spans(run)["code (code_python)"]["error"]


async def test_without_a_sandbox_the_node_fails_saying_so(
    browser: AsyncClient, sandboxed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandboxed, "sandbox_bwrap_path", "/nonexistent/bwrap")
    run = await run_canvas(browser, flow(node("code", "code_python", code="result = 1 + 1")))
    assert run["status"] == "failed"
    assert "Sandboxes cannot run on this host" in run["error"]["message"], run["error"]


async def test_a_node_timeout_kills_the_code_and_leaves_no_sandbox(
    browser: AsyncClient, sandboxed: Settings
) -> None:
    """The node's own timeout is shorter than the sandbox's wall clock: the code is killed
    with it, and the `sandboxed` fixture checks that no work dir is left behind."""
    spin = node("spin", "code_python", code="while True:\n    pass\n", timeout_ms=700)
    run = await run_canvas(browser, flow(spin))
    assert run["status"] == "failed"
    assert "timed out after 700 ms" in node_spans(run)["spin (code_python)"]["error"], run
