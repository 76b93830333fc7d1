"""/api/v1/tools: built-ins are listed and read-only; custom HTTP tools belong to a project,
keep secret headers encrypted and masked, and must carry a valid JSON Schema."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select

from orbiter.models import Tool
from orbiter.runtime.resources import Resources
from tests.fakes.llm_servers import FakeLLM
from tests.helpers import API, add_member, assert_error, browser_for, new_project, unique_email
from tests.tools.util import TOOLS, create_tool, http_tool

BUILTINS = [
    "ask_user",
    "calculator",
    "code_interpreter",
    "current_time",
    "http_request",
    "knowledge_search",
]


async def test_built_ins_are_listed_first_and_read_only(browser: AsyncClient) -> None:
    listed = (await browser.get(TOOLS)).json()
    assert [t["id"] for t in listed["data"]] == BUILTINS
    assert listed["pagination"]["total"] == len(BUILTINS)
    calculator = listed["data"][1]
    assert calculator["builtin"] is True and calculator["type"] == "builtin"
    assert calculator["project_id"] is None and calculator["config"] is None
    assert calculator["input_schema"]["required"] == ["expression"]
    assert (await browser.get(f"{TOOLS}/calculator")).json() == calculator
    forbidden = await browser.put(f"{TOOLS}/calculator", json={"description": "mine now"})
    assert_error(forbidden, 403, "FORBIDDEN")
    assert_error(await browser.delete(f"{TOOLS}/calculator"), 403, "FORBIDDEN")
    assert (await browser.get(f"{TOOLS}/calculator")).json() == calculator
    assert_error(await browser.get(f"{TOOLS}/no_such_tool"), 404, "RESOURCE_NOT_FOUND")


async def test_a_custom_tool_masks_its_secret_header_and_encrypts_it_at_rest(
    browser: AsyncClient, fake_llm: FakeLLM, resources: Resources
) -> None:
    created = await create_tool(browser, http_tool(fake_llm))
    personal = (await browser.get(f"{API}/projects")).json()["data"][0]
    assert created["project_id"] == personal["id"]
    assert created["type"] == "http" and created["builtin"] is False
    assert created["config"]["headers"] == [
        {"name": "Accept", "value": "application/json", "secret": False},
        {"name": "Authorization", "value": "••••9876", "secret": True},
    ]
    assert "sk-tool-secret" not in str((await browser.get(TOOLS)).json())
    async with resources.sessionmaker() as db:
        row = await db.scalar(select(Tool).where(Tool.id == uuid.UUID(created["id"])))
    assert row is not None and row.secrets_encrypted is not None
    assert "sk-tool-secret" not in row.secrets_encrypted + str(row.config)


async def test_an_update_keeps_secret_values_not_sent_again(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    created = await create_tool(browser, http_tool(fake_llm))
    config = http_tool(fake_llm)["config"]
    config["headers"] = [
        {"name": "Authorization", "secret": True},
        {"name": "X-Extra", "value": "1"},
    ]
    updated = await browser.put(f"{TOOLS}/{created['id']}", json={"config": config})
    assert updated.status_code == 200, updated.text
    assert updated.json()["config"]["headers"] == [
        {"name": "Authorization", "value": "••••9876", "secret": True},
        {"name": "X-Extra", "value": "1", "secret": False},
    ]
    config["headers"] = [{"name": "X-Token", "secret": True}]
    missing = await browser.put(f"{TOOLS}/{created['id']}", json={"config": config})
    error = assert_error(missing, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == "config.headers.0.value"
    renamed = await browser.put(f"{TOOLS}/{created['id']}", json={"description": "Models"})
    assert renamed.json()["description"] == "Models"
    assert renamed.json()["config"]["headers"][0]["value"] == "••••9876"


async def test_input_schema_must_be_a_valid_json_schema_of_an_object(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    for schema, words in (
        ({"type": "object", "properties": {"limit": {"type": "integr"}}}, "properties/limit"),
        ({"type": "object", "required": "limit"}, "Not a valid JSON Schema"),
        ({"type": "string"}, '"type": "object"'),
    ):
        response = await browser.post(TOOLS, json=http_tool(fake_llm, input_schema=schema))
        error = assert_error(response, 422, "VALIDATION_ERROR")
        [field] = error["details"]["fields"]
        assert field["field"] == "input_schema" and field["type"] == "invalid_schema"
        assert words in field["message"], field
    assert [t["id"] for t in (await browser.get(TOOLS)).json()["data"]] == BUILTINS


async def test_code_tools_define_their_function_and_urls_are_checked(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    code = await browser.post(TOOLS, json=http_tool(fake_llm, type="code", config={"code": "1"}))
    error = assert_error(code, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == "config.function", error
    assert "defines no top-level function 'main'" in error["message"]
    bad_configs = [
        ({"url": "https://{host}/models"}, "config.url"),
        ({"url": fake_llm.openai_url + "/models{?page}"}, "config.url"),
        ({"url": "ftp://example.com/x"}, "config.url"),
        ({"url": fake_llm.openai_url, "method": "TRACE"}, "config.method"),
        ({"url": fake_llm.openai_url, "headers": [{"name": "Bad Name", "value": "x"}]}, None),
    ]
    for config, field in bad_configs:
        response = await browser.post(TOOLS, json=http_tool(fake_llm, config=config))
        error = assert_error(response, 422, "VALIDATION_ERROR")
        if field is not None:
            assert error["details"]["fields"][0]["field"] == field, error


async def test_names_are_unique_per_project_and_never_a_built_in(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    await create_tool(browser, http_tool(fake_llm))
    assert_error(await browser.post(TOOLS, json=http_tool(fake_llm)), 409, "CONFLICT")
    taken = await browser.post(TOOLS, json=http_tool(fake_llm, name="calculator"))
    assert_error(taken, 409, "CONFLICT")
    other = await new_project(browser, "Other")
    elsewhere = await browser.post(TOOLS, json=http_tool(fake_llm, project_id=other))
    assert elsewhere.status_code == 201, elsewhere.text
    bad_name = await browser.post(TOOLS, json=http_tool(fake_llm, name="has spaces"))
    assert_error(bad_name, 422, "VALIDATION_ERROR")


async def test_the_list_pages_through_built_ins_then_custom_tools(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    made = [
        (await create_tool(browser, http_tool(fake_llm, name=f"tool_{i}")))["id"] for i in range(4)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await browser.get(TOOLS + query)).json()
        assert page["pagination"]["total"] == len(BUILTINS) + 4
        seen += [t["id"] for t in page["data"]]
        cursor = page["pagination"]["next_cursor"]
        if not page["pagination"]["has_more"]:
            break
    assert seen == [*BUILTINS, *reversed(made)]
    other = await new_project(browser, "Empty")
    only = (await browser.get(f"{TOOLS}?project_id={other}")).json()
    assert [t["id"] for t in only["data"]] == BUILTINS
    assert_error(await browser.get(f"{TOOLS}?cursor=nonsense"), 400, "BAD_REQUEST")


async def test_viewers_see_custom_tools_editors_change_them(
    app: FastAPI, browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    project = await new_project(browser, "Shared")
    tool = await create_tool(browser, http_tool(fake_llm, project_id=project))
    email = unique_email("viewer")
    viewer, _ = await browser_for(app, email)
    await add_member(browser, project, viewer, email, "viewer")
    assert (await viewer.get(f"{TOOLS}/{tool['id']}")).status_code == 200
    assert tool["id"] in [t["id"] for t in (await viewer.get(TOOLS)).json()["data"]]
    change = await viewer.put(f"{TOOLS}/{tool['id']}", json={"description": "viewer was here"})
    assert_error(change, 403, "FORBIDDEN")
    assert_error(await viewer.delete(f"{TOOLS}/{tool['id']}"), 403, "FORBIDDEN")
    made = await viewer.post(TOOLS, json=http_tool(fake_llm, project_id=project, name="v"))
    assert_error(made, 403, "FORBIDDEN")
    assert (await browser.delete(f"{TOOLS}/{tool['id']}")).status_code == 204
    assert_error(await browser.get(f"{TOOLS}/{tool['id']}"), 404, "RESOURCE_NOT_FOUND")
    await viewer.aclose()
