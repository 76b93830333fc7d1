"""Search finds each type by a word in it, ranks, highlights, filters by type and pages."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.agents.util import make_agent
from tests.conversations.util import new_conversation
from tests.fakes.llm_servers import FakeLLM
from tests.helpers import API, SignedInFactory, assert_error, new_project
from tests.knowledge.util import indexed, make_kb
from tests.search.util import SEARCH, chat, found, search
from tests.tools.util import create_tool
from tests.workflows.util import make_workflow


def tool_body(name: str, description: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {}}
    config = {"method": "GET", "url": "https://api.example.com/items"}
    return {
        "name": name,
        "description": description,
        "type": "http",
        "input_schema": schema,
        "config": config,
    }


async def test_each_type_is_found_by_a_word_in_it_with_its_title_project_and_snippet(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    project_id = await new_project(browser, "Zephyr orchard", description="Grows marzipan trees")
    agent = await make_agent(
        browser, name="Quokka", instructions="Answer about tangerines.", project_id=project_id
    )
    described = await make_agent(browser, name="Plain", description="Knows the walrus")
    workflow = await make_workflow(
        browser, name="Nightly heron", description="Counts obsidian stones", project_id=project_id
    )
    tool = await create_tool(browser, tool_body("fetch_saffron", "Looks up cinnamon prices"))
    conversation = await new_conversation(browser, title="Lighthouse plans", project_id=project_id)
    chatted = await chat(browser, fake_llm, "Tell me of cormorants")
    conversation_id = chatted["conversation"]["id"]
    user_message, reply = chatted["user_message"], chatted["assistant_message"]

    expectations = {
        "zephyr": ("project", project_id),
        "marzipan": ("project", project_id),
        "quokka": ("agent", agent["id"]),
        "tangerines": ("agent", agent["id"]),
        "walrus": ("agent", described["id"]),
        "heron": ("workflow", workflow["id"]),
        "obsidian": ("workflow", workflow["id"]),
        "saffron": ("tool", tool["id"]),
        "cinnamon": ("tool", tool["id"]),
        "lighthouse": ("conversation", conversation["id"]),
    }
    for word, expected in expectations.items():
        assert await found(browser, word) == {expected}, word

    # The message's words find both turns, and the conversation titled after the first one.
    hits = await search(browser, "cormorants")
    assert {(h["type"], h["id"]) for h in hits} == {
        ("message", user_message["id"]),
        ("message", reply["id"]),
        ("conversation", conversation_id),
    }
    message = next(h for h in hits if h["id"] == reply["id"])
    assert message["title"] == "Tell me of cormorants"  # its conversation's title
    assert message["parent_id"] == conversation_id
    assert message["snippet"] == "Echo: Tell me of <mark>cormorants</mark>"

    [hit] = await search(browser, "tangerines")
    assert hit["title"] == "Quokka" and hit["project_id"] == project_id
    assert hit["parent_id"] is None and hit["score"] > 0
    # (PostgreSQL's headline leaves out the final full stop.)
    assert hit["snippet"].startswith("Answer about <mark>tangerines</mark>")


async def test_words_are_stemmed_and_every_word_must_match(browser: AsyncClient) -> None:
    agent = await make_agent(browser, name="Deployer", instructions="Deploying the orbital app")
    assert await found(browser, "deploy orbit") == {("agent", agent["id"])}
    assert await found(browser, "deploy comet") == set()


async def test_a_title_match_ranks_above_a_passing_mention(browser: AsyncClient) -> None:
    filler = " ".join(f"word{n}" for n in range(40))
    mention = await make_agent(browser, name="Generalist", instructions=f"{filler} pelican")
    titled = await make_agent(browser, name="Pelican", instructions="Helps with birds")
    hits = await search(browser, "pelican")
    assert [h["id"] for h in hits] == [titled["id"], mention["id"]]
    assert hits[0]["score"] > hits[1]["score"]


async def test_more_mentions_rank_first(browser: AsyncClient) -> None:
    once = await make_agent(browser, name="A", instructions="ibis owl kite hawk crow wren")
    thrice = await make_agent(browser, name="B", instructions="ibis owl ibis hawk ibis wren")
    hits = await search(browser, "ibis")
    assert [h["id"] for h in hits] == [thrice["id"], once["id"]]


async def test_the_snippet_is_escaped_html_with_marked_words(browser: AsyncClient) -> None:
    text = 'Falcon <script>alert("x")</script> & friends\n\nsee the falcons'
    await make_agent(browser, name="Markup", instructions=text)
    [hit] = await search(browser, "falcon")
    snippet = hit["snippet"]
    assert "<script>" not in snippet and "&amp;" in snippet
    assert snippet.startswith("<mark>Falcon</mark> ")
    assert snippet.endswith("see the <mark>falcons</mark>")
    assert "\n" not in snippet


SYNTAX = ['"', "*", ":", "(", ")", "-", "NEAR", "AND", "OR", "NOT", '"*:(-', "^", "+", "{", "'"]


@pytest.mark.parametrize("q", SYNTAX)
async def test_query_syntax_characters_alone_find_nothing_and_do_not_fail(
    browser: AsyncClient, q: str
) -> None:
    await make_agent(browser, name="Crane", instructions="near and or not")
    hits = await search(browser, q)
    # Only the words (NEAR, AND...) can match, and only a document that has them.
    assert all(h["type"] == "agent" for h in hits)


LITERAL = [
    'crane "heron',
    "crane* heron",
    "heron: crane",
    "(crane heron",
    "crane -heron",
    "crane NEAR heron",
    "NEAR(crane heron)",
    "crane AND heron",
    "crane OR heron",
    "title:crane",
    "crane^ heron +gull",
]


@pytest.mark.parametrize("q", LITERAL)
async def test_query_syntax_is_read_as_plain_words(browser: AsyncClient, q: str) -> None:
    agent = await make_agent(
        browser, name="Crane", instructions="The crane stands near the heron and or the gull title"
    )
    await make_agent(browser, name="Other", instructions="Only the crane is here")
    assert await found(browser, q) == {("agent", agent["id"])}


@pytest.mark.parametrize("q", [None, "", "   "])
async def test_an_empty_query_is_422(browser: AsyncClient, q: str | None) -> None:
    params = {} if q is None else {"q": q}
    error = assert_error(await browser.get(SEARCH, params=params), 422, "VALIDATION_ERROR")
    assert [f["field"] for f in error["details"]["fields"]] == ["q"]


async def test_types_keep_those_types_and_unknown_types_are_422(browser: AsyncClient) -> None:
    agent = await make_agent(browser, name="Gannet", instructions="Dives")
    workflow = await make_workflow(browser, name="Gannet flow")
    tool = await create_tool(browser, tool_body("gannet", "Gannet counts"))
    everything = {("agent", agent["id"]), ("workflow", workflow["id"]), ("tool", tool["id"])}
    assert await found(browser, "gannet") == everything
    assert await found(browser, "gannet", types="agent") == {("agent", agent["id"])}
    assert await found(browser, "gannet", types="agent,tool") == everything - {
        ("workflow", workflow["id"])
    }
    assert await found(browser, "gannet", types=["workflow", "tool"]) == everything - {
        ("agent", agent["id"])
    }
    # A type with nothing matching finds nothing.
    assert await found(browser, "gannet", types="task") == set()
    assert await found(browser, "gannet", types="task,agent") == {("agent", agent["id"])}
    response = await browser.get(SEARCH, params={"q": "gannet", "types": "agent,bogus"})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == "types"
    assert "bogus" in error["message"]


async def test_pages_follow_the_ranking_without_repeats(browser: AsyncClient) -> None:
    made = []
    for n in range(1, 6):
        words = " ".join(["kestrel"] * n + ["sky"] * (6 - n))
        made.append((await make_agent(browser, name=f"K{n}", instructions=words))["id"])
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "kestrel", "limit": 2} | (
            {"cursor": cursor} if cursor else {}
        )
        response = await browser.get(SEARCH, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["pagination"]["total"] == 5
        seen += body["data"]
        cursor = body["pagination"]["next_cursor"]
        assert body["pagination"]["has_more"] == (cursor is not None)
        if cursor is None:
            break
    assert [h["id"] for h in seen] == list(reversed(made))  # most mentions first
    scores = [h["score"] for h in seen]
    assert scores == sorted(scores, reverse=True)
    bad = await browser.get(SEARCH, params={"q": "kestrel", "cursor": "not-a-cursor"})
    assert_error(bad, 400, "BAD_REQUEST")


@pytest.mark.usefixtures("run_worker")
async def test_knowledge_bases_and_documents_are_found_once_indexed(
    browser: AsyncClient, signed_in: SignedInFactory
) -> None:
    """A knowledge base by its name and description, a document by its name and its extracted
    text (searchable once indexed); deleting them takes them out; nobody else finds them."""
    kb = await make_kb(browser, name="Albatross notes", description="Sightings near Kerguelen")
    document = await indexed(browser, kb["id"], "pelican.md", b"# Fieldwork\n\nThe puffin nests.")
    assert document["status"] == "ready", document
    assert await found(browser, "albatross") == {("knowledge_base", kb["id"])}
    assert await found(browser, "kerguelen") == {("knowledge_base", kb["id"])}
    assert await found(browser, "pelican") == {("document", document["id"])}
    [hit] = await search(browser, "puffin")
    assert (hit["type"], hit["id"], hit["parent_id"]) == ("document", document["id"], kb["id"])
    assert hit["title"] == "pelican.md" and "<mark>puffin</mark>" in hit["snippet"]
    stranger = await signed_in()
    assert await found(stranger.api, "puffin") == set()

    deleted = await browser.delete(f"{API}/knowledge-bases/{kb['id']}/documents/{document['id']}")
    assert deleted.status_code == 204
    assert await found(browser, "puffin") == set()
    assert (await browser.delete(f"{API}/knowledge-bases/{kb['id']}")).status_code == 204
    assert await found(browser, "albatross") == set()
