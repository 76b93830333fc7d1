"""After a kill -9, a reply left `streaming` is stored `incomplete` with its partial text by the
next API start-up and by the worker's maintenance, without anyone resuming it; a reply still
running elsewhere (recently touched, even when its model is silent) is left alone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from httpx import AsyncClient

from orbiter.conversations import orphans, replies
from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.main import create_app
from orbiter.models import Message
from orbiter.runtime.resources import Resources
from orbiter.worker import run_worker
from tests.conversations.util import new_conversation
from tests.fakes.llm_servers import FakeLLM, create_fake_provider

URL = "/api/v1/conversations"
PARTIAL = "The answer so far, before the server was kil"


async def _left_streaming(
    resources: Resources, conversation_id: str, *, untouched_for: timedelta
) -> uuid.UUID:
    """An assistant message as a killed process leaves it: streaming, partly written."""
    now = utcnow()
    message = Message(
        conversation_id=uuid.UUID(conversation_id),
        role="assistant",
        content=PARTIAL,
        parts=[{"type": "text", "text": PARTIAL}],
        status="streaming",
        created_at=now - untouched_for - timedelta(seconds=5),
        updated_at=now - untouched_for,
    )
    async with resources.sessionmaker() as db:
        db.add(message)
        await db.commit()
    return message.id


async def _by_id(client: AsyncClient, conversation_id: str) -> dict[str, dict[str, Any]]:
    response = await client.get(f"{URL}/{conversation_id}/messages")
    assert response.status_code == 200, response.text
    return {m["id"]: m for m in response.json()["data"]}


async def test_api_start_up_stops_replies_left_streaming_by_a_dead_process(
    browser: AsyncClient, resources: Resources, settings: Settings
) -> None:
    cid = (await new_conversation(browser))["id"]
    dead = await _left_streaming(resources, cid, untouched_for=timedelta(minutes=5))
    running = await _left_streaming(resources, cid, untouched_for=timedelta(seconds=1))

    async with LifespanManager(create_app(settings)):  # a replica (re)starting
        pass

    messages = await _by_id(browser, cid)
    stopped = messages[str(dead)]
    assert stopped["status"] == "incomplete"
    assert stopped["content"] == PARTIAL
    assert stopped["parts"] == [{"type": "text", "text": PARTIAL}]
    assert stopped["error"] == orphans.STOPPED_GONE
    # Touched a second ago: another replica may be running it. Left alone.
    assert messages[str(running)]["status"] == "streaming"


async def test_worker_maintenance_stops_replies_left_streaming(
    browser: AsyncClient, resources: Resources, settings: Settings
) -> None:
    cid = (await new_conversation(browser))["id"]
    dead = await _left_streaming(resources, cid, untouched_for=timedelta(seconds=30))
    running = await _left_streaming(resources, cid, untouched_for=timedelta(seconds=2))

    await run_worker(settings, once=True)

    messages = await _by_id(browser, cid)
    assert messages[str(dead)]["status"] == "incomplete"
    assert messages[str(dead)]["content"] == PARTIAL
    assert messages[str(running)]["status"] == "streaming"


async def test_a_running_reply_whose_model_is_silent_is_not_taken_for_dead(
    browser: AsyncClient,
    resources: Resources,
    settings: Settings,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its runner keeps moving updated_at while the model thinks, so a sweep spares it."""
    monkeypatch.setattr(orphans, "ORPHANED_AFTER", timedelta(seconds=1.5))
    monkeypatch.setattr(replies, "TOUCH_SECONDS", 0.3)
    await create_fake_provider(browser, fake_llm, models=["slow"])
    cid = (await new_conversation(browser))["id"]
    fake_llm.set_delays(before=3.5, between=0.01)
    posting = asyncio.create_task(
        browser.post(f"{URL}/{cid}/messages", json={"content": "think hard"})
    )
    await asyncio.sleep(2.5)  # silent for longer than the window
    assert await orphans.stop_orphaned_replies(resources.sessionmaker) == 0  # start-up's pass
    await run_worker(settings, once=True)
    posted = await posting
    assert posted.status_code == 200, posted.text
    assert posted.json()["assistant_message"]["status"] == "complete"
    assert posted.json()["assistant_message"]["content"] == "Echo: think hard"
