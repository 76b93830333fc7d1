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
        node("a", "template_jinja", template="{{ input }}"),
        node("b", "json_transform", expression="name"),
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
        node("t", "text_splitter", chunk_size=0, unit="words"),
        node("out", "api_response"),
        edges=[
            edge("start", "ghost"),
            edge("x", "start"),
            edge("out", "f"),
            edge("start", "t", targetHandle="side"),
        ],
    )
    found = {(p["field"], p["type"]) for p in await problems(browser, bad)}
    assert found == {
        ("canvas.nodes.1.data.nodeType", "unknown_node_type"),
        ("canvas.nodes.2.data.retry_count", "less_than_equal"),
        ("canvas.nodes.2.data.on_error", "literal_error"),
        ("canvas.nodes.2.data.url", "missing"),
        ("canvas.nodes.3.data", "value_error"),
        ("canvas.nodes.4.id", "duplicate"),
        ("canvas.nodes.5.data.chunk_size", "greater_than_equal"),
        ("canvas.nodes.5.data.unit", "literal_error"),
        ("canvas.edges.0.target", "unknown_node"),
        ("canvas.edges.1.target", "edge_into_trigger"),
        ("canvas.edges.2.source", "no_outputs"),
        ("canvas.edges.3.targetHandle", "unknown_handle"),
    }
    messages = " ".join(p["message"] for p in await problems(browser, bad))
    for named in (
        'Node "x"',
        'Node "r"',
        'Node "f"',
        'Node "t": chunk_size:',
        'Edge "start-ghost"',
        'Edge "x-start"',
        'Edge "out-f"',
        'Edge "start-t"',
    ):
        assert named in messages


async def test_exactly_one_trigger(browser: AsyncClient) -> None:
    none = canvas(node("a", "template_jinja", template="Hi"))
    two = canvas(node("a", "manual"), node("b", "webhook"))
    for bad, count in ((none, 0), (two, 2)):
        [problem] = await problems(browser, bad)
        assert problem["field"] == "canvas.nodes" and problem["type"] == "trigger_count"
        assert f"has {count}" in problem["message"]


async def test_a_conditional_routes_only_through_its_two_handles(browser: AsyncClient) -> None:
    nodes = [
        node("start", "manual"),
        node("if", "conditional", condition="inputs.ok"),
        node("yes", "chat_response"),
    ]
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
            url="http://127.0.0.1:9/",
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


async def saved(client: AsyncClient, body_canvas: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"{API}/workflows", json={"name": "W", "canvas": body_canvas})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_each_node_config_is_checked_by_its_type(browser: AsyncClient) -> None:
    bad = canvas(
        node("start", "manual"),
        node("greet", "template_jinja"),
        node("pick", "switch", value="inputs.kind", cases=[{"handle": "a b", "equals": 1}]),
        node("agent", "agent_node", agent_id="not-a-uuid"),
        node("twice", "switch", value="x", cases=[{"handle": "a", "equals": 1}] * 2),
    )
    found = {p["field"]: p for p in await problems(browser, bad)}
    assert set(found) == {
        "canvas.nodes.1.data.template",
        "canvas.nodes.2.data.cases.0.handle",
        "canvas.nodes.3.data.agent_id",
        "canvas.nodes.4.data",
    }
    assert found["canvas.nodes.1.data.template"]["type"] == "missing"
    assert found["canvas.nodes.1.data.template"]["message"].startswith(
        'Node "greet": template: Field required'
    )
    assert found["canvas.nodes.2.data.cases.0.handle"]["message"].startswith(
        'Node "pick": cases.0.handle:'
    )
    assert found["canvas.nodes.3.data.agent_id"]["type"] == "uuid_parsing"
    assert "distinct" in found["canvas.nodes.4.data"]["message"]


