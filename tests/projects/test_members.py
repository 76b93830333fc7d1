"""Project members and roles: who may read, write, share, leave; the last owner stays."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import event

from orbiter.runtime.resources import Resources
from tests.helpers import assert_error, browser_for, new_project, unique_email

PROJECTS = "/api/v1/projects"
INVITATIONS = "/api/v1/invitations"


@dataclass
class Person:
    client: AsyncClient
    user: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.user["id"])

    @property
    def email(self) -> str:
        return str(self.user["email"])


PersonFactory = Callable[[], Awaitable[Person]]


@pytest.fixture
async def person(app: FastAPI) -> AsyncIterator[PersonFactory]:
    """Registers and signs in a new user (cookie client with its CSRF header) per call."""
    opened: list[AsyncClient] = []

    async def make() -> Person:
        client, user = await browser_for(app)
        opened.append(client)
        return Person(client, user)

    try:
        yield make
    finally:
        for client in opened:
            await client.aclose()


async def shared_project(owner: Person) -> str:
    return await new_project(owner.client, "Shared", description="before")


async def invite(owner: Person, project_id: str, email: str, role: str) -> dict[str, Any]:
    response = await owner.client.post(
        f"{PROJECTS}/{project_id}/members", json={"email": email, "role": role}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def accept(member: Person, invitation_id: str) -> dict[str, Any]:
    response = await member.client.post(f"{INVITATIONS}/{invitation_id}/accept")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def add(owner: Person, project_id: str, member: Person, role: str) -> dict[str, Any]:
    """Invite the member's email; the member accepts. Returns the project as they see it."""
    invitation = await invite(owner, project_id, member.email, role)
    return await accept(member, invitation["id"])


