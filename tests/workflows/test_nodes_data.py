"""Triggers, data and output nodes, each proven by what a workflow run produced: the node's
output in its trace span, what later nodes made of it, and the run's output."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from httpx import AsyncClient

from tests.workflows.runs import node_spans, run_canvas
from tests.workflows.util import canvas, edge, node

pytestmark = pytest.mark.usefixtures("run_worker")

TRIGGER_SETTINGS: dict[str, dict[str, Any]] = {
    "manual": {"input_schema": {"type": "object", "required": ["city"]}},
    "webhook": {},
    "schedule": {"cron": "0 9 * * 1-5", "timezone": "Europe/Paris", "inputs": {"city": "Oslo"}},
}


def chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    """The nodes one after the other."""
    return canvas(*nodes, edges=[edge(a["id"], b["id"]) for a, b in pairwise(nodes)])


def failure(run: dict[str, Any]) -> str:
    """The message of a run that failed."""
    assert run["status"] == "failed", run["output"]
    message: str = run["error"]["message"]
    return message


def output(run: dict[str, Any], node_id: str, node_type: str) -> Any:
    assert run["status"] == "succeeded", (run["error"], run["trace"])
    return node_spans(run)[f"{node_id} ({node_type})"]["output"]


@pytest.mark.parametrize("trigger", sorted(TRIGGER_SETTINGS))
async def test_a_trigger_hands_the_run_inputs_to_the_next_node(
    browser: AsyncClient, trigger: str
) -> None:
    run = await run_canvas(
        browser,
        chain(
            node("start", trigger, **TRIGGER_SETTINGS[trigger]),
            node("say", "template_jinja", template="{{ input.city }}/{{ input.days | sum }}"),
        ),
        city="Lima",
        days=[1, 2],
    )
    assert output(run, "start", trigger) == {"city": "Lima", "days": [1, 2]}
    assert run["output"] == {"say": "Lima/3"}


async def test_a_chat_message_is_answered_by_the_chat_response(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        canvas(
            node("chat", "chat_input"),
            node("shout", "template_jinja", template="{{ input.message | upper }}!"),
            node("reply", "chat_response", message="You said: {{ shout.output }}"),
            node("log", "variable_assigner", variables={"seen": "{{ inputs.message }}"}),
            edges=[edge("chat", "shout"), edge("shout", "reply"), edge("chat", "log")],
        ),
        message="hello",
        extra="left out",
    )
    assert output(run, "chat", "chat_input") == {"message": "hello"}
    assert output(run, "reply", "chat_response") == {"message": "You said: HELLO!"}
    assert run["output"] == {"message": "You said: HELLO!"}  # not the other branch's end


async def test_a_chat_run_without_a_message_fails_saying_so(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        chain(node("chat", "chat_input"), node("reply", "chat_response")),
        text="no message key",
    )
    assert '"message"' in failure(run)
    assert "reply (chat_response)" not in node_spans(run)


async def test_assigned_variables_reach_later_nodes_as_vars(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        chain(
            node("start", "manual"),
            node(
                "set",
                "variable_assigner",
                variables={"greeting": "Hi {{ inputs.name }}", "total": "{{ inputs.n * 2 }}"},
            ),
            node("plus", "template_jinja", template="{{ input.total + 1 }}"),
            node("use", "template_jinja", template="{{ vars.greeting }} x{{ vars.total + 1 }}"),
        ),
        name="Ada",
        n=3,
    )
    assert output(run, "set", "variable_assigner") == {"greeting": "Hi Ada", "total": 6}
    assert run["output"] == {"use": "Hi Ada x7"}


async def test_a_jinja_template_renders_text_from_earlier_nodes(browser: AsyncClient) -> None:
    template = (
        "{% for item in inputs['items'] %}{{ loop.index }}. {{ item.name | title }}"
        "{% if item.qty > 1 %} x{{ item.qty }}{% endif %}\n{% endfor %}"
        "Total: {{ inputs['items'] | sum(attribute='qty') }} ({{ start.output.who }})"
    )
    run = await run_canvas(
        browser,
        chain(node("start", "manual"), node("list", "template_jinja", template=template)),
        who="Ada",
        items=[{"name": "green tea", "qty": 2}, {"name": "scone", "qty": 1}],
    )
    assert output(run, "list", "template_jinja") == "1. Green Tea x2\n2. Scone\nTotal: 3 (Ada)"


async def test_a_template_cannot_reach_python_internals(browser: AsyncClient) -> None:
    run = await run_canvas(
        browser,
        chain(
            node("start", "manual"),
            node("evil", "template_jinja", template="{{ input.__class__.__mro__ }}"),
        ),
    )
    message = failure(run)
    assert 'Node "evil"' in message and "'__class__'" in message and "unsafe" in message


async def test_a_json_transform_reshapes_data_with_jmespath(browser: AsyncClient) -> None:
    orders = [
        {"id": 3, "total": 250, "customer": {"name": "Cy"}},
        {"id": 1, "total": 120, "customer": {"name": "Ann"}},
        {"id": 2, "total": 40, "customer": {"name": "Bo"}},
    ]
    run = await run_canvas(
        browser,
        chain(
            node("start", "manual"),
            node(
                "big",
                "json_transform",
                expression="sort_by(orders[?total > `100`], &id)[].{id: id, who: customer.name}",
            ),
            node("count", "json_transform", expression="length(@)", data="{{ big.output }}"),
        ),
        orders=orders,
    )
    assert output(run, "big", "json_transform") == [{"id": 1, "who": "Ann"}, {"id": 3, "who": "Cy"}]
    assert output(run, "count", "json_transform") == 2


async def test_a_json_transform_that_cannot_apply_fails_naming_its_expression(
    browser: AsyncClient,
) -> None:
    run = await run_canvas(
        browser,
        chain(node("start", "manual"), node("len", "json_transform", expression="length(n)")),
        n=5,
    )
    message = failure(run)
    assert 'Node "len"' in message and "'length(n)'" in message and "number" in message


async def split(client: AsyncClient, text: str, **settings: Any) -> list[str]:
    """The chunks a text_splitter with these settings made of `text`, a run's input."""
    splitter = node("split", "text_splitter", text="{{ inputs.text }}", **settings)
    run = await run_canvas(client, chain(node("start", "manual"), splitter), text=text)
    chunks: list[str] = output(run, "split", "text_splitter")
    return chunks


