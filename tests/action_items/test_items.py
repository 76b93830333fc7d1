"""Listing action items (critical first) and dismissing them (kept for every kind)."""

from __future__ import annotations

from fastapi import FastAPI
from httpx import AsyncClient

from tests.action_items.util import (
    AWS_KEY,
    BILLING,
    analysed,
    drifted,
    has_kind,
    items,
    items_until,
)
from tests.helpers import API, add_member, assert_error, browser_for

RANK = {"critical": 3, "high": 2, "medium": 1, "low": 0}


async def test_items_come_critical_first_with_drift_and_findings(browser: AsyncClient) -> None:
    scene = await drifted(browser)
    found = await items_until(browser, analysed, project_id=scene.project_id)
    ranks = [RANK[item["severity"]] for item in found]
    assert ranks == sorted(ranks, reverse=True)
    by_kind = {item["kind"]: item for item in found}
    secret = by_kind["security"]
    assert secret["severity"] == "critical"
    assert (secret["path"], secret["line"]) == ("app/billing.py", 3)
    assert secret["workspace_id"] == scene.workspace_id
    assert AWS_KEY not in str(found)  # the secret itself is never shown
    assert by_kind["drift"]["workspace_id"] == scene.workspace_id
    assert by_kind["drift"]["details"]["files_modified"] == 1
    untested = [item for item in found if item["kind"] == "test_coverage"]
    assert [item["path"] for item in untested] == ["app/billing.py"]  # calc.py has a test
    long = next(item for item in found if item["kind"] == "refactoring")
    assert (long["severity"], long["path"], long["line"]) == ("low", "app/report.py", 1)
    assert {item["project_id"] for item in found} == {scene.project_id}
    assert found == await items(browser)  # the same across the caller's projects


async def test_dismissals_persist_for_stored_and_computed_items(
    app: FastAPI, browser: AsyncClient
) -> None:
    scene = await drifted(browser)
    found = await items_until(browser, analysed, project_id=scene.project_id)
    drift = next(item for item in found if item["kind"] == "drift")
    secret = next(item for item in found if item["kind"] == "security")

    viewer, viewer_user = await browser_for(app)
    await add_member(browser, scene.project_id, viewer, viewer_user["email"], "viewer")
    refused = await viewer.post(f"{API}/action-items/{secret['id']}/dismiss")
    assert_error(refused, 403, "FORBIDDEN")
    await viewer.aclose()

    for item in (drift, secret):
        response = await browser.post(f"{API}/action-items/{item['id']}/dismiss")
        assert response.status_code == 200, response.text
        assert response.json()["dismissed"] is True
        assert response.json()["id"] == item["id"]
    again = await browser.post(f"{API}/action-items/{drift['id']}/dismiss")
    assert again.status_code == 200 and again.json()["dismissed_at"] is not None

    # A new compare of the same two states is the same drift: it stays dismissed.
    assert (await browser.get(f"{API}/workspaces/{scene.workspace_id}")).status_code == 200
    left = {item["id"] for item in await items(browser, project_id=scene.project_id)}
    assert not left & {drift["id"], secret["id"]}
    shown = await items(browser, project_id=scene.project_id, include_dismissed=True)
    dismissed = {item["id"] for item in shown if item["dismissed"]}
    assert dismissed == {drift["id"], secret["id"]}


async def test_a_failed_deployment_is_an_item_until_dismissed(browser: AsyncClient) -> None:
    scene = await drifted(browser)
    started = await browser.post(f"{API}/workspaces/{scene.main_id}/deploy")
    assert started.status_code == 202, started.text
    deployment_id = started.json()["deployment_id"]
    failed = await browser.post(
        f"{API}/infrastructure/deployments/{deployment_id}/status",
        json={"status": "failed", "error": "the health check got 502"},
        headers={"X-Deployment-Token": started.json()["callback_token"]},
    )
    assert failed.status_code == 200, failed.text
    found = await items(browser, project_id=scene.project_id)
    [item] = [item for item in found if item["kind"] == "deployment"]
    assert (item["severity"], item["workspace_id"]) == ("high", scene.main_id)
    assert item["details"]["deployment_id"] == deployment_id
    assert "the health check got 502" in item["description"]
    dismissed = await browser.post(f"{API}/action-items/{item['id']}/dismiss")
    assert dismissed.status_code == 200, dismissed.text
    left = await items(browser, project_id=scene.project_id)
    assert not [item for item in left if item["kind"] == "deployment"]


async def test_a_fixed_finding_goes_and_the_others_keep_their_ids(browser: AsyncClient) -> None:
    scene = await drifted(browser)
    found = await items_until(browser, analysed, project_id=scene.project_id)
    untested = next(item for item in found if item["kind"] == "test_coverage")
    fixed = BILLING.replace(f'"{AWS_KEY}"', 'os.environ["BILLING_KEY"]')
    written = await browser.post(
        f"{API}/files/content",
        params={"workspace_id": scene.workspace_id},
        json={"path": "app/billing.py", "content": fixed},
    )
    assert written.status_code == 200, written.text
    after = await items_until(
        browser, lambda found: not has_kind("security")(found), project_id=scene.project_id
    )
    assert untested["id"] in {item["id"] for item in after}