async def pending(client: AsyncClient, project_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{PROJECTS}/{project_id}/invitations")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def roles(client: AsyncClient, project_id: str) -> dict[str, str]:
    response = await client.get(f"{PROJECTS}/{project_id}/members")
    assert response.status_code == 200, response.text
    return {m["user_id"]: m["role"] for m in response.json()["data"]}


async def event_types(client: AsyncClient, project_id: str) -> list[str]:
    response = await client.get(f"{PROJECTS}/{project_id}/events", params={"limit": 100})
    assert response.status_code == 200, response.text
    return [e["type"] for e in response.json()["data"]]


async def test_an_invited_member_joins_when_they_accept_and_sees_the_project_with_their_role(
    person: PersonFactory,
) -> None:
    owner, member = await person(), await person()
    project_id = await shared_project(owner)

    invited = await owner.client.post(
        f"{PROJECTS}/{project_id}/members", json={"email": member.email, "role": "editor"}
    )
    assert invited.status_code == 201
    invitation = invited.json()
    assert set(invitation) == {
        "id",
        "project_id",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
    }
    assert (invitation["project_id"], invitation["email"], invitation["role"]) == (
        project_id,
        member.email,
        "editor",
    )
    assert invitation["invited_by"] == owner.id
    # Pending: not a member yet, the project stays invisible to them.
    assert await roles(owner.client, project_id) == {owner.id: "owner"}
    assert [i["id"] for i in await pending(owner.client, project_id)] == [invitation["id"]]
    assert_error(await member.client.get(f"{PROJECTS}/{project_id}"), 404, "RESOURCE_NOT_FOUND")

    received = (await member.client.get(INVITATIONS)).json()
    assert received["pagination"]["total"] == 1
    [mine] = received["data"]
    assert mine["id"] == invitation["id"] and mine["project_name"] == "Shared"
    assert mine["invited_by_email"] == owner.email and mine["role"] == "editor"

    joined = await accept(member, invitation["id"])
    assert (joined["id"], joined["role"], joined["is_personal"]) == (project_id, "editor", False)
    assert await pending(owner.client, project_id) == []
    assert (await member.client.get(INVITATIONS)).json()["data"] == []
    assert_error(
        await member.client.post(f"{INVITATIONS}/{invitation['id']}/accept"),
        404,
        "RESOURCE_NOT_FOUND",
    )

    listing = (await member.client.get(PROJECTS)).json()["data"]
    shared = [p for p in listing if p["id"] == project_id]
    assert len(shared) == 1
    assert shared[0]["role"] == "editor"
    assert (await member.client.get(PROJECTS)).json()["pagination"]["total"] == 2

    detail = await member.client.get(f"{PROJECTS}/{project_id}")
    assert detail.status_code == 200
    assert detail.json()["role"] == "editor"
    assert detail.json()["member_count"] == 2
    assert await roles(member.client, project_id) == {owner.id: "owner", member.id: "editor"}


@pytest.mark.parametrize("variant", [str.upper, lambda e: e.replace("@", "\uff20")])
async def test_the_invited_email_is_matched_case_and_width_insensitively(
    person: PersonFactory, variant: Callable[[str], str]
) -> None:
    owner, member = await person(), await person()
    project_id = await shared_project(owner)
    invitation = await invite(owner, project_id, variant(member.email), "viewer")
    assert invitation["email"] == member.email
    assert (await accept(member, invitation["id"]))["role"] == "viewer"
    assert await roles(owner.client, project_id) == {owner.id: "owner", member.id: "viewer"}


async def test_viewer_can_read_but_not_write(person: PersonFactory) -> None:
    owner, viewer = await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, viewer, "viewer")

    for path in ("", "/status", "/events", "/members"):
        assert (await viewer.client.get(f"{PROJECTS}/{project_id}{path}")).status_code == 200, path

    assert_error(
        await viewer.client.put(f"{PROJECTS}/{project_id}", json={"name": "hijacked"}),
        403,
        "FORBIDDEN",
    )
    assert_error(await viewer.client.delete(f"{PROJECTS}/{project_id}"), 403, "FORBIDDEN")
    stranger = await person()
    assert_error(
        await viewer.client.post(
            f"{PROJECTS}/{project_id}/members", json={"email": stranger.email, "role": "owner"}
        ),
        403,
        "FORBIDDEN",
    )
    assert_error(
        await viewer.client.patch(
            f"{PROJECTS}/{project_id}/members/{viewer.id}", json={"role": "owner"}
        ),
        403,
        "FORBIDDEN",
    )

    detail = (await owner.client.get(f"{PROJECTS}/{project_id}")).json()
    assert (detail["name"], detail["description"]) == ("Shared", "before")
    assert await roles(owner.client, project_id) == {owner.id: "owner", viewer.id: "viewer"}
    assert "project.updated" not in await event_types(owner.client, project_id)


async def test_editor_can_update_but_not_share_or_delete(person: PersonFactory) -> None:
    owner, editor, stranger = await person(), await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, editor, "editor")

    updated = await editor.client.put(f"{PROJECTS}/{project_id}", json={"name": "Edited"})
    assert updated.status_code == 200
    assert updated.json()["name"] == "Edited"
    assert updated.json()["role"] == "editor"
    assert (await owner.client.get(f"{PROJECTS}/{project_id}")).json()["name"] == "Edited"

    assert_error(
        await editor.client.post(
            f"{PROJECTS}/{project_id}/members", json={"email": stranger.email, "role": "viewer"}
        ),
        403,
        "FORBIDDEN",
    )
    assert_error(
        await editor.client.patch(
            f"{PROJECTS}/{project_id}/members/{editor.id}", json={"role": "owner"}
        ),
        403,
        "FORBIDDEN",
    )
    assert_error(await editor.client.delete(f"{PROJECTS}/{project_id}"), 403, "FORBIDDEN")

    assert (await owner.client.get(f"{PROJECTS}/{project_id}")).status_code == 200
    assert await roles(owner.client, project_id) == {owner.id: "owner", editor.id: "editor"}
    assert_error(await stranger.client.get(f"{PROJECTS}/{project_id}"), 404, "RESOURCE_NOT_FOUND")


