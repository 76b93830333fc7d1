"""A run on an action item: the coding agent (scripted on the fake LLM) patches the item in a
sandbox; the patch is checked, then applied to the workspace, or refused when the workspace
changed the same lines meanwhile."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.sandboxes.host import SandboxHost
from tests.action_items.util import AWS_KEY, BILLING, analysed, drifted, items_until
from tests.fakes.llm_servers import FakeLLM, provider_body, turn
from tests.helpers import API, SignedInFactory, assert_error
from tests.sandboxes.conftest import _sandbox_root, host  # noqa: F401 - fixtures
from tests.sync.util import current_hash

FIXED = BILLING.replace(f'"{AWS_KEY}"', 'os.environ["BILLING_KEY"]')
ENDED = {"ready", "failed", "cancelled"}


@pytest.fixture
async def coder(
    app: FastAPI,
    browser: AsyncClient,
    fake_llm: FakeLLM,
    host: SandboxHost,  # noqa: F811 - the fixture imported above
) -> AsyncClient:
    response = await browser.post(f"{API}/providers", json=provider_body(fake_llm, "openai"))
    assert response.status_code == 201, response.text
    return browser


async def secret_item(client: AsyncClient) -> tuple[str, dict[str, Any]]:
    scene = await drifted(client)
    found = await items_until(client, analysed, project_id=scene.project_id)
    return scene.workspace_id, next(item for item in found if item["kind"] == "security")


def script_fix(fake: FakeLLM, content: str = FIXED) -> None:
    fake.queue_turns(
        turn("", ("write_file", {"path": "app/billing.py", "content": content})),
        turn("Read the key from the BILLING_KEY environment variable."),
    )


async def run_until_ended(client: AsyncClient, item_id: str) -> dict[str, Any]:
    started = await client.post(f"{API}/action-items/{item_id}/runs")
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    async with asyncio.timeout(60):
        while True:
            response = await client.get(f"{API}/action-items/runs/{started.json()['id']}")
            assert response.status_code == 200, response.text
            if response.json()["status"] in ENDED:
                return response.json()  # type: ignore[no-any-return]
            await asyncio.sleep(0.1)


async def file_text(client: AsyncClient, workspace_id: str, path: str) -> str:
    response = await client.get(
        f"{API}/files/content", params={"workspace_id": workspace_id, "path": path}
    )
    assert response.status_code == 200, response.text
    return response.json()["content"]  # type: ignore[no-any-return]


async def test_a_run_makes_a_checked_patch_that_applies_once(
    coder: AsyncClient, fake_llm: FakeLLM
) -> None:
    workspace_id, item = await secret_item(coder)
    script_fix(fake_llm)
    run = await run_until_ended(coder, item["id"])
    assert run["status"] == "ready", run
    assert run["summary"] == "Read the key from the BILLING_KEY environment variable."
    assert '-KEY = "AKIA' in run["patch"]
    assert '+KEY = os.environ["BILLING_KEY"]' in run["patch"]
    assert run["patch"].startswith("--- a/app/billing.py\n+++ b/app/billing.py\n")
    assert [c["path"] for c in run["changes"]] == ["app/billing.py"]
    checks = {check["name"]: check for check in run["checks"]}
    assert checks["compile app/billing.py"]["passed"] is True
    assert all(check["passed"] for check in run["checks"]), run["checks"]
    assert "app/billing.py" in run["report"]
    listed = await coder.get(f"{API}/action-items/{item['id']}/runs")
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()["data"]] == [run["id"]]

    before = await current_hash(coder, workspace_id)
    applied = await coder.post(f"{API}/action-items/runs/{run['id']}/apply")
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["run"]["status"] == "applied" and body["merged"] == []
    assert body["manifest_hash"] == await current_hash(coder, workspace_id) != before
    assert await file_text(coder, workspace_id, "app/billing.py") == FIXED

    again = await coder.post(f"{API}/action-items/runs/{run['id']}/apply")
    assert_error(again, 409, "CONFLICT")
    assert await current_hash(coder, workspace_id) == body["manifest_hash"]


async def test_apply_merges_other_lines_and_refuses_the_same_lines(
    coder: AsyncClient, fake_llm: FakeLLM
) -> None:
    workspace_id, item = await secret_item(coder)
    script_fix(fake_llm)
    first = await run_until_ended(coder, item["id"])
    script_fix(fake_llm)
    second = await run_until_ended(coder, item["id"])
    assert first["status"] == second["status"] == "ready"

    # The workspace changes the same line: the patch no longer applies, nothing is written.
    clash = BILLING.replace('KEY = "AKIA', 'KEY = "OTHER-AKIA')
    written = await coder.post(
        f"{API}/files/content",
        params={"workspace_id": workspace_id},
        json={"path": "app/billing.py", "content": clash},
    )
    assert written.status_code == 200, written.text
    moved = await current_hash(coder, workspace_id)
    refused = await coder.post(f"{API}/action-items/runs/{first['id']}/apply")
    details = assert_error(refused, 409, "CONFLICT")["details"]
    assert details["conflicts"] == ["app/billing.py"]
    assert await current_hash(coder, workspace_id) == moved
    assert await file_text(coder, workspace_id, "app/billing.py") == clash

    # Back to the base and a change on other lines: merged with the patch.
    other = BILLING.replace("return sum(items)", "return sum(items, 0)")
    await coder.post(
        f"{API}/files/content",
        params={"workspace_id": workspace_id},
        json={"path": "app/billing.py", "content": other},
    )
    applied = await coder.post(f"{API}/action-items/runs/{second['id']}/apply")
    assert applied.status_code == 200, applied.text
    assert applied.json()["merged"] == ["app/billing.py"]
    merged = await file_text(coder, workspace_id, "app/billing.py")
    assert 'KEY = os.environ["BILLING_KEY"]' in merged and "sum(items, 0)" in merged


async def test_a_run_needs_a_provider_and_others_get_404(
    browser: AsyncClient,
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    host: SandboxHost,  # noqa: F811 - the fixture imported above
) -> None:
    _, item = await secret_item(browser)
    refused = await browser.post(f"{API}/action-items/{item['id']}/runs")
    message = assert_error(refused, 503, "SERVICE_UNAVAILABLE")["message"]
    assert "provider" in message.lower()

    await browser.post(f"{API}/providers", json=provider_body(fake_llm, "openai"))
    fake_llm.queue_turns(turn("I changed nothing."))
    run = await run_until_ended(browser, item["id"])
    assert run["status"] == "failed" and "changed no file" in run["error"], run
    assert run["patch"] is None
    refused_apply = await browser.post(f"{API}/action-items/runs/{run['id']}/apply")
    assert_error(refused_apply, 409, "CONFLICT")

    script_fix(fake_llm, "def total(items:\n")  # a patch that does not compile: reported
    broken = await run_until_ended(browser, item["id"])
    assert broken["status"] == "ready", broken
    [check] = broken["checks"]
    assert (check["name"], check["passed"]) == ("compile app/billing.py", False)
    assert "Checks: 0 of 1 passed; failed: compile app/billing.py." in broken["report"]
    other = await signed_in()
    for client in other.clients().values():  # cookie, API key, bearer token
        for verb, url in (
            ("POST", f"{API}/action-items/{item['id']}/runs"),
            ("GET", f"{API}/action-items/{item['id']}/runs"),
            ("GET", f"{API}/action-items/runs/{run['id']}"),
            ("POST", f"{API}/action-items/runs/{run['id']}/apply"),
        ):
            response = await client.request(verb, url)
            assert_error(response, 404, "RESOURCE_NOT_FOUND")