async def test_a_switch_routes_through_its_cases_and_default(browser: AsyncClient) -> None:
    cases = [{"handle": "small", "equals": 1}, {"handle": "big", "equals": 2}]
    nodes = [
        node("start", "manual"),
        node("pick", "switch", value="inputs.size", cases=cases),
        node("s", "chat_response"),
        node("b", "chat_response"),
        node("d", "chat_response"),
    ]
    wired = [edge("start", "pick"), edge("pick", "s", sourceHandle="small")]
    wired += [edge("pick", "b", sourceHandle="big"), edge("pick", "d", sourceHandle="default")]
    await saved(browser, canvas(*nodes, edges=wired))
    unknown = [*wired[:3], edge("pick", "d", sourceHandle="huge")]
    [problem] = await problems(browser, canvas(*nodes, edges=unknown))
    assert problem["field"] == "canvas.edges.3.sourceHandle"
    assert problem["message"] == (
        'Edge "pick-d": node "pick" has no output handle "huge" (one of small, big, default)'
    )
    unnamed = [*wired[:3], edge("pick", "d")]
    [problem] = await problems(browser, canvas(*nodes, edges=unnamed))
    assert problem["type"] == "unknown_handle" and "(none given)" in problem["message"]


async def test_a_one_output_node_needs_no_handle_name_but_only_its_own(
    browser: AsyncClient,
) -> None:
    nodes = [node("start", "manual"), node("a", "aggregator"), node("out", "api_response")]
    await saved(browser, canvas(*nodes, edges=[edge("start", "a"), edge("a", "out")]))
    named = [edge("start", "a", sourceHandle="output", targetHandle="input"), edge("a", "out")]
    await saved(browser, canvas(*nodes, edges=named))
    wrong = [edge("start", "a", sourceHandle="result"), edge("a", "out")]
    [problem] = await problems(browser, canvas(*nodes, edges=wrong))
    assert problem["field"] == "canvas.edges.0.sourceHandle"
    assert problem["message"].endswith('no output handle "result" (one of output)')


def each(*body: dict[str, Any], edges: list[dict[str, Any]]) -> dict[str, Any]:
    """A manual trigger feeding loop `each`, whose `done` goes to an API response."""
    return canvas(
        node("start", "manual"),
        node("each", "loop_iterator", items="{{ inputs.names }}"),
        *body,
        node("out", "api_response"),
        edges=[
            edge("start", "each"),
            edge("each", "out", sourceHandle="done"),
            *edges,
        ],
    )


def step(node_id: str) -> dict[str, Any]:
    return node(node_id, "template_jinja", template="Hi {{ item }}")


async def test_a_loop_body_closes_on_its_loop(browser: AsyncClient) -> None:
    body = [step("a"), step("b")]
    into = edge("each", "a", sourceHandle="body")
    closed = [into, edge("a", "b"), edge("b", "each", targetHandle="loop")]
    created = await saved(browser, each(*body, edges=closed))
    assert len(created["canvas"]["edges"]) == 5
    unnamed = [into, edge("a", "b"), edge("b", "each")]
    await saved(browser, each(*body, edges=unnamed))
    branches = [into, edge("each", "b", sourceHandle="body")]  # two paths, both return
    branches += [edge("a", "each", targetHandle="loop"), edge("b", "each", targetHandle="loop")]
    await saved(browser, each(*body, edges=branches))


async def test_loops_nest(browser: AsyncClient) -> None:
    inner = node("inner", "loop_iterator", items="{{ item.parts }}")
    wired = [
        edge("each", "inner", sourceHandle="body"),
        edge("inner", "a", sourceHandle="body"),
        edge("a", "inner", targetHandle="loop"),
        edge("inner", "b", sourceHandle="done"),
        edge("b", "each", targetHandle="loop"),
    ]
    await saved(browser, each(inner, step("a"), step("b"), edges=wired))


