"""Inputs people type: names and titles are trimmed and never blank or full of control
characters, passwords are never only whitespace, emails are compared in NFKC, and no redirect
takes its host from the request."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient

from orbiter.core.db import create_engine
from orbiter.core.settings import Settings
from tests.helpers import API, PASSWORD, SignedIn, assert_error, full_width, unique_email

BAD_NAMES = {
    "blank": "   ",
    "whitespace": "\t\n \u3000",
    "bell": "a\x07b",
    "escape": "\x1b[31mred",
    "c1": "a\x85b",
    "bidi-override": "invoice\u202egpj.exe",
    "line-separator": "a\u2028b",
}
Body = Callable[[str], dict[str, Any]]


async def _name_routes(user: SignedIn) -> list[tuple[str, str, Body, str]]:
    """(method, url, body for a name, field) for every route that takes a user-chosen name."""
    client = user.browser
    project = (await client.post(f"{API}/projects", json={"name": "p"})).json()["id"]
    workspace = await client.post(f"{API}/projects/{project}/workspaces", json={"name": "w"})
    conversation = await client.post(f"{API}/conversations", json={"title": "c"})
    assert workspace.status_code == 201 and conversation.status_code == 201
    ws, conv = workspace.json()["id"], conversation.json()["id"]
    return [
        (
            "POST",
            "/auth/register",
            lambda n: {"email": unique_email(), "password": PASSWORD, "name": n},
            "name",
        ),
        ("POST", "/projects", lambda n: {"name": n}, "name"),
        ("PUT", f"/projects/{project}", lambda n: {"name": n}, "name"),
        ("POST", f"/projects/{project}/workspaces", lambda n: {"name": n}, "name"),
        (
            "POST",
            f"/projects/{project}/workspaces",
            lambda n: {"name": "w2", "machine_id": n},
            "machine_id",
        ),
        ("PATCH", f"/workspaces/{ws}", lambda n: {"name": n}, "name"),
        ("PATCH", f"/workspaces/{ws}", lambda n: {"machine_id": n}, "machine_id"),
        ("POST", "/conversations", lambda n: {"title": n}, "title"),
        ("PATCH", f"/conversations/{conv}", lambda n: {"title": n}, "title"),
        ("POST", "/api-keys", lambda n: {"name": n}, "name"),
        ("POST", "/providers", lambda n: {"name": n, "type": "openai", "api_key": "sk-x"}, "name"),
        ("PUT", f"/providers/{uuid.uuid4()}", lambda n: {"name": n}, "name"),
    ]


@pytest.mark.parametrize("bad", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
async def test_every_user_chosen_name_refuses_blank_and_control_characters(
    signed_in: Callable[[], Any], bad: str
) -> None:
    user: SignedIn = await signed_in()
    for method, path, body, field in await _name_routes(user):
        response = await user.browser.request(method, API + path, json=body(bad))
        error = assert_error(response, 422, "VALIDATION_ERROR")
        assert field in {f["field"] for f in error["details"]["fields"]}, (method, path, error)


async def test_names_are_trimmed_and_may_hold_any_printable_text(
    signed_in: Callable[[], Any],
) -> None:
    user: SignedIn = await signed_in()
    api = user.browser
    project = await api.post(f"{API}/projects", json={"name": "  Café 👩‍💻 プロジェクト  "})
    assert project.status_code == 201, project.text
    assert project.json()["name"] == "Café 👩‍💻 プロジェクト"
    key = await api.post(f"{API}/api-keys", json={"name": " deploy key "})
    assert key.json()["name"] == "deploy key"
    workspace = await api.post(
        f"{API}/projects/{project.json()['id']}/workspaces",
        json={"name": " main ", "machine_id": " m1 "},
    )
    assert (workspace.json()["name"], workspace.json()["machine_id"]) == ("main", "m1")


@pytest.mark.parametrize("password", [" " * 12, "\t" * 10, "\u3000" * 9, " \n " * 4])
async def test_a_password_of_only_whitespace_is_refused(client: AsyncClient, password: str) -> None:
    email = unique_email()
    response = await client.post(
        f"{API}/auth/register", json={"email": email, "password": password}
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == "password"
    login = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert_error(login, 401, "UNAUTHORIZED")


async def test_full_width_emails_are_the_same_account_as_their_ascii_form(
    client: AsyncClient,
) -> None:
    email = unique_email("wide")
    wide = full_width(email.upper())
    registered = await client.post(
        f"{API}/auth/register", json={"email": wide, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["email"] == email
    for form in (email, wide, email.upper()):
        login = await client.post(f"{API}/auth/login", json={"email": form, "password": PASSWORD})
        assert login.status_code == 200, (form, login.text)
        assert login.json()["user"]["email"] == email
    duplicate = await client.post(
        f"{API}/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert_error(duplicate, 409, "CONFLICT")
    again = await client.post(
        f"{API}/auth/register", json={"email": full_width(email), "password": PASSWORD}
    )
    assert_error(again, 409, "CONFLICT")


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
async def test_a_trailing_slash_is_404_never_a_redirect_to_the_host_header(
    client: AsyncClient, method: str
) -> None:
    for path in (f"{API}/projects/", f"{API}/auth/me/", "/health/"):
        response = await client.request(
            method, path, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
        )
        assert response.status_code == 404, (path, response.status_code)
        assert "location" not in response.headers
        if method != "HEAD":
            assert_error(response, 404, "RESOURCE_NOT_FOUND")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_sqlite_database_and_its_wal_files_are_private(
    migrated: Settings, tmp_path: Path
) -> None:
    if not migrated.is_sqlite:
        pytest.skip("the services backend uses PostgreSQL")
    loose = tmp_path / "orbiter.db"
    for path in (loose, Path(f"{loose}-wal")):
        path.touch()
        path.chmod(0o644)
    settings = migrated.model_copy(update={"data_dir": tmp_path, "database_url": ""})
    old_umask = os.umask(0o022)
    try:
        engine = create_engine(settings)
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
        await engine.dispose()
    finally:
        os.umask(old_umask)
    assert _mode(loose) == 0o600 and _mode(Path(f"{loose}-wal")) == 0o600

    fresh = tmp_path / "fresh"
    engine = create_engine(migrated.model_copy(update={"data_dir": fresh, "database_url": ""}))
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        await connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        files = sorted(p.name for p in fresh.iterdir() if p.name.startswith("orbiter.db"))
        assert files == ["orbiter.db", "orbiter.db-shm", "orbiter.db-wal"]
        for name in files:
            assert _mode(fresh / name) == 0o600, name
    await engine.dispose()


async def test_the_test_database_itself_is_private(migrated: Settings, client: AsyncClient) -> None:
    if not migrated.is_sqlite:
        pytest.skip("the services backend uses PostgreSQL")
    await client.post(f"{API}/auth/register", json={"email": unique_email(), "password": PASSWORD})
    database = migrated.data_dir / "orbiter.db"
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        assert _mode(path) == 0o600, path


async def test_a_device_client_name_follows_the_same_rules(client: AsyncClient) -> None:
    for bad in ("   ", "cli\u202eevil", "a\x1bb"):
        response = await client.post(f"{API}/oauth/device", data={"client_id": bad})
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"
    ok = await client.post(f"{API}/oauth/device", data={"client_id": "  my laptop  "})
    assert ok.status_code == 200, ok.text