async def test_inviting_an_unknown_email_answers_exactly_like_inviting_an_account(
    app: FastAPI, person: PersonFactory
) -> None:
    """Nothing the owner sees tells whether the email has an account, until it accepts."""
    owner, existing = await person(), await person()
    project_id = await shared_project(owner)
    unknown = unique_email("nobody")
    answers = [
        await invite(owner, project_id, email, "viewer") for email in (existing.email, unknown)
    ]

    def shape(invitation: dict[str, Any]) -> dict[str, Any]:
        return {
            k: v
            for k, v in invitation.items()
            if k not in {"id", "email", "created_at", "expires_at"}
        }

    assert shape(answers[0]) == shape(answers[1])
    listed = await pending(owner.client, project_id)
    assert [i["email"] for i in listed] == [existing.email, unknown]
    assert shape(listed[0]) == shape(listed[1])
    events = (await owner.client.get(f"{PROJECTS}/{project_id}/events")).json()["data"]
    invited = [e for e in events if e["type"] == "member.invited"]
    assert [sorted(e["data"]) for e in invited] == [["email", "invitation_id", "role"]] * 2
    assert await roles(owner.client, project_id) == {owner.id: "owner"}

    # Whoever registers the unknown email later finds the invitation and may accept it.
    newcomer, user = await browser_for(app, unknown)
    [received] = (await newcomer.get(INVITATIONS)).json()["data"]
    assert received["id"] == answers[1]["id"]
    assert (await newcomer.post(f"{INVITATIONS}/{received['id']}/accept")).status_code == 200
    assert await roles(owner.client, project_id) == {owner.id: "owner", user["id"]: "viewer"}
    await newcomer.aclose()


async def test_only_the_invited_email_can_accept(person: PersonFactory) -> None:
    owner, member, other = await person(), await person(), await person()
    project_id = await shared_project(owner)
    invitation = await invite(owner, project_id, member.email, "owner")
    for someone in (other, owner):
        assert_error(
            await someone.client.post(f"{INVITATIONS}/{invitation['id']}/accept"),
            404,
            "RESOURCE_NOT_FOUND",
        )
    assert (await other.client.get(INVITATIONS)).json()["data"] == []
    assert_error(
        await other.client.get(f"{PROJECTS}/{project_id}/invitations"), 404, "RESOURCE_NOT_FOUND"
    )
    assert await roles(owner.client, project_id) == {owner.id: "owner"}
    assert (await accept(member, invitation["id"]))["role"] == "owner"


async def test_an_owner_withdraws_an_invitation(person: PersonFactory) -> None:
    owner, member = await person(), await person()
    project_id = await shared_project(owner)
    invitation = await invite(owner, project_id, member.email, "editor")
    viewer = await person()
    await add(owner, project_id, viewer, "viewer")
    url = f"{PROJECTS}/{project_id}/invitations/{invitation['id']}"
    assert_error(await viewer.client.delete(url), 403, "FORBIDDEN")
    assert (await owner.client.delete(url)).status_code == 204
    assert_error(await owner.client.delete(url), 404, "RESOURCE_NOT_FOUND")
    assert await pending(owner.client, project_id) == []
    assert_error(
        await member.client.post(f"{INVITATIONS}/{invitation['id']}/accept"),
        404,
        "RESOURCE_NOT_FOUND",
    )
    assert "member.invitation_revoked" in await event_types(owner.client, project_id)


