"""A project's brief, next steps and decisions through HTTP: the LLM parts against the fake
OpenAI-compatible server, 503 without a provider, validation, status filters, isolation."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import add_member, assert_error, browser_for, new_project

PROJECTS = "/api/v1/projects"


async def _outsider_and_viewer(
    app: FastAPI, owner: AsyncClient, project_id: str
) -> tuple[AsyncClient, AsyncClient]:
    outsider, _ = await browser_for(app)
    viewer, user = await browser_for(app)
    await add_member(owner, project_id, viewer, user["email"], "viewer")
    return outsider, viewer


async def _steps(client: AsyncClient, project_id: str, status: str | None = None) -> Any:
    params = {"status": status} if status else {}
    response = await client.get(f"{PROJECTS}/{project_id}/next-steps", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_brief_is_read_by_members_and_changed_field_by_field(
    app: FastAPI, browser: AsyncClient
) -> None:
    project_id = await new_project(browser, "Shop")
    url = f"{PROJECTS}/{project_id}/brief"
    empty = await browser.get(url)
    assert empty.json() == {"project": {"id": project_id, "intent": None, "brief": None}}

    first = await browser.patch(url, json={"intent": "Sell books online"})
    assert first.status_code == 200, first.text
    second = await browser.patch(url, json={"brief": "FastAPI backend, React front end"})
    assert second.json()["project"] == {
        "id": project_id,
        "intent": "Sell books online",
        "brief": "FastAPI backend, React front end",
    }
    for bad in ({}, {"intent": 5}, {"summary": "x"}, {"brief": "x" * 20_001}, {"intent": "a\x00"}):
        assert_error(await browser.patch(url, json=bad), 422, "VALIDATION_ERROR")
    cleared = await browser.patch(url, json={"brief": None})
    assert cleared.json()["project"] == {
        "id": project_id,
        "intent": "Sell books online",
        "brief": None,
    }

    outsider, viewer = await _outsider_and_viewer(app, browser, project_id)
    assert_error(await outsider.get(url), 404, "RESOURCE_NOT_FOUND")
    assert_error(await outsider.patch(url, json={"intent": "mine"}), 404, "RESOURCE_NOT_FOUND")
    assert (await viewer.get(url)).json()["project"]["intent"] == "Sell books online"
    assert_error(await viewer.patch(url, json={"intent": "mine"}), 403, "FORBIDDEN")
    assert (await browser.get(url)).json()["project"]["intent"] == "Sell books online"


async def test_llm_routes_answer_503_without_a_provider_and_store_nothing(
    browser: AsyncClient,
) -> None:
    project_id = await new_project(browser)
    for path in ("next-steps/generate", "decisions/extract"):
        response = await browser.post(f"{PROJECTS}/{project_id}/{path}")
        error = assert_error(response, 503, "SERVICE_UNAVAILABLE")
        assert "POST /api/v1/providers" in error["message"]
        assert error["details"]["how_to_fix"]["path"] == "/api/v1/providers"
    assert (await _steps(browser, project_id))["data"] == []


async def test_generated_steps_come_from_the_context_and_move_through_statuses(
    app: FastAPI, browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    project_id = await new_project(browser, "Shop")
    await browser.patch(
        f"{PROJECTS}/{project_id}/brief",
        json={"intent": "Sell rare books", "brief": "A Go API with a TypeScript web app"},
    )
    await create_fake_provider(browser, fake_llm)
    steps = [
        {"title": "Add checkout", "description": "Stripe", "rationale": "The intent is to sell"},
        {"title": "Write API tests", "rationale": "The brief names a Go API", "priority": "high"},
        {"title": "Ship the web app", "rationale": "From the brief", "priority": "urgent!"},
        {"description": "no title, dropped"},
    ]
    fake_llm.queue_reply("Here you go:\n```json\n" + json.dumps({"next_steps": steps}) + "\n```")
    generated = await browser.post(f"{PROJECTS}/{project_id}/next-steps/generate")
    assert generated.status_code == 200, generated.text
    assert generated.headers["RateLimit-Limit"] == "10"
    body = generated.json()
    assert body["generated_count"] == 3
    made = body["next_steps"]
    assert [s["title"] for s in made] == ["Add checkout", "Write API tests", "Ship the web app"]
    assert [s["priority"] for s in made] == ["medium", "high", "medium"]
    assert made[0]["rationale"] == "The intent is to sell" and made[0]["status"] == "pending"
    prompt = fake_llm.completions()[-1].messages[-1]["content"]
    assert "Sell rare books" in prompt and "A Go API with a TypeScript web app" in prompt

    step_id = made[1]["id"]
    step_url = f"{PROJECTS}/{project_id}/next-steps/{step_id}"
    started = await browser.patch(step_url, json={"status": "started"})
    assert started.status_code == 200 and started.json()["status"] == "started"
    assert [s["id"] for s in (await _steps(browser, project_id, "started"))["data"]] == [step_id]
    pending = await _steps(browser, project_id, "pending")
    assert pending["pagination"]["total"] == 2 and step_id not in {s["id"] for s in pending["data"]}
    assert (await _steps(browser, project_id))["pagination"]["total"] == 3
    rated = await browser.post(f"{step_url}/feedback", json={"helpful": False})
    assert rated.status_code == 200 and rated.json()["helpful"] is False

    assert_error(await browser.patch(step_url, json={"status": "done"}), 422, "VALIDATION_ERROR")
    assert_error(
        await browser.get(f"{PROJECTS}/{project_id}/next-steps", params={"status": "x"}),
        422,
        "VALIDATION_ERROR",
    )
    other_project = await new_project(browser, "Other")
    assert_error(
        await browser.patch(
            f"{PROJECTS}/{other_project}/next-steps/{step_id}", json={"status": "completed"}
        ),
        404,
        "RESOURCE_NOT_FOUND",
    )
    outsider, viewer = await _outsider_and_viewer(app, browser, project_id)
    assert_error(
        await outsider.get(f"{PROJECTS}/{project_id}/next-steps"), 404, "RESOURCE_NOT_FOUND"
    )
    assert_error(
        await outsider.patch(step_url, json={"status": "completed"}), 404, "RESOURCE_NOT_FOUND"
    )
    assert (await _steps(viewer, project_id))["pagination"]["total"] == 3
    assert_error(await viewer.patch(step_url, json={"status": "completed"}), 403, "FORBIDDEN")
    assert_error(
        await viewer.post(f"{step_url}/feedback", json={"helpful": True}), 403, "FORBIDDEN"
    )
    assert_error(
        await viewer.post(f"{PROJECTS}/{project_id}/next-steps/generate"), 403, "FORBIDDEN"
    )
    assert (await _steps(browser, project_id, "started"))["data"][0]["helpful"] is False


async def test_a_reply_that_is_not_json_or_a_failing_provider_is_502(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    project_id = await new_project(browser)
    await create_fake_provider(browser, fake_llm)
    for reply in ("I would rather not answer in JSON.", '{"steps": []}'):
        fake_llm.queue_reply(reply)
        response = await browser.post(f"{PROJECTS}/{project_id}/next-steps/generate")
        assert_error(response, 502, "UPSTREAM_ERROR")
    await create_fake_provider(browser, fake_llm, name="broken", models=["error"], is_default=True)
    assert_error(
        await browser.post(f"{PROJECTS}/{project_id}/next-steps/generate"), 502, "UPSTREAM_ERROR"
    )
    assert (await _steps(browser, project_id))["data"] == []


async def _talk(browser: AsyncClient, project_id: str, *texts: str) -> list[dict[str, Any]]:
    created = await browser.post("/api/v1/conversations", json={"project_id": project_id})
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    for text in texts:
        sent = await browser.post(f"/api/v1/conversations/{cid}/messages", json={"content": text})
        assert sent.status_code == 200, sent.text
    listed = await browser.get(f"/api/v1/conversations/{cid}/messages")
    return listed.json()["data"]  # type: ignore[no-any-return]


async def test_extracting_twice_keeps_one_decision_with_its_message_ids(
    app: FastAPI, browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    project_id = await new_project(browser, "Shop")
    await create_fake_provider(browser, fake_llm)
    messages = await _talk(
        browser, project_id, "Let's use PostgreSQL for orders.", "And Redis for the cart."
    )
    by_text = {m["content"]: m["id"] for m in messages}
    postgres, redis = (
        by_text["Let's use PostgreSQL for orders."],
        by_text["And Redis for the cart."],
    )
    answer = {
        "decisions": [
            {
                "title": "Use PostgreSQL for orders",
                "rationale": "durable",
                "message_ids": [postgres, "made-up"],
            },
            {"title": "Redis for the cart", "rationale": "fast", "message_ids": [redis]},
        ]
    }
    fake_llm.queue_reply(json.dumps(answer))
    url = f"{PROJECTS}/{project_id}/decisions"
    first = await browser.post(f"{url}/extract")
    assert first.status_code == 200, first.text
    assert first.json()["extracted_count"] == 2
    found = {d["title"]: d for d in first.json()["decisions"]}
    assert found["Use PostgreSQL for orders"]["message_ids"] == [postgres]
    assert found["Redis for the cart"]["message_ids"] == [redis]
    prompt = fake_llm.completions()[-1].messages[-1]["content"]
    assert f"[{postgres}] user: Let's use PostgreSQL for orders." in prompt

    echo = by_text["Echo: And Redis for the cart."]
    again = {
        "decisions": [
            {"title": "use postgresql  for ORDERS!", "rationale": "again", "message_ids": [echo]},
        ]
    }
    fake_llm.queue_reply(json.dumps(again))
    second = await browser.post(f"{url}/extract")
    assert second.status_code == 200, second.text
    assert second.json()["extracted_count"] == 0
    [same] = second.json()["decisions"]
    assert same["id"] == found["Use PostgreSQL for orders"]["id"]
    assert same["title"] == "Use PostgreSQL for orders"
    assert same["message_ids"] == [postgres, echo]

    listed = (await browser.get(url)).json()
    assert listed["pagination"]["total"] == 2
    assert {d["title"] for d in listed["data"]} == {
        "Use PostgreSQL for orders",
        "Redis for the cart",
    }
    assert all(d["linked_concepts"] is None for d in listed["data"])
    linked = (await browser.get(url, params={"include_links": "true"})).json()
    assert all(d["linked_concepts"] == [] for d in linked["data"])

    outsider, viewer = await _outsider_and_viewer(app, browser, project_id)
    assert_error(await outsider.get(url), 404, "RESOURCE_NOT_FOUND")
    assert_error(await outsider.post(f"{url}/extract"), 404, "RESOURCE_NOT_FOUND")
    assert (await viewer.get(url)).json()["pagination"]["total"] == 2
    assert_error(await viewer.post(f"{url}/extract"), 403, "FORBIDDEN")
