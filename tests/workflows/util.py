"""Helpers for workflow tests: canvases as a ReactFlow editor saves them, and workflows."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.helpers import API


def node(node_id: str, node_type: str, **settings: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "custom",
        "data": {"nodeType": node_type, "label": node_id.title(), **settings},
        "position": {"x": 0, "y": 0},
        "width": 180,  # the editor's own keys are kept as they are
    }


def edge(source: str, target: str, **handles: str) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, **handles}


def canvas(*nodes: dict[str, Any], edges: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"nodes": list(nodes), "edges": edges or [], "viewport": {"x": 0, "y": 0, "zoom": 1}}


def simple_canvas(template: str = "Hello {{inputs.name}}") -> dict[str, Any]:
    """A manual trigger feeding a template, then an API response."""
    return canvas(
        node("start", "manual"),
        node("greet", "template_jinja", template=template, retry_count=2, on_error="skip"),
        node("answer", "api_response"),
        edges=[edge("start", "greet"), edge("greet", "answer")],
    )


async def make_workflow(client: AsyncClient, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Greeter", "canvas": simple_canvas()}
    body.update(fields)
    response = await client.post(f"{API}/workflows", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
