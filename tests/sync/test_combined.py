"""The `combined` option of a text conflict merge3 cannot merge: offered only when the caller
has an LLM provider, proposed by it, applied only when the user chooses it; an LLM failure
leaves prepare working, without the option and with a note."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.blobs.util import collect, sha256
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.sync.util import (
    blob_text,
    current_hash,
    execute,
    forked,
    prepare,
    sync_url,
    tree_of,
)

BASE = {"a.txt": b"one\ntwo\nthree\n", "bin.dat": b"\0base"}
MAIN = {"a.txt": b"one\ntwo in main\nthree\n", "bin.dat": b"\0main"}
MINE = {"a.txt": b"one\ntwo here\nthree\n", "bin.dat": b"\0mine"}
COMBINED = "one\ntwo in main and here\nthree\n"


def options(preview: dict[str, Any]) -> dict[str, list[str]]:
    return {d["path"]: [o["id"] for o in d["options"]] for d in preview["decisions_needed"]}


async def test_combined_is_offered_with_a_provider_and_applied_only_when_chosen(
    browser: AsyncClient, fake_llm: FakeLLM, no_grace: None
) -> None:
    scene = await forked(browser, BASE, MAIN, MINE)
    before = await current_hash(browser, scene.workspace_id)
    plain = await prepare(browser, scene.workspace_id)
    assert options(plain) == {
        "a.txt": ["use_main", "use_workspace"],
        "bin.dat": ["use_main", "use_workspace"],
    }
    assert (plain["llm"], plain["notes"]) == (None, [])
    assert fake_llm.requests == []

    provider = await create_fake_provider(browser, fake_llm)
    fake_llm.queue_reply(f"```\n{COMBINED}```", f"```\n{COMBINED}```")
    first = await prepare(browser, scene.workspace_id)
    second = await prepare(browser, scene.workspace_id)
    assert await current_hash(browser, scene.workspace_id) == before  # a proposal only
    # Only the text conflict gets one; the model saw the base and both sides.
    assert options(first) == {
        "a.txt": ["use_main", "use_workspace", "combined"],
        "bin.dat": ["use_main", "use_workspace"],
    }
    calls = [r for r in fake_llm.requests if r.path.endswith("/chat/completions")]
    assert len(calls) == 2
    asked = calls[0].messages[-1]["content"]
    assert "two in main" in asked and "two here" in asked and "<base>" in asked
    combined = first["decisions_needed"][0]["options"][2]
    assert combined["result"]["hash"] == sha256(COMBINED.encode())
    assert "-two here\n+two in main and here\n" in combined["preview"]
    assert first["llm"]["provider_id"] == provider["id"]
    assert (first["llm"]["model"], first["llm"]["calls"]) == ("echo", 1)
    assert first["llm"]["prompt_tokens"] > 0
    # The proposal is kept with the preview: blob gc leaves it alone.
    assert (await collect(browser, dryRun=False))["success"] is True
    assert await blob_text(browser, sha256(COMBINED.encode())) == COMBINED

    # Not chosen: this workspace's version stays.
    kept = await execute(
        browser,
        scene.workspace_id,
        first["id"],
        decisions={"a.txt": "use_workspace", "bin.dat": "use_main"},
    )
    assert kept.status_code == 200, kept.text
    tree = await tree_of(browser, scene.workspace_id)
    assert tree["a.txt"][1] == sha256(MINE["a.txt"])
    undone = await browser.post(sync_url(scene.workspace_id, "undo"))
    assert undone.status_code == 200, undone.text

    # Chosen (in the other preview of the same tree): the proposal is the file.
    chosen = await execute(
        browser,
        scene.workspace_id,
        second["id"],
        decisions={"a.txt": "combined", "bin.dat": "use_workspace"},
    )
    assert chosen.status_code == 200, chosen.text
    assert "a.txt" in chosen.json()["files_updated"]
    tree = await tree_of(browser, scene.workspace_id)
    assert tree["a.txt"][1] == sha256(COMBINED.encode())
    assert tree["bin.dat"][1] == sha256(MINE["bin.dat"])
    assert await blob_text(browser, sha256(COMBINED.encode())) == COMBINED


async def test_a_failing_llm_leaves_prepare_working_without_combined(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    scene = await forked(browser, BASE, MAIN, MINE)
    await create_fake_provider(browser, fake_llm, models=["error"])
    preview = await prepare(browser, scene.workspace_id)
    assert options(preview)["a.txt"] == ["use_main", "use_workspace"]
    assert len(preview["notes"]) == 1
    assert "a.txt" in preview["notes"][0]
    refused = await execute(
        browser,
        scene.workspace_id,
        preview["id"],
        decisions={"a.txt": "combined", "bin.dat": "use_main"},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["not_offered"] == ["a.txt"]
