"""GET /infrastructure/projects/{id}/detect reads the project's real files through the store."""

from __future__ import annotations

import pytest

from tests.atlas.util import snapshot
from tests.blobs.util import upload_tree
from tests.helpers import API, SignedInFactory, add_member, assert_error, new_project
from tests.infrastructure import trees

METHODS = ["cookie", "api_key", "bearer"]


def detect_url(project_id: str) -> str:
    return f"{API}/infrastructure/projects/{project_id}/detect"


async def test_detect_reads_the_latest_snapshot(signed_in: SignedInFactory) -> None:
    alice = await signed_in()
    project = await new_project(alice.browser)
    await snapshot(alice.browser, project, trees.as_bytes(trees.EXPRESS))
    await snapshot(alice.browser, project, trees.as_bytes(trees.FASTAPI))
    response = await alice.api.get(detect_url(project))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["requirements"] == {
        "runtime": "python",
        "runtime_version": None,
        "framework": "fastapi",
        "databases": ["postgresql"],
        "caches": ["redis"],
        "env_vars": [],
    }
    assert body["deploy"]["start_command"] == (
        "python -m uvicorn app.main:app --host 127.0.0.1 --port $PORT"
    )
    assert body["deploy"]["health_path"] == "/healthz"
    by_type = {s["type"]: s for s in body["suggested_resources"]}
    assert by_type["redis"]["providers"] == ["local"]
    assert by_type["postgresql"]["providers"] == []
    assert by_type["redis"]["evidence"] == [
        {"file": "requirements.txt", "line": 4, "text": "redis>=5"}
    ]
    assert {
        "kind": "entry",
        "value": "app.main:app",
        "file": "app/main.py",
        "line": 3,
        "text": "app = FastAPI(title='notes')",
    } in body["detection"]


async def test_detect_a_named_manifest_of_the_project(signed_in: SignedInFactory) -> None:
    alice = await signed_in()
    project = await new_project(alice.browser)
    express = await upload_tree(alice.browser, trees.as_bytes(trees.EXPRESS))
    created = await alice.browser.post(
        f"{API}/projects/{project}/snapshots", json={"manifest_hash": express}
    )
    assert created.status_code == 201, created.text
    await snapshot(alice.browser, project, trees.as_bytes(trees.GO_NET_HTTP))
    response = await alice.cli.get(detect_url(project), params={"manifest_hash": express})
    assert response.status_code == 200, response.text
    assert response.json()["requirements"]["framework"] == "express"
    assert response.json()["manifest_hash"] == express
    # A manifest the project does not use is not found (even the caller's own upload).
    other = await upload_tree(alice.browser, {"go.mod": b"module x\n"})
    missing = await alice.cli.get(detect_url(project), params={"manifest_hash": other})
    assert_error(missing, 404, "RESOURCE_NOT_FOUND")


async def test_detect_without_a_snapshot_says_so(signed_in: SignedInFactory) -> None:
    alice = await signed_in()
    project = await new_project(alice.browser)
    error = assert_error(await alice.browser.get(detect_url(project)), 404, "RESOURCE_NOT_FOUND")
    assert "no snapshot" in error["message"]


@pytest.mark.parametrize("method", METHODS)
async def test_detect_is_for_members_only(signed_in: SignedInFactory, method: str) -> None:
    alice, bob = await signed_in(), await signed_in()
    project = await new_project(alice.browser)
    await snapshot(alice.browser, project, trees.as_bytes(trees.DOCKERFILE_ONLY))
    intruder = bob.clients()[method]
    assert_error(await intruder.get(detect_url(project)), 404, "RESOURCE_NOT_FOUND")
    await add_member(alice.browser, project, bob.browser, bob.email, "viewer")
    seen = await intruder.get(detect_url(project))
    assert seen.status_code == 200, seen.text
    assert seen.json()["requirements"]["runtime"] == "docker"
