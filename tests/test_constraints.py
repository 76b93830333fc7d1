"""The database itself refuses what the code never writes: a value outside an enum-like
column's set, a second personal project, a second main workspace, a second default provider.
(Races that used to slip past the code's own checks end here; tests/test_racing_writes.py.)"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from orbiter.models import (
    DeviceAuthorization,
    DriftReport,
    LlmProvider,
    Message,
    Project,
    ProjectMember,
    StoredObject,
    User,
    Workspace,
)
from orbiter.runtime.resources import Resources
from tests.blobs.util import upload_tree
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import new_project
from tests.workspaces.util import new_workspace


async def _refused(resources: Resources, statement: Any) -> None:
    async with resources.sessionmaker() as db:
        with pytest.raises(IntegrityError):
            await db.execute(statement)
        await db.rollback()


async def _ids(browser: AsyncClient, fake: FakeLLM) -> dict[str, uuid.UUID]:
    """A user with one row of every table that has an enum-like column, made through HTTP."""
    me = (await browser.get("/api/v1/auth/me")).json()
    project_id = await new_project(browser)
    workspace = await new_workspace(browser, project_id, "main")
    reported = await browser.post(
        f"/api/v1/workspaces/{workspace['id']}/drift",
        json={"files_added": 1, "files_modified": 0, "files_deleted": 0, "bytes_changed": 2},
    )
    assert reported.status_code == 201, reported.text
    await upload_tree(browser, {"a.txt": b"a"})  # a stored object
    device = await browser.post("/api/v1/oauth/device", data={"client_id": "orbiter-cli"})
    assert device.status_code == 200, device.text
    provider = await create_fake_provider(browser, fake, models=["echo"])
    conversation = await browser.post("/api/v1/conversations", json={"project_id": project_id})
    cid = conversation.json()["id"]
    posted = await browser.post(f"/api/v1/conversations/{cid}/messages", json={"content": "hi"})
    assert posted.status_code == 200, posted.text
    return {
        "user": uuid.UUID(me["id"]),
        "project": uuid.UUID(project_id),
        "provider": uuid.UUID(provider["id"]),
        "message": uuid.UUID(posted.json()["assistant_message"]["id"]),
    }


BAD_VALUES: dict[str, Callable[[dict[str, uuid.UUID]], Any]] = {
    "users.plan": lambda ids: update(User).where(User.id == ids["user"]).values(plan="platinum"),
    "project_members.role": lambda ids: (
        update(ProjectMember)
        .where(ProjectMember.user_id == ids["user"])
        .values(role="admin")
        .execution_options(synchronize_session=False)
    ),
    "messages.role": lambda ids: (
        update(Message).where(Message.id == ids["message"]).values(role="robot")
    ),
    "messages.status": lambda ids: (
        update(Message).where(Message.id == ids["message"]).values(status="done")
    ),
    "llm_providers.type": lambda ids: (
        update(LlmProvider).where(LlmProvider.id == ids["provider"]).values(type="skynet")
    ),
    "device_authorizations.status": lambda ids: update(DeviceAuthorization).values(status="maybe"),
    "stored_objects.kind": lambda ids: update(StoredObject).values(kind="tree"),
    "drift_reports.kind": lambda ids: update(DriftReport).values(kind="guessed"),
}


@pytest.mark.parametrize("column", sorted(BAD_VALUES))
async def test_enum_like_columns_refuse_unknown_values(
    browser: AsyncClient, resources: Resources, fake_llm: FakeLLM, column: str
) -> None:
    ids = await _ids(browser, fake_llm)
    await _refused(resources, BAD_VALUES[column](ids))


async def test_only_one_personal_project_main_workspace_and_default_provider(
    browser: AsyncClient, resources: Resources, fake_llm: FakeLLM
) -> None:
    ids = await _ids(browser, fake_llm)
    personal = await browser.post("/api/v1/conversations", json={})  # in the personal project
    assert personal.json()["project_name"] == "Personal"
    second_provider = await create_fake_provider(browser, fake_llm, name="second")
    second_workspace = await new_workspace(browser, str(ids["project"]), "second")
    await _refused(
        resources,
        update(Project).where(Project.id == ids["project"]).values(is_personal=True),
    )
    await _refused(
        resources,
        update(Workspace)
        .where(Workspace.id == uuid.UUID(second_workspace["id"]))
        .values(is_main=True),
    )
    await _refused(
        resources,
        update(LlmProvider)
        .where(LlmProvider.id == uuid.UUID(second_provider["id"]))
        .values(is_default=True),
    )
    # The same rows are still writable; only a second flag is refused.
    async with resources.sessionmaker() as db:
        await db.execute(update(Project).where(Project.id == ids["project"]).values(name="Renamed"))
        await db.rollback()
