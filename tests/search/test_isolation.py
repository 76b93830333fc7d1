"""Search shows only the caller's projects' rows: never another user's, and a member's yes."""

from __future__ import annotations

from tests.agents.util import make_agent
from tests.conversations.util import new_conversation
from tests.helpers import SignedInFactory, add_member, new_project
from tests.search.util import found


async def test_another_users_rows_are_never_found_until_shared(signed_in: SignedInFactory) -> None:
    alice, bob = await signed_in(), await signed_in()
    project_id = await new_project(alice.browser, "Albatross", description="secret plover")
    agent = await make_agent(alice.browser, name="Plover", project_id=project_id)
    conversation = await new_conversation(alice.browser, title="Plover talk", project_id=project_id)
    personal = await make_agent(alice.browser, name="Plover two")  # alice's personal project
    alices = {
        ("project", project_id),
        ("agent", agent["id"]),
        ("conversation", conversation["id"]),
        ("agent", personal["id"]),
    }
    assert await found(alice.browser, "plover") == alices
    bobs = await make_agent(bob.browser, name="Bob's plover")
    for client in bob.clients().values():  # cookie, API key and bearer token alike
        assert await found(client, "plover") == {("agent", bobs["id"])}
        assert await found(client, "albatross") == set()

    await add_member(alice.browser, project_id, bob.browser, bob.email, "viewer")
    shared = alices - {("agent", personal["id"])}
    assert await found(bob.browser, "plover") == shared | {("agent", bobs["id"])}
    assert await found(alice.browser, "plover") == alices  # bob's personal agent stays his

    removed = await alice.browser.delete(f"/api/v1/projects/{project_id}/members/{bob.user['id']}")
    assert removed.status_code == 204, removed.text
    assert await found(bob.browser, "plover") == {("agent", bobs["id"])}
