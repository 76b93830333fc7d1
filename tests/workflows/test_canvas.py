"""Save-time validation: a canvas that cannot run is refused with every problem named."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.helpers import API, assert_error
from tests.workflows.util import canvas, edge, node, simple_canvas


async def problems(client: AsyncClient, body_canvas: dict[str, Any]) -> list[dict[str, str]]:
    response = await client.post(f"{API}/workflows", json={"name": "W", "canvas": body_canvas})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    fields: list[dict[str, str]] = error["details"]["fields"]
    return fields


async def test_a_cycle_is_refused_naming_an_edge_on_it(browser: AsyncClient) -> None:
    bad = canvas(
        node("start", "manual"),
        node("a", "template_jinja"),
        node("b", "json_transform"),
        edges=[edge("start", "a"), edge("a", "b"), edge("b", "a")],
    )
    [problem] = await problems(browser, bad)
    assert problem["type"] == "cycle"
    assert problem["field"] in {"canvas.edges.1", "canvas.edges.2"}
    assert "a -> b -> a" in problem["message"] or "b -> a -> b" in problem["message"]
    assert (await browser.get(f"{API}/workflows")).json()["data"] == []


async def test_a_node_wired_to_itself_is_a_cycle(browser: AsyncClient) -> None:
    bad = canvas(node("start", "manual"), node("a", "aggregator"), edges=[edge("a", "a")])
    [problem] = await problems(browser, bad)
    assert problem == {
        "field": "canvas.edges.0",
        "message": 'Edge "a-a" is part of a cycle: a -> a',
        "type": "cycle",
    }


async def test_every_problem_is_listed_naming_its_node_or_edge(browser: AsyncClient) -> None:
    bad = canvas(
        node("start", "manual"),
        node("x", "teleport"),
        node("r", "http_request", retry_count=9, on_error="explode"),
        node("f", "llm_call", on_error="fallback"),
        node("r", "aggregator"),
        edges=[edge("start", "ghost"), edge("x", "start")],
    )
    found = {(p["field"], p["type"]) for p in await problems(browser, bad)}
    assert found == {
        ("canvas.nodes.1.data.nodeType", "unknown_node_type"),
        ("canvas.nodes.2.data.retry_count", "less_than_equal"),
        ("canvas.nodes.2.data.on_error", "literal_error"),
        ("canvas.nodes.3.data", "value_error"),
        ("canvas.nodes.4.id", "duplicate"),
        ("canvas.edges.0.target", "unknown_node"),
        ("canvas.edges.1.target", "edge_into_trigger"),
    }
    messages = " ".join(p["message"] for p in await problems(browser, bad))
    for named in ('Node "x"', 'Node "r"', 'Node "f"', 'Edge "start-ghost"', 'Edge "x-start"'):
        assert named in messages


async def test_exactly_one_trigger(browser: AsyncClient) -> None:
    none = canvas(node("a", "template_jinja"))
    two = canvas(node("a", "manual"), node("b", "webhook"))
    for bad, count in ((none, 0), (two, 2)):
        [problem] = await problems(browser, bad)
        assert problem["field"] == "canvas.nodes" and problem["type"] == "trigger_count"
        assert f"has {count}" in problem["message"]


async def test_a_conditional_routes_only_through_its_two_handles(browser: AsyncClient) -> None:
    nodes = [node("start", "manual"), node("if", "conditional"), node("yes", "chat_response")]
    good = canvas(
        *nodes, edges=[edge("start", "if"), edge("if", "yes", sourceHandle="output-true")]
    )
    assert (await browser.post(f"{API}/workflows", json={"name": "W", "canvas": good})).is_success
    bad = canvas(*nodes, edges=[edge("start", "if"), edge("if", "yes", sourceHandle="maybe")])
    [problem] = await problems(browser, bad)
    assert problem["field"] == "canvas.edges.1.sourceHandle"
    assert problem["type"] == "unknown_handle" and "output-false" in problem["message"]


async def test_settings_in_range_are_accepted_and_kept(browser: AsyncClient) -> None:
    body = canvas(
        node("start", "schedule", cron="0 9 * * 1"),
        node(
            "call",
            "http_request",
            retry_count=5,
            retry_delay_ms=0,
            timeout_ms=2000,
            on_error="fallback",
            fallback_value={"ok": False},
        ),
        edges=[edge("start", "call")],
    )
    response = await browser.post(f"{API}/workflows", json={"name": "W", "canvas": body})
    assert response.status_code == 201, response.text
    saved = response.json()["canvas"]
    assert saved["nodes"][1]["data"]["fallback_value"] == {"ok": False}
    assert saved["nodes"][0]["data"]["cron"] == "0 9 * * 1"
    assert saved["nodes"][0]["width"] == 180 and saved["viewport"]["zoom"] == 1


async def test_a_malformed_canvas_is_refused_by_field(browser: AsyncClient) -> None:
    broken = simple_canvas()
    del broken["nodes"][0]["position"]
    broken["nodes"][1]["data"].pop("nodeType")
    response = await browser.post(f"{API}/workflows", json={"name": "W", "canvas": broken})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    fields = {p["field"] for p in error["details"]["fields"]}
    assert fields == {"canvas.nodes.0.position", "canvas.nodes.1.data.nodeType"}
    nul = simple_canvas("bad\x00")
    response = await browser.post(f"{API}/workflows", json={"name": "W", "canvas": nul})
    assert_error(response, 422, "VALIDATION_ERROR")
