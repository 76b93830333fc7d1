"""Helpers for deployment tests: targets to deploy, deployments, and invoking them."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response

from tests.helpers import API
from tests.workflows.util import canvas, edge, node


def ending_in(leaf: str) -> dict[str, Any]:
    """A manual trigger joined into one aggregator named `leaf`: the run's output is
    `{leaf: {"start": inputs}}`, so it tells which version ran."""
    return canvas(node("start", "manual"), node(leaf, "aggregator"), edges=[edge("start", leaf)])


async def make_workflow(client: AsyncClient, leaf: str = "first", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Pipeline", "canvas": ending_in(leaf), **fields}
    response = await client.post(f"{API}/workflows", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def deploy(
    client: AsyncClient, target_type: str, target_id: str, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Prod",
        "target_type": target_type,
        "target_id": target_id,
        **fields,
    }
    response = await client.post(f"{API}/deployments", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def deployed_then_edited(
    client: AsyncClient,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A workflow ending in `first`, deployed, then saved ending in `second` (version 2):
    the workflow as deployed, the deployment, and the workflow as edited."""
    workflow = await make_workflow(client, leaf="first")
    created = await deploy(client, "workflow", workflow["id"])
    edited = await client.put(
        f"{API}/workflows/{workflow['id']}", json={"canvas": ending_in("second")}
    )
    assert edited.status_code == 200, edited.text
    return workflow, created, edited.json()


async def invoke(
    client: AsyncClient, deployment_id: str, key: str | None = None, **body: Any
) -> Response:
    """POST /deployments/{id}/invoke, with the deployment's key as X-API-Key when given."""
    headers = {"X-API-Key": key} if key is not None else {}
    params = {"wait": "true"} if body.pop("wait", False) else {}
    return await client.post(
        f"{API}/deployments/{deployment_id}/invoke",
        json={"inputs": body.pop("inputs", {})},
        headers=headers,
        params=params,
    )
