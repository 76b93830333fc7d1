"""Project environment variables: upsert, bulk upsert, list (secrets masked), delete, and the
unmasked values for deployments, through HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.env_vars.conftest import PROJECTS, Owner
from tests.helpers import assert_error

SECRET = "sk-live-4f9a0c7e1d2b"


def field_names(error: dict[str, Any]) -> list[str]:
    return [f["field"] for f in error["details"]["fields"]]


async def event_log(client: AsyncClient, project_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{PROJECTS}/{project_id}/events", params={"limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def test_a_new_variable_is_201_and_a_secret_is_never_shown_back(owner: Owner) -> None:
    response = await owner.person.browser.post(
        owner.url, json={"key": "STRIPE_KEY", "value": SECRET, "is_secret": True}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["key"] == "STRIPE_KEY"
    assert body["value"] is None and body["is_secret"] is True
    assert body["project_id"] == owner.project_id
    assert body["created_at"] == body["updated_at"]
    assert SECRET not in response.text

    for client in owner.person.clients().values():
        listing = await client.get(owner.url)
        assert listing.status_code == 200, listing.text
        assert SECRET not in listing.text and SECRET[-4:] not in listing.text
        [listed] = listing.json()["data"]
        assert listed["value"] is None and listed["is_secret"] is True


async def test_plain_values_are_listed_in_clear(owner: Owner) -> None:
    created = await owner.set("LOG_LEVEL", "debug", is_secret=False)
    assert created["value"] == "debug" and created["is_secret"] is False
    assert (await owner.listed())["LOG_LEVEL"]["value"] == "debug"


async def test_is_secret_defaults_to_true_for_a_new_variable(owner: Owner) -> None:
    created = await owner.set("TOKEN", "t0ps3cret")
    assert created["is_secret"] is True and created["value"] is None
    assert await owner.values() == {"TOKEN": "t0ps3cret"}


async def test_setting_an_existing_key_replaces_its_value_with_200(owner: Owner) -> None:
    first = await owner.set("REGION", "eu-west-1", is_secret=False)
    response = await owner.person.browser.post(
        owner.url, json={"key": "REGION", "value": "us-east-2"}
    )
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["id"] == first["id"]
    assert second["value"] == "us-east-2"
    assert second["is_secret"] is False, "an omitted is_secret keeps the current setting"
    assert second["created_at"] == first["created_at"]
    assert second["updated_at"] > first["updated_at"]
    assert list(await owner.listed()) == ["REGION"]
    assert await owner.values() == {"REGION": "us-east-2"}


async def test_a_secret_can_be_made_plain_only_together_with_a_new_value(owner: Owner) -> None:
    await owner.set("API_URL", SECRET, is_secret=True)
    updated = await owner.set("API_URL", "https://api.example.com", is_secret=False)
    assert updated["value"] == "https://api.example.com"
    assert SECRET not in str(await owner.listed())


async def test_keys_are_case_sensitive(owner: Owner) -> None:
    await owner.set("path", "lower", is_secret=False)
    await owner.set("PATH", "upper", is_secret=False)
    assert await owner.values() == {"PATH": "upper", "path": "lower"}


async def test_empty_and_unicode_values_round_trip(owner: Owner) -> None:
    await owner.set("EMPTY", "")
    await owner.set("GREETING", "grüße 🚀\nline two")
    assert await owner.values() == {"EMPTY": "", "GREETING": "grüße 🚀\nline two"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "1ST", "value": "x"}, "key"),
        ({"key": "MY-VAR", "value": "x"}, "key"),
        ({"key": "MY VAR", "value": "x"}, "key"),
        ({"key": "ÄPFEL", "value": "x"}, "key"),
        ({"key": "", "value": "x"}, "key"),
        ({"key": "K" * 257, "value": "x"}, "key"),
        ({"key": "OK", "value": "x" * (64 * 1024 + 1)}, "value"),
        ({"key": "OK", "value": "é" * (32 * 1024 + 1)}, "value"),  # 64 KiB + 2 bytes
        ({"key": "OK", "value": "a\x00b"}, "value"),
        ({"key": "OK", "value": 12}, "value"),
        ({"key": "OK"}, "value"),
        ({"value": "x"}, "key"),
        ({"key": "OK", "value": "x", "is_secret": "maybe"}, "is_secret"),
        ({"key": "OK", "value": "x", "secret": True}, "secret"),
    ],
)
async def test_invalid_variables_are_refused_naming_the_field(
    owner: Owner, body: dict[str, Any], field: str
) -> None:
    await owner.set("KEEP", "kept")
    response = await owner.person.browser.post(owner.url, json=body)
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert field in field_names(error)
    assert await owner.values() == {"KEEP": "kept"}


async def test_the_longest_key_and_largest_value_are_accepted(owner: Owner) -> None:
    key, value = "K" * 256, "v" * (64 * 1024)
    response = await owner.person.browser.post(owner.url, json={"key": key, "value": value})
    assert response.status_code == 201, response.text
    assert await owner.values() == {key: value}


async def test_bulk_set_creates_and_updates_in_one_call(owner: Owner) -> None:
    await owner.set("A_ONE", "old")
    response = await owner.person.api.put(
        owner.url,
        json={
            "variables": [
                {"key": "A_ONE", "value": "new"},
                {"key": "B_TWO", "value": "two", "is_secret": False},
                {"key": "C_THREE", "value": "three", "is_secret": True},
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "count": 3}
    assert await owner.values() == {"A_ONE": "new", "B_TWO": "two", "C_THREE": "three"}
    listed = await owner.listed()
    assert listed["B_TWO"]["value"] == "two"
    assert listed["A_ONE"]["value"] is None and listed["C_THREE"]["value"] is None


async def test_bulk_set_leaves_variables_it_does_not_name(owner: Owner) -> None:
    await owner.set("UNTOUCHED", "same")
    response = await owner.person.cli.put(
        owner.url, json={"variables": [{"key": "OTHER", "value": "x"}]}
    )
    assert response.status_code == 200, response.text
    assert await owner.values() == {"OTHER": "x", "UNTOUCHED": "same"}


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ([{"key": "GOOD", "value": "new"}, {"key": "bad-key", "value": "x"}], "variables.1.key"),
        (
            [{"key": "GOOD", "value": "new"}, {"key": "BIG", "value": "x" * 70_000}],
            "variables.1.value",
        ),
        ([{"key": "GOOD", "value": "new"}, {"key": "GOOD", "value": "again"}], "variables"),
        ([{"key": "GOOD", "value": "new"}, {"value": "no key"}], "variables.1.key"),
        ([], "variables"),
        ([{"key": f"K{i}", "value": "x"} for i in range(501)], "variables"),
    ],
)
async def test_bulk_set_is_all_or_nothing(
    owner: Owner, variables: list[dict[str, Any]], field: str
) -> None:
    await owner.set("GOOD", "old")
    response = await owner.person.browser.put(owner.url, json={"variables": variables})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert field in field_names(error), error
    assert await owner.values() == {"GOOD": "old"}


async def test_bulk_set_names_the_duplicate_key(owner: Owner) -> None:
    response = await owner.person.browser.put(
        owner.url,
        json={"variables": [{"key": "DUP", "value": "1"}, {"key": "DUP", "value": "2"}]},
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert "DUP" in error["details"]["fields"][0]["message"]
    assert await owner.listed() == {}


async def test_bulk_body_must_be_an_object_with_variables(owner: Owner) -> None:
    bodies: list[Any] = [[{"key": "A", "value": "b"}], {"vars": []}, {"variables": "A=b"}]
    for body in bodies:
        response = await owner.person.browser.put(owner.url, json=body)
        assert_error(response, 422, "VALIDATION_ERROR")
    malformed = await owner.person.browser.put(
        owner.url, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(malformed, 400, "BAD_REQUEST")
    assert await owner.listed() == {}


async def test_a_project_holds_at_most_1000_variables(owner: Owner) -> None:
    for start in (0, 500):
        response = await owner.person.browser.put(
            owner.url,
            json={
                "variables": [{"key": f"V{i:04d}", "value": "x"} for i in range(start, start + 500)]
            },
        )
        assert response.status_code == 200, response.text
    refused = await owner.person.browser.post(owner.url, json={"key": "ONE_MORE", "value": "x"})
    error = assert_error(refused, 409, "CONFLICT")
    assert error["details"] == {"limit": 1000, "current": 1000}
    updated = await owner.person.browser.post(owner.url, json={"key": "V0000", "value": "y"})
    assert updated.status_code == 200, "updating an existing key is still allowed"
    listing = await owner.person.browser.get(owner.url)
    assert listing.json()["pagination"]["total"] == 1000


async def test_delete_removes_the_variable_then_404(owner: Owner) -> None:
    await owner.set("GONE", "soon")
    await owner.set("STAYS", "here")
    response = await owner.person.browser.delete(f"{owner.url}/GONE")
    assert response.status_code == 204 and response.content == b""
    assert await owner.values() == {"STAYS": "here"}
    again = await owner.person.browser.delete(f"{owner.url}/GONE")
    assert_error(again, 404, "RESOURCE_NOT_FOUND")
    for missing in ("NEVER_SET", "stays", "bad-key", "NUL%00KEY", "K" * 300):
        response = await owner.person.api.delete(f"{owner.url}/{missing}")
        assert_error(response, 404, "RESOURCE_NOT_FOUND")
    assert await owner.values() == {"STAYS": "here"}


async def test_list_is_paged_by_key(owner: Owner) -> None:
    keys = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO"]
    await owner.person.browser.put(
        owner.url, json={"variables": [{"key": k, "value": k.lower()} for k in reversed(keys)]}
    )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await owner.person.browser.get(owner.url, params=params)).json()
        assert page["pagination"]["total"] == 5
        seen += [v["key"] for v in page["data"]]
        cursor = page["pagination"]["next_cursor"]
        assert page["pagination"]["has_more"] is (cursor is not None)
        if cursor is None:
            break
    assert seen == keys
    bad = await owner.person.browser.get(owner.url, params={"cursor": "forged"})
    assert_error(bad, 400, "BAD_REQUEST")


async def test_changes_are_recorded_as_events_without_values(owner: Owner) -> None:
    await owner.set("DB_PASSWORD", SECRET)
    await owner.person.browser.put(
        owner.url,
        json={
            "variables": [
                {"key": "DB_PASSWORD", "value": SECRET + "2"},
                {"key": "HOST", "value": "h"},
            ]
        },
    )
    await owner.person.browser.delete(f"{owner.url}/HOST")
    await owner.values()
    events = await event_log(owner.person.browser, owner.project_id)
    assert SECRET not in str(events)
    mine = [(e["type"], e["data"]) for e in reversed(events) if e["type"].startswith("env_vars.")]
    assert mine == [
        ("env_vars.set", {"created": ["DB_PASSWORD"], "updated": []}),
        ("env_vars.set", {"created": ["HOST"], "updated": ["DB_PASSWORD"]}),
        ("env_vars.deleted", {"keys": ["HOST"]}),
        ("env_vars.values_read", {"count": 1}),
    ]
    assert all(
        e["actor_id"] == owner.person.user["id"]
        for e in events
        if e["type"].startswith("env_vars.")
    )
