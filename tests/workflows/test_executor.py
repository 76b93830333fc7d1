"""The workflow executor: inputs ready, branches concurrent, routes and skips, retries,
on_error, timeouts, loops, approval gates."""

from __future__ import annotations

import pytest

from httpx import AsyncClient

from tests.workflows.runs import node_spans, run_canvas
from tests.workflows.util import canvas, edge, node

pytestmark = pytest.mark.usefixtures("run_worker")


async def test_a_canvas_runs_and_its_output_is_the_api_response(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            node("greet", "conditional", condition="inputs.n > 1"),
            node("big", "aggregator"),
            node("small", "aggregator"),
            edges=[
                edge("start", "greet"),
                edge("greet", "big", sourceHandle="output-true"),
                edge("greet", "small", sourceHandle="output-false"),
            ],
        ),
        n=5,
    )
    assert run["status"] == "succeeded", (run["error"], run["trace"])
    spans = node_spans(run)
    assert "greet (conditional)" in spans
    assert "small (aggregator)" not in spans
    assert run["output"] == {"big": {"greet": {"n": 5}}, "small": None} or run["output"] == {
        "big": {"greet": {"n": 5}}
    }
