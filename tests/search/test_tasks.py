"""Tasks are searchable by their prompt and repository URL, by their own user only (a task
stays queued here: no worker runs, which search does not need)."""

from __future__ import annotations

from httpx import AsyncClient

from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import API, SignedInFactory
from tests.search.util import found, search
from tests.tasks.conftest import start_task

REPO = "http://127.0.0.1:9/acme/kittiwake-tools.git"  # loopback; never cloned here


async def test_a_task_is_found_by_its_prompt_and_repository_by_its_user_only(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    alice, bob = await signed_in(), await signed_in()
    await create_fake_provider(alice.browser, fake_llm)
    await create_fake_provider(bob.browser, fake_llm)
    task = await start_task(alice.browser, REPO, "Teach the shearwater parser to skip comments")
    other = await start_task(alice.browser, "http://127.0.0.1:9/x/y.git", "Rename the petrel")

    for client in alice.clients().values():  # cookie, API key and bearer token alike
        assert await found(client, "shearwater") == {("task", task["id"])}
    assert await found(alice.browser, "shearwaters comment") == {("task", task["id"])}
    assert await found(alice.browser, "kittiwake") == {("task", task["id"])}
    assert await found(alice.browser, "petrel", types="task") == {("task", other["id"])}
    assert await found(alice.browser, "petrel", types="agent") == set()
    (hit,) = await search(alice.browser, "shearwater")
    assert hit["title"] == "Teach the shearwater parser to skip comments"
    assert "<mark>shearwater</mark>" in hit["snippet"]
    assert hit["id"] == task["id"] and hit["parent_id"] is None and hit["project_id"]

    # Bob finds his own task with the same word, never alice's, however he signs in.
    bobs = await start_task(bob.browser, REPO, "A shearwater of his own")
    for client in bob.clients().values():
        assert await found(client, "shearwater") == {("task", bobs["id"])}
        assert await found(client, "kittiwake") == {("task", bobs["id"])}
        assert await found(client, "petrel") == set()


async def test_a_deleted_task_is_no_longer_found(browser: AsyncClient, fake_llm: FakeLLM) -> None:
    await create_fake_provider(browser, fake_llm)
    task = await start_task(browser, REPO, "Polish the fulmar docs")
    assert await found(browser, "fulmar") == {("task", task["id"])}
    deleted = await browser.delete(f"{API}/tasks/{task['id']}")
    assert deleted.status_code == 200, deleted.text
    assert await found(browser, "fulmar") == set()
