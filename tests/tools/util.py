"""Helpers for tool tests: a custom HTTP tool aimed at the fake LLM server's JSON routes."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.fakes.llm_servers import FakeLLM
from tests.helpers import API

TOOLS = f"{API}/tools"
SCHEMA = {
    "type": "object",
    "properties": {"limit": {"type": "integer", "minimum": 1}},
    "required": ["limit"],
}


def http_tool(fake: FakeLLM, **overrides: Any) -> dict[str, Any]:
    """A tool listing the fake OpenAI server's models (`GET /v1/models{?limit}`), sending a
    secret Authorization header."""
    body: dict[str, Any] = {
        "name": "list_models",
        "description": "List the models of the fake provider",
        "type": "http",
        "input_schema": SCHEMA,
        "config": {
            "method": "GET",
            "url": fake.openai_url + "/models{?limit}",
            "headers": [
                {"name": "Accept", "value": "application/json"},
                {"name": "Authorization", "value": "Bearer sk-tool-secret-9876", "secret": True},
            ],
        },
    }
    body.update(overrides)
    return body


async def create_tool(client: AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(TOOLS, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