async def test_an_invitation_lapses_and_the_email_can_be_invited_again(
    person: PersonFactory, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, member = await person(), await person()
    project_id = await shared_project(owner)
    monkeypatch.setattr(resources.settings, "invitation_days", 0)  # lapses at once
    lapsed = await invite(owner, project_id, member.email, "viewer")
    assert await pending(owner.client, project_id) == []
    assert (await member.client.get(INVITATIONS)).json()["data"] == []
    assert_error(
        await member.client.post(f"{INVITATIONS}/{lapsed['id']}/accept"), 404, "RESOURCE_NOT_FOUND"
    )
    monkeypatch.setattr(resources.settings, "invitation_days", 14)
    again = await invite(owner, project_id, member.email, "editor")
    assert (await accept(member, again["id"]))["role"] == "editor"


async def test_inviting_a_member_or_an_invited_email_again_is_409_and_keeps_their_role(
    person: PersonFactory,
) -> None:
    owner, member, invitee = await person(), await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, member, "viewer")
    await invite(owner, project_id, invitee.email, "viewer")
    assert_error(
        await owner.client.post(
            f"{PROJECTS}/{project_id}/members", json={"email": invitee.email, "role": "owner"}
        ),
        409,
        "CONFLICT",
    )
    assert [i["role"] for i in await pending(owner.client, project_id)] == ["viewer"]
    assert_error(
        await owner.client.post(
            f"{PROJECTS}/{project_id}/members", json={"email": member.email, "role": "owner"}
        ),
        409,
        "CONFLICT",
    )
    assert_error(
        await owner.client.post(
            f"{PROJECTS}/{project_id}/members", json={"email": owner.email, "role": "viewer"}
        ),
        409,
        "CONFLICT",
    )
    assert await roles(owner.client, project_id) == {owner.id: "owner", member.id: "viewer"}


@pytest.mark.parametrize(
    "body",
    [
        {"role": "admin"},
        {"role": "OWNER"},
        {},
        {"role": None},
    ],
    ids=["unknown-role", "wrong-case", "missing", "null"],
)
async def test_invalid_role_is_422_on_add_and_on_change(
    person: PersonFactory, body: dict[str, Any]
) -> None:
    owner, member, other = await person(), await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, member, "viewer")

    error = assert_error(
        await owner.client.post(
            f"{PROJECTS}/{project_id}/members", json={"email": other.email, **body}
        ),
        422,
        "VALIDATION_ERROR",
    )
    assert "role" in {f["field"] for f in error["details"]["fields"]}
    error = assert_error(
        await owner.client.patch(f"{PROJECTS}/{project_id}/members/{member.id}", json=body),
        422,
        "VALIDATION_ERROR",
    )
    assert "role" in {f["field"] for f in error["details"]["fields"]}
    assert await roles(owner.client, project_id) == {owner.id: "owner", member.id: "viewer"}


async def test_invalid_member_bodies_are_422(person: PersonFactory) -> None:
    owner = await person()
    project_id = await shared_project(owner)
    for body in ({"email": "not-an-email", "role": "viewer"}, {"role": "viewer"}):
        error = assert_error(
            await owner.client.post(f"{PROJECTS}/{project_id}/members", json=body),
            422,
            "VALIDATION_ERROR",
        )
        assert "email" in {f["field"] for f in error["details"]["fields"]}
    assert await roles(owner.client, project_id) == {owner.id: "owner"}


async def test_owner_changes_a_members_role(person: PersonFactory) -> None:
    owner, member = await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, member, "viewer")

    response = await owner.client.patch(
        f"{PROJECTS}/{project_id}/members/{member.id}", json={"role": "editor"}
    )
    assert response.status_code == 200
    assert response.json()["user_id"] == member.id
    assert response.json()["role"] == "editor"
    assert await roles(owner.client, project_id) == {owner.id: "owner", member.id: "editor"}
    # The new role takes effect: the member may now write.
    assert (
        await member.client.put(f"{PROJECTS}/{project_id}", json={"name": "by editor"})
    ).status_code == 200


async def test_changing_the_role_of_a_non_member_is_404(person: PersonFactory) -> None:
    owner, outsider = await person(), await person()
    project_id = await shared_project(owner)
    for user_id in (outsider.id, str(uuid.uuid4())):
        assert_error(
            await owner.client.patch(
                f"{PROJECTS}/{project_id}/members/{user_id}", json={"role": "editor"}
            ),
            404,
            "RESOURCE_NOT_FOUND",
        )
        assert_error(
            await owner.client.delete(f"{PROJECTS}/{project_id}/members/{user_id}"),
            404,
            "RESOURCE_NOT_FOUND",
        )
    assert_error(await outsider.client.get(f"{PROJECTS}/{project_id}"), 404, "RESOURCE_NOT_FOUND")


