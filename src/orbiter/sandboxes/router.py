"""/api/v1/sandbox and /api/v1/terminal: the caller's sandboxes on this host."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page, paginate_items
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep
from orbiter.sandboxes import service
from orbiter.sandboxes.host import SandboxHost
from orbiter.sandboxes.schemas import (
    SandboxCreate,
    SandboxExecution,
    SandboxRead,
    TemplateRead,
    TerminalCommand,
    TerminalResult,
)
from orbiter.sandboxes.templates import runnable
from orbiter.sandboxes.web import is_web, web_url
from orbiter.sandboxes.web_router import router as web_router

router = APIRouter(tags=["sandbox"])


async def get_sandbox_host(request: Request) -> SandboxHost:
    host: SandboxHost = request.app.state.sandboxes
    return host


SandboxHostDep = Annotated[SandboxHost, Depends(get_sandbox_host)]


def api_base(request: Request) -> str:
    """This API's base URL (…/api/v1), on ORBITER_PUBLIC_URL when it is set."""
    own = str(request.url_for("list_sandboxes")).removesuffix("/sandbox")
    public: str = request.app.state.resources.settings.public_url
    return public.rstrip("/") + urlsplit(own).path if public else own


def read(request: Request, row: object) -> SandboxRead:
    sandbox = SandboxRead.model_validate(row)
    if is_web(sandbox.template):
        sandbox.url = web_url(api_base(request), sandbox.id)
    return sandbox


@router.post(
    "/sandbox", status_code=201, response_model=SandboxExecution, summary="Start a sandbox"
)
async def create_sandbox(
    request: Request,
    body: SandboxCreate,
    principal: CurrentPrincipal,
    db: DbSession,
    host: SandboxHostDep,
    resources: ResourcesDep,
) -> SandboxExecution:
    """Start a sandbox for the fragment's `template` and run its `code` there (saved first at
    `file_path` when given). 422 for a template this host cannot run (see
    `GET /sandbox/templates`) and for `additional_dependencies` while sandboxes have no
    network; 409 when the caller already has `ORBITER_SANDBOX_MAX_PER_USER` live ones.
    With `workspace_id`, the workspace's current files are there first (404 when the caller
    is not a member of its project)."""
    return await service.create_sandbox(
        db,
        host,
        resources.blobs,
        user_id=principal.user_id,
        fragment=body.fragment,
        workspace_id=body.workspace_id,
        plan=principal.plan,
        base_url=api_base(request),
    )


@router.get("/sandbox", response_model=Page[SandboxRead], summary="List live sandboxes")
async def list_sandboxes(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[SandboxRead]:
    rows, info = await service.list_sandboxes(
        db, user_id=principal.user_id, params=page, codec=resources.cursors
    )
    return Page(data=[read(request, row) for row in rows], pagination=info)


@router.get(
    "/sandbox/templates", response_model=Page[TemplateRead], summary="Templates this host runs"
)
async def list_templates(
    host: SandboxHostDep, resources: ResourcesDep, page: PageParamsDep
) -> Page[TemplateRead]:
    """An addition to the contract: the templates whose interpreter this host has
    (`kind`: `interpreter` or `web`)."""
    templates = [
        TemplateRead(name=t.name, language=t.language, kind=t.kind, port=t.default_port)
        for t in runnable(host.settings, host.runner)
    ]
    data, info = paginate_items(
        templates, key=lambda t: (t.name,), params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.get("/sandbox/{sandbox_id}", response_model=SandboxRead, summary="Get a sandbox")
async def get_sandbox(
    request: Request, sandbox_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> SandboxRead:
    sandbox = await service.get_sandbox(db, user_id=principal.user_id, sandbox_id=sandbox_id)
    return read(request, sandbox)


@router.delete("/sandbox/{sandbox_id}", status_code=204, summary="Delete a sandbox")
async def delete_sandbox(
    sandbox_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, host: SandboxHostDep
) -> Response:
    """Kill what runs in it and delete its files."""
    await service.delete_sandbox(db, host, user_id=principal.user_id, sandbox_id=sandbox_id)
    return Response(status_code=204)


@router.post("/terminal", response_model=TerminalResult, summary="Run a terminal command")
async def run_terminal(
    body: TerminalCommand, principal: CurrentPrincipal, db: DbSession, host: SandboxHostDep
) -> TerminalResult:
    """Run `command` with bash in the sandbox, where the previous command ended (`cd`
    persists) unless `workingDirectory` says otherwise."""
    return await service.run_terminal(
        db,
        host,
        user_id=principal.user_id,
        sandbox_id=body.sbxId,
        command=body.command,
        working_directory=body.workingDirectory,
        plan=principal.plan,
    )


router.include_router(web_router)
