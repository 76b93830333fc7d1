"""/api/v1/workflows: a project's workflows, their saves and versions, and who may do what."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from tests.helpers import API, add_member, assert_error, browser_for, new_project, unique_email
from tests.workflows.util import make_workflow, simple_canvas


def canonical_hash(canvas: dict[str, Any]) -> str:
    form = {
        "nodes": sorted(canvas["nodes"], key=lambda n: n["id"]),
        "edges": sorted(canvas["edges"], key=lambda e: e["id"]),
    }
    text = json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


async def test_create_read_list_and_delete(browser: AsyncClient) -> None:
    personal = (await browser.get(f"{API}/projects")).json()["data"][0]["id"]
    created = await make_workflow(browser, description="Says hello")
    assert created["project_id"] == personal and created["version"] == 1
    assert created["name"] == "Greeter" and created["description"] == "Says hello"
    assert created["canvas"]["nodes"][1]["data"]["template"] == "Hello {{inputs.name}}"
    assert created["content_hash"] == canonical_hash(created["canvas"])
    assert (await browser.get(f"{API}/workflows/{created['id']}")).json() == created

    listed = (await browser.get(f"{API}/workflows")).json()
    assert listed["data"] == [created] and listed["pagination"]["total"] == 1

    assert (await browser.delete(f"{API}/workflows/{created['id']}")).status_code == 204
    gone = await browser.get(f"{API}/workflows/{created['id']}")
    assert_error(gone, 404, "RESOURCE_NOT_FOUND")
    assert_error(
        await browser.get(f"{API}/workflows/{created['id']}/versions"), 404, "RESOURCE_NOT_FOUND"
    )
    events = (await browser.get(f"{API}/projects/{personal}/events")).json()["data"]
    types = [e["type"] for e in events]
    assert "workflow.created" in types and "workflow.deleted" in types


async def test_each_changed_canvas_is_a_new_version_and_old_ones_stay(
    browser: AsyncClient,
) -> None:
    workflow = await make_workflow(browser)
    url = f"{API}/workflows/{workflow['id']}"
    first = workflow["canvas"]

    renamed = (await browser.put(url, json={"name": "Hello"})).json()
    assert renamed["name"] == "Hello" and renamed["version"] == 1
    panned = {**first, "viewport": {"x": 40, "y": 0, "zoom": 2}}
    same = (await browser.put(url, json={"canvas": panned})).json()
    assert same["version"] == 1 and same["canvas"]["viewport"]["zoom"] == 2

    second = simple_canvas("Hi {{inputs.name}}")
    saved = await browser.put(url, json={"canvas": second, "description": "v2"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2 and saved.json()["description"] == "v2"
    assert saved.json()["content_hash"] == canonical_hash(saved.json()["canvas"])
    assert saved.json()["content_hash"] != workflow["content_hash"]
    back = (await browser.put(url, json={"canvas": first})).json()
    assert back["version"] == 3 and back["content_hash"] == workflow["content_hash"]

    page = (await browser.get(f"{url}/versions?limit=2")).json()
    assert [v["version"] for v in page["data"]] == [3, 2]
    assert page["pagination"]["total"] == 3 and page["pagination"]["has_more"]
    rest = await browser.get(
        f"{url}/versions", params={"cursor": page["pagination"]["next_cursor"]}
    )
    [oldest] = rest.json()["data"]
    assert oldest["version"] == 1 and oldest["content_hash"] == workflow["content_hash"]
    assert oldest["canvas"]["nodes"] == first["nodes"]
    assert page["data"][1]["canvas"]["nodes"][1]["data"]["template"] == "Hi {{inputs.name}}"
    assert not rest.json()["pagination"]["has_more"]


async def test_a_refused_canvas_changes_nothing(browser: AsyncClient) -> None:
    workflow = await make_workflow(browser)
    url = f"{API}/workflows/{workflow['id']}"
    cyclic = simple_canvas()
    cyclic["edges"].append({"id": "loop", "source": "answer", "target": "greet"})
    response = await browser.put(url, json={"name": "Broken", "canvas": cyclic})
    assert_error(response, 422, "VALIDATION_ERROR")
    assert (await browser.get(url)).json() == workflow
    assert (await browser.get(f"{url}/versions")).json()["pagination"]["total"] == 1


async def test_bad_bodies_are_refused(browser: AsyncClient) -> None:
    workflow = await make_workflow(browser)
    url = f"{API}/workflows/{workflow['id']}"
    updates: list[dict[str, Any]] = [
        {},
        {"canvas": None},
        {"name": None},
        {"name": " "},
        {"colour": "red"},
    ]
    for body in updates:
        assert_error(await browser.put(url, json=body), 422, "VALIDATION_ERROR")
    creates: list[dict[str, Any]] = [{"name": "W"}, {"name": "W", "canvas": {"edges": []}}]
    for body in creates:
        assert_error(await browser.post(f"{API}/workflows", json=body), 422, "VALIDATION_ERROR")
    missing = await browser.get(f"{API}/workflows/{uuid.uuid4()}")
    assert_error(missing, 404, "RESOURCE_NOT_FOUND")


async def test_lists_are_keyset_pages_filtered_by_project(browser: AsyncClient) -> None:
    project = await new_project(browser, "Team")
    mine = [await make_workflow(browser, name=f"W{i}") for i in range(3)]
    team = await make_workflow(browser, name="Team's", project_id=project)
    first = (await browser.get(f"{API}/workflows?limit=2")).json()
    assert [w["id"] for w in first["data"]] == [team["id"], mine[2]["id"]]
    assert first["pagination"]["total"] == 4
    rest = await browser.get(
        f"{API}/workflows", params={"cursor": first["pagination"]["next_cursor"]}
    )
    assert [w["id"] for w in rest.json()["data"]] == [mine[1]["id"], mine[0]["id"]]
    only = (await browser.get(f"{API}/workflows?project_id={project}")).json()["data"]
    assert [w["id"] for w in only] == [team["id"]]


async def test_viewers_read_workflows_editors_change_them(
    app: FastAPI, browser: AsyncClient
) -> None:
    project = await new_project(browser, "Team")
    workflow = await make_workflow(browser, project_id=project)
    url = f"{API}/workflows/{workflow['id']}"
    viewer_email, editor_email = unique_email("viewer"), unique_email("editor")
    viewer, _ = await browser_for(app, viewer_email)
    editor, _ = await browser_for(app, editor_email)
    await add_member(browser, project, viewer, viewer_email, "viewer")
    await add_member(browser, project, editor, editor_email, "editor")

    assert (await viewer.get(url)).json() == workflow
    assert (await viewer.get(f"{url}/versions")).status_code == 200
    assert [w["id"] for w in (await viewer.get(f"{API}/workflows")).json()["data"]] == [
        workflow["id"]
    ]
    for verb, target, body in (
        ("PUT", url, {"name": "Mine"}),
        ("DELETE", url, None),
        (
            "POST",
            f"{API}/workflows",
            {"name": "V", "canvas": simple_canvas(), "project_id": project},
        ),
    ):
        assert_error(await viewer.request(verb, target, json=body), 403, "FORBIDDEN")
    assert (await browser.get(url)).json() == workflow

    edited = await editor.put(url, json={"canvas": simple_canvas("Yo")})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    [newest, _] = (await browser.get(f"{url}/versions")).json()["data"]
    assert newest["created_by"] == (await editor.get(f"{API}/auth/me")).json()["id"]
    assert (await editor.delete(url)).status_code == 204
    await viewer.aclose()
    await editor.aclose()


async def test_concurrent_saves_get_distinct_version_numbers(browser: AsyncClient) -> None:
    workflow = await make_workflow(browser)
    url = f"{API}/workflows/{workflow['id']}"
    saves = await asyncio.gather(
        *(browser.put(url, json={"canvas": simple_canvas(f"Hi {i}")}) for i in range(4))
    )
    assert all(s.status_code == 200 for s in saves), [s.text for s in saves]
    assert sorted(s.json()["version"] for s in saves) == [2, 3, 4, 5]
    versions = (await browser.get(f"{url}/versions")).json()["data"]
    assert [v["version"] for v in versions] == [5, 4, 3, 2, 1]
    current = (await browser.get(url)).json()
    assert current["content_hash"] == versions[0]["content_hash"]
