"""Tenancy: one user's ids are invisible to another, whatever credential the other uses."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers import API, SignedIn, SignedInFactory, assert_error


@pytest.fixture
async def alice(signed_in: SignedInFactory) -> SignedIn:
    return await signed_in()


@pytest.fixture
async def bob(signed_in: SignedInFactory) -> SignedIn:
    return await signed_in()


async def alices_ids(alice: SignedIn) -> dict[str, str]:
    """Alice's project, API key, browser session and bearer token ids, as she sees them."""
    project = await alice.browser.post(
        f"{API}/projects", json={"name": "Alice's secret", "description": "hands off"}
    )
    assert project.status_code == 201, project.text
    keys = (await alice.browser.get(f"{API}/api-keys")).json()["data"]
    assert len(keys) == 1
    sessions = (await alice.browser.get(f"{API}/auth/sessions")).json()["data"]
    by_kind = {s["kind"]: s["id"] for s in sessions}
    assert set(by_kind) == {"browser", "token"}, sessions
    return {
        "project": project.json()["id"],
        "user": str(alice.user["id"]),
        "api_key": keys[0]["id"],
        "session": by_kind["browser"],
        "token": by_kind["token"],
    }


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_a_second_user_gets_404_on_every_id_route(
    alice: SignedIn, bob: SignedIn, method: str
) -> None:
    ids = await alices_ids(alice)
    before = (await alice.browser.get(f"{API}/projects/{ids['project']}")).json()
    intruder = bob.clients()[method]
    project = f"{API}/projects/{ids['project']}"
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", project, None),
        ("PUT", project, {"name": "Bob's now"}),
        ("DELETE", project, None),
        ("GET", f"{project}/status", None),
        ("GET", f"{project}/events", None),
        ("GET", f"{project}/members", None),
        ("POST", f"{project}/members", {"email": bob.email, "role": "owner"}),
        ("PATCH", f"{project}/members/{ids['user']}", {"role": "viewer"}),
        ("DELETE", f"{project}/members/{ids['user']}", None),
        ("DELETE", f"{API}/api-keys/{ids['api_key']}", None),
        ("DELETE", f"{API}/auth/sessions/{ids['session']}", None),
        ("DELETE", f"{API}/auth/sessions/{ids['token']}", None),
    ]
    for verb, url, body in attempts:
        response = await intruder.request(verb, url, json=body)
        assert_error(response, 404, "RESOURCE_NOT_FOUND")

    # The answer for Alice's project is the answer for a project that does not exist.
    hidden = assert_error(await intruder.get(project), 404, "RESOURCE_NOT_FOUND")
    missing = assert_error(
        await intruder.get(f"{API}/projects/{uuid.uuid4()}"), 404, "RESOURCE_NOT_FOUND"
    )
    assert hidden == missing
    listed = (await intruder.get(f"{API}/projects")).json()["data"]
    assert ids["project"] not in {p["id"] for p in listed}

    # Alice still has everything, untouched.
    after = await alice.browser.get(project)
    assert after.status_code == 200
    assert after.json() == before
    assert after.json()["member_count"] == 1
    members = (await alice.browser.get(f"{project}/members")).json()["data"]
    assert [(m["user_id"], m["role"]) for m in members] == [(ids["user"], "owner")]
    events = (await alice.browser.get(f"{project}/events")).json()["data"]
    assert [e["type"] for e in events] == ["project.created"]
    keys = (await alice.browser.get(f"{API}/api-keys")).json()["data"]
    assert [k["id"] for k in keys] == [ids["api_key"]]
    me_by_key = await alice.api.get(f"{API}/auth/me")
    assert me_by_key.status_code == 200
    assert me_by_key.json()["id"] == ids["user"]
    me_by_token = await alice.cli.get(f"{API}/auth/me")
    assert me_by_token.status_code == 200
    assert me_by_token.json()["id"] == ids["user"]
    sessions = (await alice.browser.get(f"{API}/auth/sessions")).json()["data"]
    assert {ids["session"], ids["token"]} <= {s["id"] for s in sessions}


async def test_the_second_users_own_things_are_unaffected_by_the_first(
    alice: SignedIn, bob: SignedIn
) -> None:
    """Sanity check of the fixture: each user sees exactly their own projects and keys."""
    ids = await alices_ids(alice)
    bobs = (await bob.api.get(f"{API}/projects")).json()
    assert [p["is_personal"] for p in bobs["data"]] == [True]
    assert bobs["pagination"]["total"] == 1
    bob_keys = (await bob.cli.get(f"{API}/api-keys")).json()["data"]
    assert len(bob_keys) == 1
    assert bob_keys[0]["id"] != ids["api_key"]
    bob_sessions = (await bob.browser.get(f"{API}/auth/sessions")).json()["data"]
    assert not {ids["session"], ids["token"]} & {s["id"] for s in bob_sessions}
