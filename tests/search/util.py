"""Helpers for search tests: a search through HTTP, what it found, and a chat to find."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.conversations.util import new_conversation
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import API

SEARCH = f"{API}/search"


async def search(client: AsyncClient, q: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(SEARCH, params={"q": q, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "pagination"}
    return body["data"]  # type: ignore[no-any-return]


async def found(client: AsyncClient, q: str, **params: Any) -> set[tuple[str, str]]:
    """(type, id) of every hit."""
    return {(hit["type"], hit["id"]) for hit in await search(client, q, **params)}


async def chat(client: AsyncClient, fake: FakeLLM, content: str) -> dict[str, Any]:
    """A new conversation in the personal project with one message and the fake's echo:
    `{conversation, user_message, assistant_message}`."""
    await create_fake_provider(client, fake, "openai", models=["echo"])
    conversation = await new_conversation(client)
    posted = await client.post(
        f"{API}/conversations/{conversation['id']}/messages", json={"content": content}
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["assistant_message"]["content"] == f"Echo: {content}"
    return {"conversation": conversation, **posted.json()}
