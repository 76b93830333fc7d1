"""GET /workflows/{id}/versions/{version}/diff: what changed between two saved canvases."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from httpx import AsyncClient

from tests.helpers import API, SignedInFactory, assert_error, new_project
from tests.workflows.util import edge, make_workflow, node, simple_canvas


def second_canvas() -> dict[str, Any]:
    """The simple canvas with `greet` edited and moved, `shout` put between it and `answer`,
    and the first edge naming its target handle."""
    body = simple_canvas()
    greet = body["nodes"][1]
    greet["data"] |= {"template": "Hi {{ inputs.name }}", "label": "Hi"}
    greet["position"] = {"x": 200, "y": 40}
    body["nodes"].append(node("shout", "template_jinja", template="{{ input | upper }}"))
    body["edges"] = [
        edge("start", "greet", targetHandle="input"),
        edge("greet", "shout"),
        edge("shout", "answer"),
    ]
    return body


async def two_versions(client: AsyncClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A workflow saved twice: its URL, and its versions 1 and 2 (newest first in the list)."""
    workflow = await make_workflow(client)
    url = f"{API}/workflows/{workflow['id']}"
    saved = await client.put(url, json={"canvas": second_canvas()})
    assert saved.status_code == 200 and saved.json()["version"] == 2, saved.text
    second, first = (await client.get(f"{url}/versions")).json()["data"]
    return url, first, second


def ref(version: dict[str, Any]) -> dict[str, Any]:
    return {"version": version["version"], "content_hash": version["content_hash"]}


async def test_a_version_is_compared_with_the_one_before(browser: AsyncClient) -> None:
    url, first, second = await two_versions(browser)
    response = await browser.get(f"{url}/versions/2/diff")
    assert response.status_code == 200, response.text
    shout = second_canvas()["nodes"][3]
    assert response.json() == {
        "from": ref(first),
        "to": ref(second),
        "nodes": {
            "added": [shout],
            "removed": [],
            "changed": [
                {
                    "id": "greet",
                    "changes": [
                        {"field": "data.label", "before": "Greet", "after": "Hi"},
                        {
                            "field": "data.template",
                            "before": "Hello {{inputs.name}}",
                            "after": "Hi {{ inputs.name }}",
                        },
                        {
                            "field": "position",
                            "before": {"x": 0, "y": 0},
                            "after": {"x": 200, "y": 40},
                        },
                    ],
                }
            ],
        },
        "edges": {
            "added": [edge("greet", "shout"), edge("shout", "answer")],
            "removed": [edge("greet", "answer")],
            "changed": [
                {
                    "id": "start-greet",
                    "changes": [{"field": "targetHandle", "before": None, "after": "input"}],
                }
            ],
        },
    }


async def test_versions_are_named_by_number_or_content_hash(browser: AsyncClient) -> None:
    url, first, second = await two_versions(browser)
    forward = (await browser.get(f"{url}/versions/2/diff")).json()
    by_hash = await browser.get(
        f"{url}/versions/{second['content_hash']}/diff",
        params={"against": first["content_hash"]},
    )
    assert by_hash.json() == forward
    backward = (await browser.get(f"{url}/versions/1/diff", params={"against": 2})).json()
    assert backward["from"] == ref(second) and backward["to"] == ref(first)
    assert backward["nodes"]["removed"] == forward["nodes"]["added"]
    assert backward["edges"]["added"] == forward["edges"]["removed"]
    [greet] = backward["nodes"]["changed"]
    assert greet["changes"][1] == {
        "field": "data.template",
        "before": "Hi {{ inputs.name }}",
        "after": "Hello {{inputs.name}}",
    }
    same = (await browser.get(f"{url}/versions/2/diff", params={"against": 2})).json()
    assert same["nodes"] == same["edges"] == {"added": [], "removed": [], "changed": []}


async def test_the_first_version_is_compared_with_nothing(browser: AsyncClient) -> None:
    url, first, _ = await two_versions(browser)
    diff = (await browser.get(f"{url}/versions/1/diff")).json()
    assert diff["from"] is None and diff["to"] == ref(first)
    assert diff["nodes"]["added"] == first["canvas"]["nodes"]
    assert diff["edges"]["added"] == first["canvas"]["edges"]
    assert diff["nodes"]["removed"] == diff["nodes"]["changed"] == []


async def test_a_hash_saved_twice_names_its_newest_version(browser: AsyncClient) -> None:
    url, first, _ = await two_versions(browser)
    back = await browser.put(url, json={"canvas": copy.deepcopy(first["canvas"])})
    assert back.json()["version"] == 3 and back.json()["content_hash"] == first["content_hash"]
    diff = (await browser.get(f"{url}/versions/{first['content_hash']}/diff")).json()
    assert diff["to"] == {"version": 3, "content_hash": first["content_hash"]}
    assert diff["from"]["version"] == 2
    assert [n["id"] for n in diff["nodes"]["removed"]] == ["shout"]


async def test_unknown_and_malformed_versions(browser: AsyncClient) -> None:
    url, _, _ = await two_versions(browser)
    for missing in (
        f"{url}/versions/3/diff",
        f"{url}/versions/{'b' * 64}/diff",
        f"{url}/versions/2/diff?against=9",
        f"{url}/versions/2/diff?against={'c' * 64}",
        f"{API}/workflows/{uuid.uuid4()}/versions/1/diff",
    ):
        assert_error(await browser.get(missing), 404, "RESOURCE_NOT_FOUND")
    for malformed in (
        f"{url}/versions/latest/diff",
        f"{url}/versions/0/diff",
        f"{url}/versions/-1/diff",
        f"{url}/versions/1234567890/diff",
        f"{url}/versions/{'B' * 64}/diff",
        f"{url}/versions/{'b' * 63}/diff",
        f"{url}/versions/2/diff?against=v1",
        f"{url}/versions/2/diff?against=",
    ):
        assert_error(await browser.get(malformed), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_a_second_user_cannot_diff_anothers_versions(
    signed_in: SignedInFactory, method: str
) -> None:
    alice, bob = await signed_in(), await signed_in()
    project = await new_project(alice.browser, "Alice's")
    workflow = await make_workflow(alice.browser, project_id=project)
    url = f"{API}/workflows/{workflow['id']}"
    await alice.browser.put(url, json={"canvas": second_canvas()})
    intruder = bob.clients()[method]
    hidden = None
    for target in (
        f"{url}/versions/2/diff",
        f"{url}/versions/2/diff?against=1",
        f"{url}/versions/{workflow['content_hash']}/diff",
        f"{url}/versions/7/diff",
    ):
        hidden = assert_error(await intruder.get(target), 404, "RESOURCE_NOT_FOUND")
    missing = await intruder.get(f"{API}/workflows/{uuid.uuid4()}/versions/2/diff")
    assert hidden == assert_error(missing, 404, "RESOURCE_NOT_FOUND")
    mine = await alice.clients()[method].get(f"{url}/versions/2/diff")
    assert mine.status_code == 200 and mine.json()["to"]["version"] == 2
