"""Projects: the personal project, create, list (keyset pages), detail, update, delete,
status and the activity feed, all through HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx import AsyncClient

from tests.helpers import assert_error, iso_time

PROJECTS = "/api/v1/projects"


@pytest.fixture
def owner(browser: AsyncClient) -> AsyncClient:
    return browser


async def create(client: AsyncClient, name: str, **extra: Any) -> dict[str, Any]:
    response = await client.post(PROJECTS, json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def field_errors(error: dict[str, Any]) -> dict[str, str]:
    assert error["details"] is not None, error
    fields = error["details"]["fields"]
    assert fields and all(set(f) == {"field", "message", "type"} for f in fields), fields
    return {f["field"]: f["type"] for f in fields}


async def test_registration_gives_the_user_a_personal_project_they_own(owner: AsyncClient) -> None:
    listing = await owner.get(PROJECTS)
    assert listing.status_code == 200
    body = listing.json()
    assert body["pagination"] == {"next_cursor": None, "has_more": False, "total": 1}
    [personal] = body["data"]
    assert personal["is_personal"] is True
    assert personal["role"] == "owner"
    assert personal["name"] == "Personal"


async def test_create_project_returns_201_with_the_new_project(owner: AsyncClient) -> None:
    response = await owner.post(PROJECTS, json={"name": "Apollo", "description": "Moon shot"})
    assert response.status_code == 201
    project = response.json()
    assert set(project) >= {
        "id",
        "name",
        "description",
        "is_personal",
        "role",
        "created_at",
        "updated_at",
    }
    uuid.UUID(project["id"])
    assert project["name"] == "Apollo"
    assert project["description"] == "Moon shot"
    assert project["is_personal"] is False
    assert project["role"] == "owner"
    assert project["created_at"] == project["updated_at"]
    # It is really there.
    detail = await owner.get(f"{PROJECTS}/{project['id']}")
    assert detail.status_code == 200
    assert detail.json()["name"] == "Apollo"


async def test_create_project_description_is_optional(owner: AsyncClient) -> None:
    project = await create(owner, "Gemini")
    assert project["description"] is None


@pytest.mark.parametrize(
    ("body", "field", "error_type"),
    [
        ({}, "name", "missing"),
        ({"name": ""}, "name", "string_too_short"),
        ({"name": "x" * 201}, "name", "string_too_long"),
        ({"name": "Fine", "colour": "red"}, "colour", "extra_forbidden"),
        ({"name": "Fine", "description": "d" * 10_001}, "description", "string_too_long"),
    ],
    ids=["missing-name", "empty-name", "too-long-name", "unknown-key", "too-long-description"],
)
async def test_invalid_create_is_a_422_naming_the_field_and_creates_nothing(
    owner: AsyncClient, body: dict[str, Any], field: str, error_type: str
) -> None:
    error = assert_error(await owner.post(PROJECTS, json=body), 422, "VALIDATION_ERROR")
    assert field_errors(error).get(field) == error_type
    assert (await owner.get(PROJECTS)).json()["pagination"]["total"] == 1  # only Personal


async def test_a_200_character_name_is_accepted(owner: AsyncClient) -> None:
    project = await create(owner, "n" * 200)
    assert project["name"] == "n" * 200


async def test_list_is_newest_updated_first(owner: AsyncClient) -> None:
    first = await create(owner, "first")
    second = await create(owner, "second")
    third = await create(owner, "third")
    names = [p["name"] for p in (await owner.get(PROJECTS)).json()["data"]]
    assert names == ["third", "second", "first", "Personal"]

    # Touching the oldest one moves it to the top.
    assert (
        await owner.put(f"{PROJECTS}/{first['id']}", json={"description": "x"})
    ).status_code == 200
    data = (await owner.get(PROJECTS)).json()["data"]
    assert [p["name"] for p in data] == ["first", "third", "second", "Personal"]
    stamps = [iso_time(p["updated_at"]) for p in data]
    assert stamps == sorted(stamps, reverse=True)
    assert {second["id"], third["id"]} <= {p["id"] for p in data}


async def test_list_pages_with_cursor_until_has_more_is_false(owner: AsyncClient) -> None:
    created = {(await create(owner, f"p{i}"))["id"] for i in range(5)}
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await owner.get(PROJECTS, params=params)
        assert response.status_code == 200
        body = response.json()
        pages += 1
        assert body["pagination"]["total"] == 6
        assert len(body["data"]) <= 2
        seen.extend(p["id"] for p in body["data"])
        if not body["pagination"]["has_more"]:
            assert body["pagination"]["next_cursor"] is None
            break
        assert len(body["data"]) == 2
        cursor = body["pagination"]["next_cursor"]
        assert isinstance(cursor, str) and cursor
        assert pages < 10
    assert pages == 3
    assert len(seen) == len(set(seen)) == 6
    assert created < set(seen)
    # The walk is in the same order as one big page.
    full = (await owner.get(PROJECTS, params={"limit": 100})).json()["data"]
    assert [p["id"] for p in full] == seen


async def test_a_page_size_above_the_maximum_is_capped_not_refused(owner: AsyncClient) -> None:
    await create(owner, "one")
    response = await owner.get(PROJECTS, params={"limit": 500})
    assert response.status_code == 200
    body = response.json()
    assert len(body["data"]) == 2
    assert body["pagination"] == {"next_cursor": None, "has_more": False, "total": 2}


async def test_a_page_size_below_one_is_a_422(owner: AsyncClient) -> None:
    error = assert_error(await owner.get(PROJECTS, params={"limit": 0}), 422, "VALIDATION_ERROR")
    assert "limit" in field_errors(error)


async def test_a_tampered_or_made_up_cursor_is_a_400(owner: AsyncClient) -> None:
    for i in range(3):
        await create(owner, f"p{i}")
    cursor = (await owner.get(PROJECTS, params={"limit": 2})).json()["pagination"]["next_cursor"]
    assert cursor
    # Change the payload (first character), so the signature no longer matches.
    tampered = ("X" if cursor[0] != "X" else "Y") + cursor[1:]
    for bad in (tampered, "not-a-cursor", cursor + "x"):
        error = assert_error(
            await owner.get(PROJECTS, params={"limit": 2, "cursor": bad}), 400, "BAD_REQUEST"
        )
        assert "cursor" in error["message"].lower()
    # The genuine cursor still works.
    assert (await owner.get(PROJECTS, params={"limit": 2, "cursor": cursor})).status_code == 200


async def test_detail_has_member_count_and_the_created_event(owner: AsyncClient) -> None:
    me = (await owner.get("/api/v1/auth/me")).json()
    project = await create(owner, "Detail", description="about")
    response = await owner.get(f"{PROJECTS}/{project['id']}")
    assert response.status_code == 200
    detail = response.json()
    for key in ("id", "name", "description", "is_personal", "role", "created_at", "updated_at"):
        assert detail[key] == project[key], key
    assert detail["member_count"] == 1
    [event] = detail["events"]
    assert event["type"] == "project.created"
    assert event["project_id"] == project["id"]
    assert event["actor_id"] == me["id"]
    assert event["data"] == {"name": "Detail"}


async def test_put_updates_name_and_description_bumps_updated_at_and_records_an_event(
    owner: AsyncClient,
) -> None:
    project = await create(owner, "Old name", description="old")
    response = await owner.put(
        f"{PROJECTS}/{project['id']}", json={"name": "New name", "description": "new"}
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["name"] == "New name"
    assert updated["description"] == "new"
    assert updated["role"] == "owner"
    assert updated["created_at"] == project["created_at"]
    assert iso_time(updated["updated_at"]) > iso_time(project["updated_at"])

    detail = (await owner.get(f"{PROJECTS}/{project['id']}")).json()
    assert (detail["name"], detail["description"]) == ("New name", "new")
    assert detail["updated_at"] == updated["updated_at"]
    assert [e["type"] for e in detail["events"]] == ["project.updated", "project.created"]
    assert sorted(detail["events"][0]["data"]["fields"]) == ["description", "name"]


async def test_put_with_only_a_description_keeps_the_name(owner: AsyncClient) -> None:
    project = await create(owner, "Keep me", description="before")
    response = await owner.put(f"{PROJECTS}/{project['id']}", json={"description": None})
    assert response.status_code == 200
    assert response.json()["name"] == "Keep me"
    assert response.json()["description"] is None


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": None}, {"name": "ok", "owner": "me"}],
    ids=["empty-body", "empty-name", "null-name", "unknown-key"],
)
async def test_invalid_put_is_a_422_and_changes_nothing(
    owner: AsyncClient, body: dict[str, Any]
) -> None:
    project = await create(owner, "Stable", description="same")
    error = assert_error(
        await owner.put(f"{PROJECTS}/{project['id']}", json=body), 422, "VALIDATION_ERROR"
    )
    field_errors(error)
    detail = (await owner.get(f"{PROJECTS}/{project['id']}")).json()
    assert (detail["name"], detail["description"]) == ("Stable", "same")
    assert detail["updated_at"] == project["updated_at"]
    assert [e["type"] for e in detail["events"]] == ["project.created"]


async def test_owner_deletes_a_project_then_it_is_gone(owner: AsyncClient) -> None:
    project = await create(owner, "Doomed")
    response = await owner.delete(f"{PROJECTS}/{project['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(await owner.get(f"{PROJECTS}/{project['id']}"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await owner.get(f"{PROJECTS}/{project['id']}/events"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await owner.delete(f"{PROJECTS}/{project['id']}"), 404, "RESOURCE_NOT_FOUND")
    assert [p["name"] for p in (await owner.get(PROJECTS)).json()["data"]] == ["Personal"]


async def test_the_personal_project_cannot_be_deleted(owner: AsyncClient) -> None:
    [personal] = (await owner.get(PROJECTS)).json()["data"]
    assert_error(await owner.delete(f"{PROJECTS}/{personal['id']}"), 409, "CONFLICT")
    still = await owner.get(f"{PROJECTS}/{personal['id']}")
    assert still.status_code == 200
    assert still.json()["is_personal"] is True


async def test_unknown_project_ids_are_404_and_malformed_ids_422(owner: AsyncClient) -> None:
    missing = uuid.uuid4()
    assert_error(await owner.get(f"{PROJECTS}/{missing}"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await owner.get(f"{PROJECTS}/{missing}/status"), 404, "RESOURCE_NOT_FOUND")
    assert_error(
        await owner.put(f"{PROJECTS}/{missing}", json={"name": "x"}), 404, "RESOURCE_NOT_FOUND"
    )
    assert_error(await owner.delete(f"{PROJECTS}/{missing}"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await owner.get(f"{PROJECTS}/not-a-uuid"), 422, "VALIDATION_ERROR")


async def test_status_has_last_snapshot_updated_at_and_last_activity(owner: AsyncClient) -> None:
    project = await create(owner, "Status")
    response = await owner.get(f"{PROJECTS}/{project['id']}/status")
    assert response.status_code == 200
    status = response.json()
    assert set(status) == {"last_snapshot_id", "updated_at", "last_activity"}
    assert status["last_snapshot_id"] is None
    assert iso_time(status["updated_at"]) == iso_time(project["updated_at"])
    assert status["last_activity"] is not None

    updated = (await owner.put(f"{PROJECTS}/{project['id']}", json={"name": "Status 2"})).json()
    after = (await owner.get(f"{PROJECTS}/{project['id']}/status")).json()
    assert iso_time(after["updated_at"]) == iso_time(updated["updated_at"])
    assert iso_time(after["last_activity"]) > iso_time(status["last_activity"])
    newest = (await owner.get(f"{PROJECTS}/{project['id']}/events", params={"limit": 1})).json()
    assert iso_time(after["last_activity"]) == iso_time(newest["data"][0]["created_at"])


async def test_events_are_paginated_newest_first(owner: AsyncClient) -> None:
    project = await create(owner, "v0")
    for i in range(1, 4):
        response = await owner.put(f"{PROJECTS}/{project['id']}", json={"name": f"v{i}"})
        assert response.status_code == 200
    url = f"{PROJECTS}/{project['id']}/events"
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = (await owner.get(url, params=params)).json()
        assert body["pagination"]["total"] == 4
        events.extend(body["data"])
        cursor = body["pagination"]["next_cursor"]
        if not body["pagination"]["has_more"]:
            assert cursor is None
            break
    assert [e["type"] for e in events] == ["project.updated"] * 3 + ["project.created"]
    assert len({e["id"] for e in events}) == 4
    stamps = [iso_time(e["created_at"]) for e in events]
    assert stamps == sorted(stamps, reverse=True)
    assert all(e["project_id"] == project["id"] for e in events)
    assert_error(await owner.get(url, params={"cursor": "bogus"}), 400, "BAD_REQUEST")
