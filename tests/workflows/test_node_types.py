"""GET /workflows/node-types: what an editor builds its palette and forms from, and the very
schemas a save is checked with."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from jsonschema import Draft202012Validator

from orbiter.workflows.nodes import REGISTRY
from tests.helpers import API, SignedInFactory, assert_error
from tests.workflows.util import canvas, node

URL = f"{API}/workflows/node-types"
# The node types of the issue, each doing real work.
ISSUE_TYPES = {
    *("manual", "chat_input", "webhook", "schedule"),
    *("llm_call", "prompt_template", "agent_node"),
    *("function_tool", "http_request", "code_python"),
    *("conditional", "switch", "loop_iterator", "aggregator", "approval_gate"),
    *("variable_assigner", "template_jinja", "json_transform", "text_splitter"),
    *("knowledge_retrieval", "chat_response", "api_response"),
}


async def palette(client: AsyncClient) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    response = await client.get(URL, params={"limit": 100})
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body["pagination"]["has_more"]
    return {t["name"]: t for t in body["data"]}, body["settings_schema"]


async def save(client: AsyncClient, node_type: str, **config: Any) -> tuple[int, set[str]]:
    """Save a canvas holding one node of `node_type` with `config` (after a manual trigger
    unless it is a trigger): the status, and the fields of the problems when refused."""
    trigger = REGISTRY[node_type].is_trigger
    nodes = [node("n", node_type, **config)] if trigger else [node("t", "manual")]
    if not trigger:
        nodes.append(node("n", node_type, **config))
    response = await client.post(f"{API}/workflows", json={"name": "N", "canvas": canvas(*nodes)})
    fields = set()
    if response.status_code == 422:
        fields = {p["field"] for p in response.json()["error"]["details"]["fields"]}
    return response.status_code, fields


async def test_every_node_type_is_listed_with_its_handles_and_schema(
    browser: AsyncClient,
) -> None:
    types, settings = await palette(browser)
    assert set(types) == set(REGISTRY)  # with this package's test-only types (conftest.py)
    assert set(types) >= ISSUE_TYPES
    categories = [t["category"] for t in types.values()]
    assert categories[:4] == ["trigger"] * 4 and categories[-1] == "output"
    for trigger in ("manual", "chat_input", "webhook", "schedule"):
        assert types[trigger]["inputs"] == [] and types[trigger]["outputs"] == ["output"]
    assert types["conditional"]["outputs"] == ["output-true", "output-false"]
    assert types["loop_iterator"]["inputs"] == ["input", "loop"]
    assert types["loop_iterator"]["outputs"] == ["body", "done"]
    assert types["api_response"]["outputs"] == [] == types["chat_response"]["outputs"]
    assert types["switch"]["outputs"] == ["default"]
    assert "per case" in types["switch"]["outputs_from_config"]
    assert all(types[n]["outputs_from_config"] is None for n in ISSUE_TYPES - {"switch"})
    assert types["template_jinja"]["config_schema"]["required"] == ["template"]
    assert types["template_jinja"]["raw_fields"] == ["template"]
    assert types["conditional"]["raw_fields"] == ["condition"]
    assert types["http_request"]["raw_fields"] == []
    assert types["http_request"]["description"] == "An HTTP request through the outbound guard"
    properties = settings["properties"]
    assert properties["retry_count"]["maximum"] == 5
    assert properties["on_error"]["enum"] == ["fail", "skip", "fallback"]
    assert {"retry_delay_ms", "fallback_value", "timeout_ms"} <= set(properties)
    for schema in (settings, *(t["config_schema"] for t in types.values())):
        Draft202012Validator.check_schema(schema)


async def test_the_list_pages_through_every_type_once(browser: AsyncClient) -> None:
    types, _ = await palette(browser)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 5}
    while True:
        body = (await browser.get(URL, params=params)).json()
        assert body["pagination"]["total"] == len(types) and "settings_schema" in body
        seen += [t["name"] for t in body["data"]]
        if not body["pagination"]["has_more"]:
            break
        params["cursor"] = body["pagination"]["next_cursor"]
    assert seen == list(types)
    assert_error(await browser.get(URL, params={"limit": 0}), 422, "VALIDATION_ERROR")


async def test_a_node_left_unconfigured_is_refused_for_exactly_what_its_schema_requires(
    browser: AsyncClient,
) -> None:
    types, _ = await palette(browser)
    for name, listed in types.items():
        schema = listed["config_schema"]
        status, fields = await save(browser, name)
        place = 0 if REGISTRY[name].is_trigger else 1
        required = {f"canvas.nodes.{place}.data.{field}" for field in schema.get("required", [])}
        assert (status == 201) == Draft202012Validator(schema).is_valid({}), (name, fields)
        assert fields == required, name


SOME_CONFIGS: list[tuple[str, dict[str, Any], str | None]] = [
    # (node type, config, the field refused or None when accepted)
    ("text_splitter", {"chunk_size": 0}, "chunk_size"),
    ("text_splitter", {"chunk_size": 10, "chunk_overlap": 2, "unit": "tokens"}, None),
    ("switch", {"value": "inputs.kind", "cases": []}, "cases"),
    ("switch", {"value": "inputs.kind", "cases": [{"handle": "a", "equals": 1}]}, None),
    ("http_request", {"url": "http://127.0.0.1:9/", "method": "TRACE"}, "method"),
    ("http_request", {"url": "http://127.0.0.1:9/", "method": "POST", "body": [1]}, None),
    ("api_response", {"status_code": 99}, "status_code"),
    ("api_response", {"status_code": 201, "headers": {"X-Kind": "made"}}, None),
    ("llm_call", {"temperature": 3}, "temperature"),
    ("llm_call", {"prompt": "Hi", "temperature": 0.5, "response_format": "json"}, None),
    ("schedule", {"cron": "0 9 * * 1", "inputs": []}, "inputs"),
    ("schedule", {"cron": "0 9 * * 1", "timezone": "Europe/Paris"}, None),
]


async def test_a_config_is_saved_exactly_when_its_listed_schema_accepts_it(
    browser: AsyncClient,
) -> None:
    types, _ = await palette(browser)
    for name, config, refused in SOME_CONFIGS:
        accepted = Draft202012Validator(types[name]["config_schema"]).is_valid(config)
        assert accepted == (refused is None), (name, config)
        status, fields = await save(browser, name, **config)
        place = 0 if REGISTRY[name].is_trigger else 1
        if refused is None:
            assert status == 201, (name, fields)
        else:
            assert fields == {f"canvas.nodes.{place}.data.{refused}"}, (name, fields)


async def test_the_shared_settings_are_checked_with_the_listed_schema(
    browser: AsyncClient,
) -> None:
    _, settings = await palette(browser)
    validator = Draft202012Validator(settings)
    for config, refused in (
        ({"retry_count": 6}, "retry_count"),
        ({"on_error": "explode"}, "on_error"),
        ({"timeout_ms": 0}, "timeout_ms"),
        ({"retry_count": 5, "on_error": "skip", "timeout_ms": 1000}, None),
    ):
        assert validator.is_valid(config) == (refused is None), config
        status, fields = await save(browser, "aggregator", **config)
        assert fields == ({f"canvas.nodes.1.data.{refused}"} if refused else set()), config
        assert status == (201 if refused is None else 422)


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_any_signed_in_user_reads_the_node_types(
    signed_in: SignedInFactory, client: AsyncClient, method: str
) -> None:
    someone = await signed_in()
    response = await someone.clients()[method].get(URL)
    assert response.status_code == 200 and response.json()["pagination"]["total"] == len(REGISTRY)
    assert_error(await client.get(URL), 401, "UNAUTHORIZED")
