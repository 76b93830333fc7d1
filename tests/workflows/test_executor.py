"""The workflow executor: inputs ready, branches concurrent, routes and skips, retries,
on_error, timeouts, loops, approval gates."""

from __future__ import annotations

from typing import Any

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


def _sleeps(*ids: str, ms: int) -> list[dict[str, Any]]:
    return [node(i, "test_sleep", ms=ms) for i in ids]


async def test_independent_branches_run_at_the_same_time_and_the_join_waits(
    browser: AsyncClient,
) -> None:
    branches = ["a", "b", "c", "d"]
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            *_sleeps(*branches, ms=300),
            node("join", "aggregator", mode="list"),
            edges=[edge("start", b) for b in branches] + [edge(b, "join") for b in branches],
        ),
    )
    assert run["status"] == "succeeded", run["error"]
    spans = node_spans(run)
    outputs = [spans[f"{b} (test_sleep)"]["output"] for b in branches]
    latest_start = max(o["started"] for o in outputs)
    earliest_end = min(o["ended"] for o in outputs)
    assert latest_start < earliest_end  # all four slept at the same time
    assert [v["value"] for v in spans["join (aggregator)"]["output"]] == [{}] * 4


async def test_a_switch_takes_the_matching_handle_and_a_join_runs_with_what_arrived(
    browser: AsyncClient,
) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            node(
                "route",
                "switch",
                value="inputs.kind",
                cases=[{"handle": "bug", "equals": "bug"}, {"handle": "idea", "equals": "idea"}],
            ),
            *_sleeps("fix", "plan", "triage", ms=0),
            node("join", "aggregator"),
            edges=[
                edge("start", "route"),
                edge("route", "fix", sourceHandle="bug"),
                edge("route", "plan", sourceHandle="idea"),
                edge("route", "triage", sourceHandle="default"),
                edge("fix", "join"),
                edge("plan", "join"),
                edge("triage", "join"),
            ],
        ),
        kind="idea",
    )
    assert run["status"] == "succeeded", run["error"]
    spans = node_spans(run)
    assert "plan (test_sleep)" in spans
    assert "fix (test_sleep)" not in spans and "triage (test_sleep)" not in spans
    assert list(spans["join (aggregator)"]["output"]) == ["plan"]
    assert run["output"] == {"join": spans["join (aggregator)"]["output"]}


async def test_variables_flow_by_reference_to_later_nodes(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            node("first", "test_sleep"),
            node("check", "conditional", condition="first.output.value.limit > inputs.used"),
            node("room", "test_sleep"),
            node("full", "test_sleep"),
            edges=[
                edge("start", "first"),
                edge("first", "check"),
                edge("check", "room", sourceHandle="output-true"),
                edge("check", "full", sourceHandle="output-false"),
            ],
        ),
        limit=10,
        used=3,
    )
    assert run["status"] == "succeeded", run["error"]
    assert set(run["output"]) == {"room"}


async def test_retries_are_counted_one_span_per_attempt(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            node("flaky", "test_flaky", fail_times=2, retry_count=2, retry_delay_ms=10),
            edges=[edge("start", "flaky")],
        ),
    )
    assert run["status"] == "succeeded", run["error"]
    spans = node_spans(run)
    attempts = [
        spans["flaky (test_flaky)"],
        *(spans[f"flaky (test_flaky) attempt {n}"] for n in (2, 3)),
    ]
    assert [s["status"] for s in attempts] == ["error", "error", "ok"]
    assert attempts[0]["error"] == "failure 1 of 2"
    assert run["output"] == {"flaky": {"attempts": 3}}


async def test_a_node_out_of_retries_fails_the_run_naming_it(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            node("flaky", "test_flaky", fail_times=5, retry_count=1, retry_delay_ms=1),
            node("after", "test_sleep"),
            edges=[edge("start", "flaky"), edge("flaky", "after")],
        ),
    )
    assert run["status"] == "failed"
    assert run["error"] == {
        "code": "NODE_FAILED",
        "message": 'Node "flaky" (test_flaky) failed after 2 attempts: failure 2 of 5',
    }
    assert "after (test_sleep)" not in node_spans(run)


