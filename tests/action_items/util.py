"""Helpers for the action item tests: a project whose workspace drifted and holds findings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from httpx import AsyncClient

from tests.helpers import API, new_project
from tests.sync.util import Tree, set_tree
from tests.workspaces.util import new_workspace

AWS_KEY = "AKIA" + "Q" * 16
# A module with a hard-coded key (critical), and no test for it (medium).
BILLING = f'import os\n\nKEY = "{AWS_KEY}"\n\n\ndef total(items):\n    return sum(items)\n'
TESTED = "def add(a, b):\n    x = a\n    y = b\n    z = x + y\n    return z\n"
LONG = (
    "def report(rows):\n"
    + "".join(f"    row{i} = rows[{i}]\n" for i in range(70))
    + "    return rows\n"
)
MAIN: Tree = {
    "app/calc.py": TESTED.encode(),
    "app/report.py": LONG.encode(),
    "tests/test_calc.py": b"from app.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    "tests/test_report.py": b"from app.report import report\n",
}


@dataclass(frozen=True)
class Scene:
    project_id: str
    main_id: str
    workspace_id: str


async def drifted(client: AsyncClient) -> Scene:
    """A main workspace, and a workspace that changed a file main also changed (drift) and
    added `app/billing.py` (a secret, untested)."""
    project_id = await new_project(client)
    main_id = str((await new_workspace(client, project_id, "main"))["id"])
    mine = str((await new_workspace(client, project_id, "feature"))["id"])
    await set_tree(client, main_id, MAIN)
    await set_tree(
        client,
        mine,
        {
            **MAIN,
            "app/calc.py": TESTED.replace("z = x + y", "z = y + x").encode(),
            "app/billing.py": BILLING.encode(),
        },
    )
    response = await client.get(f"{API}/workspaces/{mine}")  # compares with main: drift
    assert response.status_code == 200, response.text
    return Scene(project_id, main_id, mine)


async def items(client: AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/action-items", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def items_until(
    client: AsyncClient, ready: Callable[[list[dict[str, Any]]], bool], **params: Any
) -> list[dict[str, Any]]:
    """The list once `ready` holds (the analysis runs in the background)."""
    async with asyncio.timeout(20):
        while True:
            found = await items(client, **params)
            if ready(found):
                return found
            await asyncio.sleep(0.02)


def has_kind(kind: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda found: any(item["kind"] == kind for item in found)


def analysed(found: list[dict[str, Any]]) -> bool:
    """Both workspaces of `drifted` analysed: each has its long function, the feature its
    secret."""
    kinds = [item["kind"] for item in found]
    return kinds.count("refactoring") == 2 and "security" in kinds
