"""Another user's workflows: invisible by any credential."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import API, SignedInFactory, assert_error, new_project
from tests.workflows.util import make_workflow, simple_canvas


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_a_second_user_gets_404_on_every_workflow_route(
    signed_in: SignedInFactory, method: str
) -> None:
    alice, bob = await signed_in(), await signed_in()
    project = await new_project(alice.browser, "Alice's")
    workflow = await make_workflow(alice.browser, project_id=project)
    url = f"{API}/workflows/{workflow['id']}"
    intruder = bob.clients()[method]
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", url, None),
        ("PUT", url, {"name": "Bob's", "canvas": simple_canvas("Bob")}),
        ("DELETE", url, None),
        ("GET", f"{url}/versions", None),
        ("GET", f"{url}/versions/1/diff", None),
        ("POST", f"{url}/run", {"inputs": {}}),
        ("POST", f"{url}/webhook-token", None),
        ("GET", f"{API}/workflows?project_id={project}", None),
        (
            "POST",
            f"{API}/workflows",
            {"name": "B", "canvas": simple_canvas(), "project_id": project},
        ),
    ]
    for verb, target, body in attempts:
        response = await intruder.request(verb, target, json=body)
        assert_error(response, 404, "RESOURCE_NOT_FOUND")
    assert (await intruder.get(f"{API}/workflows")).json()["data"] == []
    assert (await alice.browser.get(url)).json() == workflow
    versions = (await alice.browser.get(f"{url}/versions")).json()
    assert versions["pagination"]["total"] == 1
    runs = await alice.browser.get(f"{API}/runs", params={"workflow_id": workflow["id"]})
    assert runs.json()["data"] == []  # nothing was started on Alice's behalf
