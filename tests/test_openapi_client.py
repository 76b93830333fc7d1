"""A client generated from the OpenAPI document (openapi-python-client) builds without a warning
and works: it creates, lists and fails to find a project through the app, errors parsed."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from tests.helpers import BASE_URL, SignedIn

VENV_BIN = Path(sys.executable).parent
GENERATOR = VENV_BIN / "openapi-python-client"
PACKAGE = "orbiter_generated_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The client package generated from this app's document, and the generator's output."""
    from orbiter.main import create_app

    if not GENERATOR.exists():
        pytest.fail(f"{GENERATOR} not found; install the dev extras")
    workdir = tmp_path_factory.mktemp("client")
    document = workdir / "openapi.json"
    document.write_text(json.dumps(create_app().openapi()))
    argv = [str(GENERATOR), "generate", "--path", str(document), "--meta", "none"]
    result = subprocess.run(
        [*argv, "--output-path", str(workdir / PACKAGE)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        # Its post-generation hooks run ruff, from this virtual environment.
        env={**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output
    return workdir, output


def test_the_client_generates_without_warnings(generated: tuple[Path, str]) -> None:
    workdir, output = generated
    warnings = [line for line in output.splitlines() if "warning" in line.lower()]
    assert warnings == [], output
    modules = {p.stem for p in (workdir / PACKAGE / "api" / "projects").glob("*.py")}
    assert {"projects_list", "projects_create", "projects_get"} <= modules


@pytest.fixture
def client_modules(generated: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.syspath_prepend(str(generated[0]))
    names = {
        "client": "client",
        "create": "api.projects.projects_create",
        "list": "api.projects.projects_list",
        "get": "api.projects.projects_get",
        "models": "models",
    }
    return {key: importlib.import_module(f"{PACKAGE}.{name}") for key, name in names.items()}


async def test_the_generated_client_calls_the_api(
    app: FastAPI, signed_in: Any, client_modules: dict[str, Any]
) -> None:
    user: SignedIn = await signed_in()
    models = client_modules["models"]
    http = AsyncClient(
        transport=ASGITransport(app=app),
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {user.token}"},
    )
    client = client_modules["client"].AuthenticatedClient(base_url=BASE_URL, token=user.token)
    client.set_async_httpx_client(http)
    async with client:
        created = await client_modules["create"].asyncio(
            client=client, body=models.ProjectCreate(name="Generated client")
        )
        assert isinstance(created, models.ProjectRead), created
        assert created.name == "Generated client" and created.role == "owner"

        page = await client_modules["list"].asyncio(client=client)
        assert created.id in [project.id for project in page.data]
        assert page.pagination.total == len(page.data)

        missing = await client_modules["get"].asyncio_detailed(
            client=client, project_id=uuid.uuid4()
        )
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.ErrorEnvelope)
        assert missing.parsed.error.code == models.ErrorCode.RESOURCE_NOT_FOUND
        assert missing.headers["X-Request-ID"]
