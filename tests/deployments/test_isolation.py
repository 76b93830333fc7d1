"""Another user's deployments: invisible by any credential, and their keys open nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.agents.util import make_agent
from tests.deployments.util import deploy, invoke, make_workflow
from tests.helpers import API, SignedInFactory, assert_error, assert_missing_reference, new_project


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_a_second_user_gets_404_on_every_deployment_route(
    signed_in: SignedInFactory, method: str
) -> None:
    alice, bob = await signed_in(), await signed_in()
    project = await new_project(alice.browser, "Alice's")
    workflow = await make_workflow(alice.browser, project_id=project)
    created = await deploy(alice.browser, "workflow", workflow["id"], project_id=project)
    before = {k: v for k, v in created.items() if k != "key"}
    url = f"{API}/deployments/{created['id']}"
    intruder = bob.clients()[method]
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", url, None),
        ("PUT", url, {"name": "Bob's"}),
        ("DELETE", url, None),
        ("POST", f"{url}/key", None),
        ("DELETE", f"{url}/key", None),
        ("POST", f"{url}/invoke", {"inputs": {}}),
        ("GET", f"{url}/runs/{workflow['id']}", None),
        ("GET", f"{API}/deployments?project_id={project}", None),
        (
            "POST",
            f"{API}/deployments",
            {
                "name": "B",
                "target_type": "workflow",
                "target_id": workflow["id"],
                "project_id": project,
            },
        ),
    ]
    for verb, target, body in attempts:
        response = await intruder.request(verb, target, json=body)
        assert_error(response, 404, "RESOURCE_NOT_FOUND")
    redeploy = await intruder.post(f"{API}/ci/deployments/{created['id']}/redeploy")
    if method == "api_key":
        assert_error(redeploy, 404, "RESOURCE_NOT_FOUND")
    else:
        assert_error(redeploy, 401, "UNAUTHORIZED")  # /ci takes API keys only
    into_own = await intruder.post(
        f"{API}/deployments",
        json={"name": "B", "target_type": "workflow", "target_id": workflow["id"]},
    )
    assert_missing_reference(into_own, "target_id", workflow["id"])
    assert (await intruder.get(f"{API}/deployments")).json()["data"] == []
    assert (await alice.browser.get(url)).json() == before
    assert (await alice.browser.get(f"{API}/runs")).json()["data"] == []


async def test_a_users_own_deployment_key_opens_no_one_elses(
    signed_in: SignedInFactory, client: AsyncClient
) -> None:
    alice, bob = await signed_in(), await signed_in()
    alices = await deploy(alice.browser, "agent", (await make_agent(alice.browser))["id"])
    bobs = await deploy(bob.browser, "workflow", (await make_workflow(bob.browser))["id"])
    refused = await invoke(client, alices["id"], bobs["key"], inputs={"input": "Hi"})
    assert_error(refused, 401, "UNAUTHORIZED")
    with_cookie_too = await invoke(bob.browser, alices["id"], bobs["key"], inputs={"input": "Hi"})
    assert_error(with_cookie_too, 401, "UNAUTHORIZED")
    assert (await alice.browser.get(f"{API}/runs")).json()["data"] == []
    shown = (await alice.browser.get(f"{API}/deployments/{alices['id']}")).json()
    assert shown["last_invoked_at"] is None