async def test_a_text_splitter_cuts_overlapping_chunks_at_boundaries(browser: AsyncClient) -> None:
    text = "Rivers run to the sea. The sea is not full.\n\nWinds blow south, then north again."
    chunks = await split(browser, text, chunk_size=30, chunk_overlap=12)
    assert chunks == [
        "Rivers run to the sea.",
        "The sea is not full.",
        "Winds blow south, then north",
        ", then north again.",
    ]
    assert all(len(chunk) <= 30 for chunk in chunks)


async def test_a_text_splitter_counts_tokens_of_an_openai_encoding(browser: AsyncClient) -> None:
    # o200k_base: "The| quick| brown| fox| jumps| over| the| lazy| dog|." (10 tokens); counted
    # as characters the same size would cut inside words.
    text = "The quick brown fox jumps over the lazy dog."
    chunks = await split(browser, text, unit="tokens", chunk_size=4, chunk_overlap=1)
    assert chunks == ["The quick brown fox", "fox jumps over the", "the lazy dog."]


async def test_an_api_response_is_the_run_output_with_status_and_headers(
    browser: AsyncClient,
) -> None:
    run = await run_canvas(
        browser,
        chain(
            node("start", "manual"),
            node("upper", "template_jinja", template="{{ input.name | upper }}"),
            node(
                "answer",
                "api_response",
                status_code=201,
                body={"name": "{{ input }}", "tags": "{{ inputs.tags }}"},
                headers={"X-Count": "{{ inputs.tags | length }}", "Cache-Control": "no-store"},
            ),
        ),
        name="ada",
        tags=["a", "b"],
    )
    expected = {
        "status_code": 201,
        "body": {"name": "ADA", "tags": ["a", "b"]},
        "headers": {"X-Count": "2", "Cache-Control": "no-store"},
    }
    assert output(run, "answer", "api_response") == expected
    assert run["output"] == expected


async def test_an_api_response_header_cannot_be_split_by_an_input(browser: AsyncClient) -> None:
    answer = node("answer", "api_response", headers={"X-Name": "{{ inputs.name }}"})
    run = await run_canvas(
        browser,
        chain(node("start", "manual"), answer),
        name="ada\r\nSet-Cookie: session=stolen",
    )
    message = failure(run)
    assert 'Node "answer"' in message and "'X-Name': one line" in message
    assert run["output"] is None
