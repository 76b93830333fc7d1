"""Alert rules through the API: CRUD in a project with its roles, another user's rules never
visible, bad input refused with nothing saved, the webhook secret shown once, private webhook
addresses refused, concurrent evaluations recording one event, and the /metrics series."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient

from orbiter.runtime.resources import Resources
from tests.alerts.conftest import quiet
from tests.alerts.util import create_rule, evaluate, fail_runs, listed
from tests.core.test_metrics import _samples, metered  # noqa: F401  the app with /metrics on
from tests.helpers import API, SignedInFactory, add_member, assert_error, new_project
from tests.runs.util import personal_project


async def test_rules_belong_to_a_project_viewers_read_editors_write(
    signed_in: SignedInFactory,
) -> None:
    owner, editor, viewer, stranger = [await signed_in() for _ in range(4)]
    project = await new_project(owner.browser, "Ops")
    await add_member(owner.browser, project, editor.browser, editor.email, "editor")
    await add_member(owner.browser, project, viewer.browser, viewer.email, "viewer")

    rule = await create_rule(editor.api, project_id=project, name="Spend", condition_type="cost")
    assert rule["project_id"] == project
    assert (rule["state"], rule["enabled"], rule["last_measure"]) == ("ok", True, None)
    mine = await create_rule(owner.cli)  # no project_id: the personal project
    assert mine["project_id"] == await personal_project(owner)

    assert [r["id"] for r in await listed(viewer.api, "/alerts")] == [rule["id"]]
    assert [r["id"] for r in await listed(owner.api, f"/alerts?project_id={project}")] == [
        rule["id"]
    ]
    assert [r["id"] for r in await listed(owner.api, "/alerts")] == [mine["id"], rule["id"]]
    got = await viewer.api.get(f"{API}/alerts/{rule['id']}")
    assert got.status_code == 200 and "webhook_secret" not in got.json()
    assert {k: v for k, v in got.json().items() if k != "webhook_secret"} == {
        k: v for k, v in rule.items() if k != "webhook_secret"
    }

    path = f"{API}/alerts/{rule['id']}"
    assert_error(await viewer.api.put(path, json={"enabled": False}), 403, "FORBIDDEN")
    assert_error(await viewer.api.delete(path), 403, "FORBIDDEN")
    assert_error(
        await viewer.api.post(f"{API}/alerts", json={**_body(), "project_id": project}),
        403,
        "FORBIDDEN",
    )
    changed = await editor.browser.put(
        path, json={"name": "Spend!", "condition_threshold": 12.5, "enabled": False}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["condition_threshold"]) == ("Spend!", 12.5)
    assert changed.json()["enabled"] is False
    assert changed.json()["condition_type"] == "cost"  # not sent: kept

    for response in (
        await stranger.api.get(path),
        await stranger.api.put(path, json={"enabled": True}),
        await stranger.api.delete(path),
        await stranger.api.get(f"{path}/events"),
        await stranger.api.get(f"{path}/deliveries"),
        await stranger.api.post(f"{path}/events/{rule['id']}/acknowledge"),
    ):
        assert_error(response, 404, "RESOURCE_NOT_FOUND")
    assert await listed(stranger.api, "/alerts") == []
    assert_error(
        await stranger.api.post(f"{API}/alerts", json={**_body(), "project_id": project}),
        404,
        "RESOURCE_NOT_FOUND",
    )

    deleted = await editor.browser.delete(path)
    assert deleted.status_code == 204
    assert_error(await owner.api.get(path), 404, "RESOURCE_NOT_FOUND")
    assert [r["id"] for r in await listed(owner.api, "/alerts")] == [mine["id"]]


def _body(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Failures",
        "condition_type": "run_failures",
        "condition_threshold": 3,
        "window_minutes": 5,
        "action_type": "in_app",
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"condition_type": "disk_full"}, "condition_type"),
        ({"condition_threshold": -1}, "condition_threshold"),
        ({"condition_threshold": "many"}, "condition_threshold"),
        ({"window_minutes": 0}, "window_minutes"),
        ({"window_minutes": 1441}, "window_minutes"),
        ({"condition_type": "latency", "window_minutes": 16}, "window_minutes"),
        ({"condition_type": "error_rate", "condition_threshold": 101}, "condition_threshold"),
        ({"action_type": "pager"}, "action_type"),
        ({"action_type": "webhook"}, "action_config.url"),
        (
            {"action_type": "webhook", "action_config": {"url": "ftp://x.example"}},
            "action_config.url",
        ),
        ({"action_type": "in_app", "action_config": {"url": "http://x"}}, "action_config.url"),
        ({"name": "  "}, "name"),
    ],
)
async def test_bad_rules_are_refused_and_nothing_is_saved(
    browser: AsyncClient, fields: dict[str, Any], field: str
) -> None:
    error = assert_error(
        await browser.post(f"{API}/alerts", json=_body(**fields)), 422, "VALIDATION_ERROR"
    )
    assert field in [f["field"] for f in error["details"]["fields"]], error
    assert await listed(browser, "/alerts") == []


async def test_an_update_is_checked_as_a_whole(browser: AsyncClient) -> None:
    rule = await create_rule(browser, condition_type="cost", window_minutes=60)
    path = f"{API}/alerts/{rule['id']}"
    refused = await browser.put(path, json={"condition_type": "latency"})  # 60 min > 15
    error = assert_error(refused, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == "window_minutes"
    assert_error(await browser.put(path, json={}), 422, "VALIDATION_ERROR")
    assert_error(await browser.put(path, json={"name": None}), 422, "VALIDATION_ERROR")
    assert (await browser.get(path)).json()["condition_type"] == "cost"


async def test_a_webhook_to_a_private_address_is_refused_unless_allowed(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "allow_private_urls", False)
    for url in ("http://127.0.0.1:8080/hook", "http://10.0.0.7/hook", "http://169.254.169.254/"):
        body = _body(action_type="webhook", action_config={"url": url})
        error = assert_error(
            await browser.post(f"{API}/alerts", json=body), 422, "VALIDATION_ERROR"
        )
        [problem] = error["details"]["fields"]
        assert (problem["field"], problem["type"]) == ("action_config.url", "url_refused")
    assert await listed(browser, "/alerts") == []
    rule = await create_rule(browser)
    moved = await browser.put(
        f"{API}/alerts/{rule['id']}",
        json={"action_type": "webhook", "action_config": {"url": "http://10.0.0.7/hook"}},
    )
    assert_error(moved, 422, "VALIDATION_ERROR")

    monkeypatch.setattr(resources.settings, "allow_private_urls", True)
    allowed = await browser.post(
        f"{API}/alerts",
        json=_body(action_type="webhook", action_config={"url": "http://10.0.0.7/hook"}),
    )
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["action_config"] == {"url": "http://10.0.0.7/hook"}


@pytest.mark.usefixtures("run_worker")
async def test_concurrent_evaluations_record_one_event_and_metrics_count_them(
    signed_in: SignedInFactory,
    resources: Resources,
    metered: AsyncClient,  # noqa: F811
) -> None:
    transport = metered._transport  # the /metrics app's own embedded ticker: quiet it too
    assert isinstance(transport, ASGITransport)
    await quiet(transport.app.state.resources)  # type: ignore[attr-defined]
    owner = await signed_in()
    rule = await create_rule(owner.browser, condition_threshold=1)
    await fail_runs(resources, owner, 1)
    passes = await asyncio.gather(*(evaluate(resources) for _ in range(3)))
    assert sum(p.fired for p in passes) == 1
    assert len(await listed(owner.api, f"/alerts/{rule['id']}/events")) == 1

    samples = _samples((await metered.get("/metrics")).text)
    evaluations = samples[("orbiter_alert_evaluations_total", ())]
    assert 1 <= evaluations <= 3  # the losers of the compare-and-set count no evaluation
    assert samples[("orbiter_alert_rules", (("state", "firing"),))] == 1
    webhook_ok = (("channel", "webhook"), ("outcome", "succeeded"))
    assert samples[("orbiter_alert_deliveries_total", webhook_ok)] == 0