async def test_the_last_owner_can_neither_be_demoted_nor_leave(person: PersonFactory) -> None:
    owner, editor = await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, editor, "editor")

    for role in ("editor", "viewer"):
        assert_error(
            await owner.client.patch(
                f"{PROJECTS}/{project_id}/members/{owner.id}", json={"role": role}
            ),
            409,
            "CONFLICT",
        )
    assert_error(
        await owner.client.delete(f"{PROJECTS}/{project_id}/members/{owner.id}"), 409, "CONFLICT"
    )
    assert await roles(owner.client, project_id) == {owner.id: "owner", editor.id: "editor"}

    # Keeping the owner role is a no-op, not a conflict.
    same = await owner.client.patch(
        f"{PROJECTS}/{project_id}/members/{owner.id}", json={"role": "owner"}
    )
    assert same.status_code == 200
    assert same.json()["role"] == "owner"


async def test_after_promoting_someone_else_the_old_owner_can_step_down_and_leave(
    person: PersonFactory,
) -> None:
    owner, heir = await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, heir, "editor")
    promoted = await owner.client.patch(
        f"{PROJECTS}/{project_id}/members/{heir.id}", json={"role": "owner"}
    )
    assert promoted.status_code == 200

    demoted = await owner.client.patch(
        f"{PROJECTS}/{project_id}/members/{owner.id}", json={"role": "viewer"}
    )
    assert demoted.status_code == 200
    assert demoted.json()["role"] == "viewer"
    # Now the heir is the last owner and is protected in turn.
    assert_error(
        await heir.client.patch(
            f"{PROJECTS}/{project_id}/members/{heir.id}", json={"role": "editor"}
        ),
        409,
        "CONFLICT",
    )

    left = await owner.client.delete(f"{PROJECTS}/{project_id}/members/{owner.id}")
    assert left.status_code == 204
    assert_error(await owner.client.get(f"{PROJECTS}/{project_id}"), 404, "RESOURCE_NOT_FOUND")
    assert project_id not in {p["id"] for p in (await owner.client.get(PROJECTS)).json()["data"]}
    assert await roles(heir.client, project_id) == {heir.id: "owner"}


async def test_an_owner_may_leave_when_another_owner_remains(person: PersonFactory) -> None:
    first, second = await person(), await person()
    project_id = await shared_project(first)
    await add(first, project_id, second, "owner")
    assert (
        await first.client.delete(f"{PROJECTS}/{project_id}/members/{first.id}")
    ).status_code == 204
    assert await roles(second.client, project_id) == {second.id: "owner"}


async def test_a_non_owner_may_leave_but_not_remove_others(person: PersonFactory) -> None:
    owner, editor, viewer = await person(), await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, editor, "editor")
    await add(owner, project_id, viewer, "viewer")

    assert_error(
        await editor.client.delete(f"{PROJECTS}/{project_id}/members/{viewer.id}"),
        403,
        "FORBIDDEN",
    )
    assert_error(
        await viewer.client.delete(f"{PROJECTS}/{project_id}/members/{owner.id}"),
        403,
        "FORBIDDEN",
    )
    assert await roles(owner.client, project_id) == {
        owner.id: "owner",
        editor.id: "editor",
        viewer.id: "viewer",
    }

    assert (
        await viewer.client.delete(f"{PROJECTS}/{project_id}/members/{viewer.id}")
    ).status_code == 204
    assert_error(await viewer.client.get(f"{PROJECTS}/{project_id}"), 404, "RESOURCE_NOT_FOUND")
    assert await roles(owner.client, project_id) == {owner.id: "owner", editor.id: "editor"}


async def test_owner_removes_a_member_who_then_loses_access(person: PersonFactory) -> None:
    owner, member = await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, member, "editor")
    assert (
        await owner.client.delete(f"{PROJECTS}/{project_id}/members/{member.id}")
    ).status_code == 204
    assert_error(await member.client.get(f"{PROJECTS}/{project_id}"), 404, "RESOURCE_NOT_FOUND")
    assert_error(
        await member.client.put(f"{PROJECTS}/{project_id}", json={"name": "late"}),
        404,
        "RESOURCE_NOT_FOUND",
    )
    assert (await owner.client.get(f"{PROJECTS}/{project_id}")).json()["member_count"] == 1