async def test_any_other_cycle_through_a_loop_is_refused(browser: AsyncClient) -> None:
    inside = [
        edge("each", "a", sourceHandle="body"),
        edge("a", "b"),
        edge("b", "a"),
        edge("b", "each", targetHandle="loop"),
    ]
    [problem] = await problems(browser, each(step("a"), step("b"), edges=inside))
    assert problem["type"] == "cycle" and problem["field"] in {"canvas.edges.3", "canvas.edges.4"}
    after_done = [
        edge("each", "a", sourceHandle="body"),
        edge("a", "each", targetHandle="loop"),
        edge("each", "b", sourceHandle="done"),
        edge("b", "each"),
    ]
    [problem] = await problems(browser, each(step("a"), step("b"), edges=after_done))
    assert problem["type"] == "cycle" and "each -> b -> each" in problem["message"]


async def test_a_body_is_left_only_through_done_and_entered_only_through_body(
    browser: AsyncClient,
) -> None:
    body = [edge("each", "a", sourceHandle="body"), edge("a", "each", targetHandle="loop")]
    leaving = [*body, edge("a", "out")]
    [problem] = await problems(browser, each(step("a"), edges=leaving))
    assert problem == {
        "field": "canvas.edges.4",
        "message": 'Edge "a-out" leaves the body of loop "each" for "out", which is fed from '
        'outside the body too ("each-out"): results leave a loop through its "done" handle',
        "type": "leaves_loop_body",
    }
    entering = [*body, edge("start", "a")]
    [problem] = await problems(browser, each(step("a"), edges=entering))
    assert problem["field"] == "canvas.edges.4" and problem["type"] == "enters_loop_body"
    assert problem["message"].startswith(
        'Edge "start-a" enters the body of loop "each" at "a" from outside it'
    )


async def test_only_the_edges_closing_a_body_enter_the_loop_handle(
    browser: AsyncClient,
) -> None:
    into = edge("each", "a", sourceHandle="body")
    wrong_way = [into, edge("a", "each", targetHandle="input")]
    [problem] = await problems(browser, each(step("a"), edges=wrong_way))
    assert problem["field"] == "canvas.edges.3.targetHandle" and problem["type"] == "loop_handle"
    assert 'closes the body of loop "each"' in problem["message"]
    outsider = canvas(
        node("start", "manual"),
        node("each", "loop_iterator"),
        edges=[edge("start", "each", targetHandle="loop")],
    )
    [problem] = await problems(browser, outsider)
    assert problem["field"] == "canvas.edges.0.targetHandle" and problem["type"] == "loop_handle"


async def test_a_template_in_a_typed_field_is_judged_once_rendered(browser: AsyncClient) -> None:
    cases = "{{ inputs.cases }}"
    templated = canvas(
        node("start", "manual"),
        node("split", "text_splitter", chunk_size="{{ inputs.size }}"),
        node("pick", "switch", value="inputs.kind", cases=cases),
        node("out", "api_response", status_code="{{ inputs.code }}"),
        edges=[
            edge("start", "split"),
            edge("split", "pick"),
            edge("pick", "out", sourceHandle="any"),  # the cases decide the handles at run time
        ],
    )
    created = await saved(browser, templated)
    assert created["canvas"]["nodes"][1]["data"]["chunk_size"] == "{{ inputs.size }}"
    judged_now = canvas(
        node("start", "manual"),
        node("split", "text_splitter", chunk_size="{{ inputs.size }}", chunk_overlap=-1),
        node("if", "conditional", condition="{{ x }}" + "x" * 2000),
        node("retry", "aggregator", retry_count="{{ inputs.retries }}"),
    )
    found = {(p["field"], p["type"]) for p in await problems(browser, judged_now)}
    assert found == {
        ("canvas.nodes.1.data.chunk_overlap", "greater_than_equal"),
        ("canvas.nodes.2.data.condition", "string_too_long"),
        ("canvas.nodes.3.data.retry_count", "int_type"),  # the shared settings are not rendered
    }