async def test_on_error_skip_and_fallback_let_the_flow_go_on(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            node("skipped", "test_flaky", fail_times=9, on_error="skip"),
            node(
                "fallen",
                "test_flaky",
                fail_times=9,
                on_error="fallback",
                fallback_value={"n": "{{ inputs.n }}"},
            ),
            node("join", "aggregator"),
            edges=[
                edge("start", "skipped"),
                edge("start", "fallen"),
                edge("skipped", "join"),
                edge("fallen", "join"),
            ],
        ),
        n=7,
    )
    assert run["status"] == "succeeded", run["error"]
    assert run["output"] == {"join": {"skipped": None, "fallen": {"n": 7}}}


async def test_a_node_past_its_timeout_fails_that_attempt(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            node("slow", "test_sleep", ms=5000, timeout_ms=100),
            edges=[edge("start", "slow")],
        ),
    )
    assert run["status"] == "failed"
    assert run["error"]["message"] == 'Node "slow" (test_sleep) failed: timed out after 100 ms'
    assert node_spans(run)["slow (test_sleep)"]["duration_ms"] < 2000


async def test_a_loop_runs_its_body_per_item_and_keeps_the_order(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            node("each", "loop_iterator", items="{{ inputs.words }}", concurrency=3),
            node("work", "test_sleep", ms="{{ (3 - index) * 60 }}"),
            node("done", "aggregator", mode="list"),
            edges=[
                edge("start", "each"),
                edge("each", "work", sourceHandle="body"),
                edge("work", "each", targetHandle="loop"),
                edge("each", "done", sourceHandle="done"),
            ],
        ),
        words=["a", "b", "c"],
    )
    assert run["status"] == "succeeded", run["error"]
    results = node_spans(run)["each (loop_iterator)"]["output"]["output"]
    assert [r["value"] for r in results] == ["a", "b", "c"]
    assert results[0]["ended"] > results[2]["ended"]  # ran together, finished in reverse


async def test_a_misspelt_variable_fails_the_node_naming_it(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            node("check", "conditional", condition="inputs.cuont > 1"),
            edges=[edge("start", "check")],
        ),
        count=2,
    )
    assert run["status"] == "failed"
    assert run["error"]["message"] == (
        "Node \"check\" (conditional) failed: Expression 'inputs.cuont > 1': "
        "'dict object' has no attribute 'cuont'"
    )


async def test_a_loop_refuses_what_is_not_a_list_and_more_than_max_items(
    browser: AsyncClient,
) -> None:
    def looping(max_items: int) -> dict[str, Any]:
        return canvas(
            node("start", "manual"),
            node("each", "loop_iterator", items="{{ inputs.things }}", max_items=max_items),
            node("work", "test_sleep"),
            edges=[edge("start", "each"), edge("each", "work", sourceHandle="body")],
        )

    not_a_list = await run_canvas(browser, looping(5), things="abc")
    assert not_a_list["error"]["message"].endswith(
        "loop_iterator needs a list to iterate over, got str"
    )
    too_many = await run_canvas(browser, looping(2), things=[1, 2, 3])
    assert too_many["error"]["message"].endswith("3 items is more than max_items (2)")
    assert "work (test_sleep)" not in node_spans(too_many)


async def test_a_key_named_like_a_method_gets_a_clear_error(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            node("each", "loop_iterator", items="{{ inputs.items }}"),
            edges=[edge("start", "each")],
        ),
        items=[1],
    )
    assert "is read with brackets: inputs['items']" in run["error"]["message"]


@pytest.mark.parametrize(
    ("condition", "refusal"),
    [
        ("('a' * 1000000000) | length > 1", "a repetition above 1000000 items is not allowed"),
        ("2 ** 100000000 > 1", "an exponent above 1000 is not allowed"),
        ("range(1000000000) | list | length > 1", "Range too big"),
        ("().__class__.__bases__", "unsafe"),
    ],
)
async def test_a_template_that_would_exhaust_the_worker_fails_its_node(
    browser: AsyncClient, condition: str, refusal: str
) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("start", "manual"),
            node("check", "conditional", condition=condition),
            edges=[edge("start", "check")],
        ),
    )
    assert run["status"] == "failed"
    assert refusal in run["error"]["message"]