async def test_a_non_member_gets_404_everywhere_and_changes_nothing(person: PersonFactory) -> None:
    owner, member, outsider = await person(), await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, member, "viewer")
    base = f"{PROJECTS}/{project_id}"
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", base, None),
        ("GET", f"{base}/status", None),
        ("GET", f"{base}/events", None),
        ("GET", f"{base}/members", None),
        ("PUT", base, {"name": "mine now"}),
        ("DELETE", base, None),
        ("POST", f"{base}/members", {"email": outsider.email, "role": "owner"}),
        ("PATCH", f"{base}/members/{member.id}", {"role": "owner"}),
        ("DELETE", f"{base}/members/{member.id}", None),
        ("DELETE", f"{base}/members/{outsider.id}", None),
    ]
    for method, url, body in attempts:
        response = await outsider.client.request(method, url, json=body)
        error = assert_error(response, 404, "RESOURCE_NOT_FOUND")
        # Same answer as for a project that does not exist at all.
        assert error["message"] == "Project not found", (method, url, error)

    nonexistent = assert_error(
        await outsider.client.get(f"{PROJECTS}/{uuid.uuid4()}"), 404, "RESOURCE_NOT_FOUND"
    )
    hidden = assert_error(await outsider.client.get(base), 404, "RESOURCE_NOT_FOUND")
    assert hidden == nonexistent

    detail = (await owner.client.get(base)).json()
    assert (detail["name"], detail["description"], detail["member_count"]) == (
        "Shared",
        "before",
        2,
    )
    assert await roles(owner.client, project_id) == {owner.id: "owner", member.id: "viewer"}
    assert project_id not in {p["id"] for p in (await outsider.client.get(PROJECTS)).json()["data"]}


async def test_membership_changes_are_recorded_as_events(person: PersonFactory) -> None:
    owner, member = await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, member, "viewer")
    await owner.client.patch(
        f"{PROJECTS}/{project_id}/members/{member.id}", json={"role": "editor"}
    )
    # An unchanged role records nothing.
    await owner.client.patch(
        f"{PROJECTS}/{project_id}/members/{member.id}", json={"role": "editor"}
    )
    await owner.client.delete(f"{PROJECTS}/{project_id}/members/{member.id}")

    response = await owner.client.get(f"{PROJECTS}/{project_id}/events")
    events = response.json()["data"]
    assert [e["type"] for e in events] == [
        "member.removed",
        "member.role_changed",
        "member.added",
        "member.invited",
        "project.created",
    ]
    removed, changed, added, invited = events[0], events[1], events[2], events[3]
    assert [e["actor_id"] for e in events] == [owner.id, owner.id, member.id, owner.id, owner.id]
    assert invited["data"] == {
        "invitation_id": invited["data"]["invitation_id"],
        "email": member.email,
        "role": "viewer",
    }
    assert added["data"] == {
        "user_id": member.id,
        "role": "viewer",
        "invitation_id": invited["data"]["invitation_id"],
    }
    assert changed["data"] == {"user_id": member.id, "from": "viewer", "to": "editor"}
    assert removed["data"] == {"user_id": member.id}

    detail = (await owner.client.get(f"{PROJECTS}/{project_id}")).json()
    assert [e["type"] for e in detail["events"]] == [e["type"] for e in events]


async def test_a_member_leaving_is_recorded_with_them_as_actor(person: PersonFactory) -> None:
    owner, member = await person(), await person()
    project_id = await shared_project(owner)
    await add(owner, project_id, member, "viewer")
    assert (
        await member.client.delete(f"{PROJECTS}/{project_id}/members/{member.id}")
    ).status_code == 204
    [latest] = (
        await owner.client.get(f"{PROJECTS}/{project_id}/events", params={"limit": 1})
    ).json()["data"]
    assert latest["type"] == "member.removed"
    assert latest["actor_id"] == member.id
    assert latest["data"] == {"user_id": member.id}


