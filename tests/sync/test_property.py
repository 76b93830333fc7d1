"""Property: for random base, main and workspace trees, prepare + execute never loses a change
made on one side only, a decision's answer is what lands, and undo restores the exact manifest."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sync.util import (
    Exe,
    Link,
    Tree,
    current_hash,
    execute,
    expected,
    forked,
    prepare,
    sync_url,
    tree_of,
)

PATHS = ("a.txt", "b.txt", "c/d.txt", "e.bin")
VALUES = st.one_of(
    st.none(),
    st.sampled_from([b"1\n", b"2\n", b"1\n2\n3\n", b"x\0y"]),
    st.sampled_from([Exe(b"1\n"), Link("a.txt"), Link("b.txt")]),
)
TREES = st.fixed_dictionaries({path: VALUES for path in PATHS}).map(
    lambda tree: {path: value for path, value in tree.items() if value is not None}
)


def one_sided(path: str, base: dict[str, Any], main: dict[str, Any], mine: dict[str, Any]) -> Any:
    """What the result must hold at `path` when only one side changed it, or both alike."""
    if main.get(path) == mine.get(path):
        return ("keep", mine.get(path))
    if main.get(path) == base.get(path):
        return ("keep", mine.get(path))
    if mine.get(path) == base.get(path):
        return ("keep", main.get(path))
    return None


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(base=TREES, main=TREES, mine=TREES, answers=st.lists(st.booleans(), min_size=4, max_size=4))
async def test_sync_keeps_one_sided_changes_and_undo_restores(
    browser: AsyncClient, base: Tree, main: Tree, mine: Tree, answers: list[bool]
) -> None:
    scene = await forked(browser, base, main, mine)
    before = await current_hash(browser, scene.workspace_id)
    preview = await prepare(browser, scene.workspace_id)
    decided = [d["path"] for d in preview["decisions_needed"]]
    choice = {p: "use_main" if answers[PATHS.index(p)] else "use_workspace" for p in decided}
    done = await execute(browser, scene.workspace_id, preview["id"], decisions=choice)
    assert done.status_code == 200, done.text

    result = await tree_of(browser, scene.workspace_id)
    b, m, w = expected(base), expected(main), expected(mine)
    for path in PATHS:
        rule = one_sided(path, b, m, w)
        if rule is not None:
            assert result.get(path) == rule[1], (path, preview)
        elif path in choice:
            assert result.get(path) == (m if choice[path] == "use_main" else w).get(path), path
        else:  # merged cleanly: present, as both sides kept it
            assert path in result and path in m and path in w, (path, preview)

    undone = await browser.post(sync_url(scene.workspace_id, "undo"))
    assert undone.status_code == 200, undone.text
    assert await current_hash(browser, scene.workspace_id) == before
