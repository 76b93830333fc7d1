"""Racing requests on one row: deletes answer one 204 and 404s (never a 500), and racing creates
leave the rules the database enforces intact (one default provider, one main workspace)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response

from tests.fakes.llm_servers import FakeLLM, provider_body
from tests.helpers import (
    API,
    PASSWORD,
    SignedIn,
    add_member,
    assert_error,
    browser_for,
    new_client,
    new_project,
    unique_email,
)
from tests.workspaces.util import new_workspace

RACERS = 5
CROWD = 20

# Each makes one row as `user` and returns the path that deletes it.
Setup = Callable[[FastAPI, SignedIn, FakeLLM], Awaitable[str]]


async def _created(response: Response, key: str = "id") -> str:
    assert response.status_code == 201, response.text
    return str(response.json()[key])


async def _workspace(app: FastAPI, user: SignedIn, fake: FakeLLM) -> str:
    project_id = await new_project(user.browser)
    await new_workspace(user.browser, project_id, "main")
    spare = await new_workspace(user.browser, project_id, "spare")
    return f"{API}/workspaces/{spare['id']}"


async def _project(app: FastAPI, user: SignedIn, fake: FakeLLM) -> str:
    return f"{API}/projects/{await new_project(user.browser)}"


async def _member(app: FastAPI, user: SignedIn, fake: FakeLLM) -> str:
    project_id = await new_project(user.browser)
    other, person = await browser_for(app)
    await add_member(user.browser, project_id, other, person["email"], "editor")
    await other.aclose()
    return f"{API}/projects/{project_id}/members/{person['id']}"


async def _conversation(app: FastAPI, user: SignedIn, fake: FakeLLM) -> str:
    return f"{API}/conversations/{await _created(await user.browser.post(f'{API}/conversations', json={}))}"


async def _env_var(app: FastAPI, user: SignedIn, fake: FakeLLM) -> str:
    project_id = await new_project(user.browser)
    created = await user.browser.post(
        f"{API}/projects/{project_id}/env-vars", json={"key": "TOKEN", "value": "x"}
    )
    assert created.status_code in (200, 201), created.text
    return f"{API}/projects/{project_id}/env-vars/TOKEN"


async def _provider(app: FastAPI, user: SignedIn, fake: FakeLLM) -> str:
    created = await user.browser.post(f"{API}/providers", json=provider_body(fake, "openai"))
    return f"{API}/providers/{await _created(created)}"


async def _api_key(app: FastAPI, user: SignedIn, fake: FakeLLM) -> str:
    created = await user.browser.post(f"{API}/api-keys", json={"name": "racing"})
    return f"{API}/api-keys/{await _created(created)}"


async def _sessions(user: SignedIn) -> list[dict[str, Any]]:
    listed = await user.browser.get(f"{API}/auth/sessions")
    assert listed.status_code == 200, listed.text
    return list(listed.json()["data"])


async def _browser_session(app: FastAPI, user: SignedIn, fake: FakeLLM) -> str:
    other, _ = await browser_for(app, user.email)  # a second sign-in of the same user
    await other.aclose()
    [session] = [s for s in await _sessions(user) if s["kind"] == "browser" and not s["current"]]
    return f"{API}/auth/sessions/{session['id']}"


async def _token_session(app: FastAPI, user: SignedIn, fake: FakeLLM) -> str:
    [token] = [s for s in await _sessions(user) if s["kind"] == "token"]
    return f"{API}/auth/sessions/{token['id']}"


DELETES: dict[str, Setup] = {
    "workspace": _workspace,
    "project": _project,
    "member": _member,
    "conversation": _conversation,
    "env_var": _env_var,
    "provider": _provider,
    "api_key": _api_key,
    "browser_session": _browser_session,
    "token_session": _token_session,
}


@pytest.mark.parametrize("kind", sorted(DELETES))
async def test_racing_deletes_answer_one_success_and_not_found(
    app: FastAPI, signed_in: Any, fake_llm: FakeLLM, kind: str
) -> None:
    user: SignedIn = await signed_in()
    path = await DELETES[kind](app, user, fake_llm)
    answers = await asyncio.gather(*(user.browser.delete(path) for _ in range(RACERS)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [204] + [404] * (RACERS - 1), [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 404:
            assert_error(answer, 404, "RESOURCE_NOT_FOUND")
    again = await user.browser.delete(path)
    assert_error(again, 404, "RESOURCE_NOT_FOUND")


async def test_racing_first_providers_leave_exactly_one_default(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    answers = await asyncio.gather(
        *(
            browser.post(f"{API}/providers", json=provider_body(fake_llm, "openai", name=f"p{n}"))
            for n in range(CROWD)
        )
    )
    assert [a.status_code for a in answers] == [201] * CROWD, [a.text for a in answers]
    listed = (await browser.get(f"{API}/providers", params={"limit": 100})).json()["data"]
    assert len(listed) == CROWD
    defaults = [p["id"] for p in listed if p["is_default"]]
    assert len(defaults) == 1
    claimed = [a.json()["id"] for a in answers if a.json()["is_default"]]
    assert claimed == defaults  # the one that said it became the default is the default


async def test_racing_make_default_requests_leave_exactly_one_default(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    answers = await asyncio.gather(
        *(
            browser.post(
                f"{API}/providers",
                json=provider_body(fake_llm, "openai", name=f"d{n}", is_default=True),
            )
            for n in range(CROWD)
        )
    )
    odd = {a.status_code: a.text for a in answers if a.status_code not in (201, 409)}
    assert not odd, odd
    listed = (await browser.get(f"{API}/providers", params={"limit": 100})).json()["data"]
    assert len([p for p in listed if p["is_default"]]) == 1


async def test_racing_first_workspaces_leave_exactly_one_main(browser: AsyncClient) -> None:
    project_id = await new_project(browser)
    answers = await asyncio.gather(
        *(
            browser.post(f"{API}/projects/{project_id}/workspaces", json={"name": f"w{n}"})
            for n in range(CROWD)
        )
    )
    assert [a.status_code for a in answers] == [201] * CROWD, [a.text for a in answers]
    listed = await browser.get(f"{API}/projects/{project_id}/workspaces", params={"limit": 100})
    mains = [w["id"] for w in listed.json()["data"] if w["is_main"]]
    assert len(mains) == 1
    assert [a.json()["id"] for a in answers if a.json()["is_main"]] == mains


async def test_racing_set_as_main_leaves_exactly_one_main(browser: AsyncClient) -> None:
    project_id = await new_project(browser)
    ids = [(await new_workspace(browser, project_id, f"w{n}"))["id"] for n in range(CROWD // 2)]
    answers = await asyncio.gather(
        *(browser.post(f"{API}/workspaces/{w}/set-as-main") for w in ids)
    )
    assert [a.status_code for a in answers] == [200] * len(ids), [a.text for a in answers]
    listed = await browser.get(f"{API}/projects/{project_id}/workspaces", params={"limit": 100})
    assert len([w for w in listed.json()["data"] if w["is_main"]]) == 1


async def test_racing_registrations_make_one_user_with_one_personal_project(
    app: FastAPI,
) -> None:
    email = unique_email("racer")
    body = {"email": email, "password": PASSWORD}
    async with new_client(app) as anonymous:
        answers = await asyncio.gather(
            *(anonymous.post(f"{API}/auth/register", json=body) for _ in range(CROWD))
        )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * (CROWD - 1), [a.text for a in answers if a.status_code >= 500]
    browser, _ = await browser_for(app, email)
    try:
        projects = (await browser.get(f"{API}/projects", params={"limit": 100})).json()["data"]
    finally:
        await browser.aclose()
    assert [p["name"] for p in projects if p["is_personal"]] == ["Personal"]