async def test_inviting_the_same_email_concurrently_gives_one_201_and_conflicts_never_500(
    person: PersonFactory,
) -> None:
    owner, member = await person(), await person()
    project_id = await shared_project(owner)
    responses = await asyncio.gather(
        *(
            owner.client.post(
                f"{PROJECTS}/{project_id}/members", json={"email": member.email, "role": "viewer"}
            )
            for _ in range(6)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5, [
        r.text for r in responses
    ]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "CONFLICT")
    [invitation] = await pending(owner.client, project_id)
    assert (await event_types(owner.client, project_id)).count("member.invited") == 1
    accepted = await asyncio.gather(
        *(member.client.post(f"{INVITATIONS}/{invitation['id']}/accept") for _ in range(3))
    )
    assert sorted(r.status_code for r in accepted)[0] == 200, [r.text for r in accepted]
    assert all(r.status_code in (200, 404, 409) for r in accepted), [r.text for r in accepted]
    assert sum(r.status_code == 200 for r in accepted) == 1
    assert await roles(owner.client, project_id) == {owner.id: "owner", member.id: "viewer"}
    assert (await event_types(owner.client, project_id)).count("member.added") == 1


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    person: PersonFactory,
) -> None:
    first, second = await person(), await person()
    project_id = await shared_project(first)
    await add(first, project_id, second, "owner")
    responses = await asyncio.gather(
        first.client.patch(f"{PROJECTS}/{project_id}/members/{second.id}", json={"role": "viewer"}),
        second.client.patch(f"{PROJECTS}/{project_id}/members/{first.id}", json={"role": "viewer"}),
    )
    codes = sorted(r.status_code for r in responses)
    assert codes[0] == 200 and codes[1] in (403, 409), [r.text for r in responses]
    after = await roles(first.client, project_id)
    assert sorted(after.values()) == ["owner", "viewer"], after


async def test_two_owners_leaving_at_once_leave_one_owner(person: PersonFactory) -> None:
    first, second = await person(), await person()
    project_id = await shared_project(first)
    await add(first, project_id, second, "owner")
    responses = await asyncio.gather(
        first.client.delete(f"{PROJECTS}/{project_id}/members/{first.id}"),
        second.client.delete(f"{PROJECTS}/{project_id}/members/{second.id}"),
    )
    assert sorted(r.status_code for r in responses) == [204, 409], [r.text for r in responses]
    stayed = first if responses[1].status_code == 204 else second
    assert await roles(stayed.client, project_id) == {stayed.id: "owner"}


async def test_a_personal_project_cannot_be_shared(person: PersonFactory) -> None:
    """Creates without a project_id land there, so it must stay its owner's alone."""
    owner, friend = await person(), await person()
    projects = (await owner.client.get(PROJECTS)).json()["data"]
    personal = next(p["id"] for p in projects if p["is_personal"])
    refused = await owner.client.post(
        f"{PROJECTS}/{personal}/members", json={"email": friend.email, "role": "editor"}
    )
    assert_error(refused, 409, "CONFLICT")
    assert await roles(owner.client, personal) == {owner.id: "owner"}


async def test_inviting_runs_the_same_statements_whether_or_not_the_email_has_an_account(
    person: PersonFactory, resources: Resources
) -> None:
    """No lookup of the email among accounts, so no timing difference to measure either."""
    owner, existing = await person(), await person()
    project_id = await shared_project(owner)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    runs: list[list[str]] = []
    event.listen(resources.engine.sync_engine, "before_cursor_execute", record)
    try:
        for email in (existing.email, unique_email("nobody")):
            statements.clear()
            await invite(owner, project_id, email, "viewer")
            runs.append(list(statements))
    finally:
        event.remove(resources.engine.sync_engine, "before_cursor_execute", record)
    assert runs[0] == runs[1]
    assert not any("FROM users" in s and "users.email =" in s for s in runs[0]), runs[0]
