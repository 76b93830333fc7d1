"""Keyset pagination (API.md §1): real next cursors through HTTP, and `total` counted once."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from tests.helpers import assert_error, browser_for, create_api_key, new_client

PROJECTS = "/api/v1/projects"
SESSIONS = "/api/v1/auth/sessions"


async def walk(client: AsyncClient, url: str, limit: int) -> list[dict[str, Any]]:
    """Every page of `url` by following next_cursor; the bodies, in order."""
    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = await client.get(url, params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        pagination = pages[-1]["pagination"]
        if not pagination["has_more"]:
            assert pagination["next_cursor"] is None
            return pages
        assert len(pages) < 20
        params = {"limit": limit, "cursor": pagination["next_cursor"]}


async def test_total_is_the_count_when_the_listing_began(browser: AsyncClient) -> None:
    for number in range(4):
        created = await browser.post(PROJECTS, json={"name": f"p{number}"})
        assert created.status_code == 201
    first = (await browser.get(PROJECTS, params={"limit": 2})).json()
    assert first["pagination"]["total"] == 5  # the four and the personal project
    for number in range(2):  # created meanwhile: newer, so never on a later page either
        assert (await browser.post(PROJECTS, json={"name": f"late{number}"})).status_code == 201
    cursor = first["pagination"]["next_cursor"]
    second = (await browser.get(PROJECTS, params={"limit": 2, "cursor": cursor})).json()
    assert second["pagination"]["total"] == 5
    assert {p["name"] for p in second["data"]} == {"p1", "p0"}
    again = (await browser.get(PROJECTS, params={"limit": 2})).json()
    assert again["pagination"]["total"] == 7
    assert [p["name"] for p in again["data"]] == ["late1", "late0"]


async def test_a_tampered_cursor_is_a_400(browser: AsyncClient) -> None:
    await browser.post(PROJECTS, json={"name": "two"})  # two projects: a second page exists
    real = (await browser.get(PROJECTS, params={"limit": 1})).json()["pagination"]["next_cursor"]
    assert (await browser.get(PROJECTS, params={"limit": 1, "cursor": real})).status_code == 200
    for bad in (real[:-3] + "abc", "not-a-cursor"):
        response = await browser.get(PROJECTS, params={"limit": 1, "cursor": bad})
        error = assert_error(response, 400, "BAD_REQUEST")
        assert error["details"] == {"field": "cursor"}


async def test_the_openapi_document_says_what_total_means(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    total = schema["components"]["schemas"]["PageInfo"]["properties"]["total"]
    assert total["description"].startswith("The count when the listing began")


async def test_in_memory_lists_page_with_their_own_next_cursors(app: FastAPI) -> None:
    """/auth/sessions is assembled in memory (paginate_items): walk it by its cursors."""
    browsers = [(await browser_for(app, "sessions@example.com"))[0] for _ in range(3)]
    key = await create_api_key(browsers[0])
    async with new_client(app, **{"X-API-Key": key}) as api:
        pages = await walk(api, SESSIONS, limit=1)
        assert len(pages) == 3
        assert all(page["pagination"]["total"] == 3 for page in pages)
        ids = [session["id"] for page in pages for session in page["data"]]
        assert len(set(ids)) == 3
        stamps = [s["created_at"] for page in pages for s in page["data"]]
        assert stamps == sorted(stamps, reverse=True)

        # A valid cursor still works when the list has since become empty.
        cursor = pages[0]["pagination"]["next_cursor"]
        for session_id in ids:
            assert (await api.delete(f"{SESSIONS}/{session_id}")).status_code == 204
        emptied = await api.get(SESSIONS, params={"limit": 1, "cursor": cursor})
        assert emptied.status_code == 200, emptied.text
        assert emptied.json() == {
            "data": [],
            "pagination": {"next_cursor": None, "has_more": False, "total": 3},
        }
        tampered = await api.get(SESSIONS, params={"limit": 1, "cursor": cursor[:-2] + "xx"})
        assert_error(tampered, 400, "BAD_REQUEST")
    for browser in browsers:
        await browser.aclose()
