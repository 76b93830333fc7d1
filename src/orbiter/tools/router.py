"""/api/v1/tools: built-in tools and a project's custom tools; invoking one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep
from orbiter.tools import invoke, service
from orbiter.tools.schemas import ToolCreate, ToolInvoke, ToolOutput, ToolRead, ToolUpdate

router = APIRouter(prefix="/tools", tags=["tools"])


@router.get("", response_model=Page[ToolRead], summary="List tools")
async def list_tools(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    project_id: uuid.UUID | None = None,
) -> Page[ToolRead]:
    """The built-in tools (by name), then the custom tools of the caller's projects (newest
    first); `project_id` keeps one project's custom tools."""
    data, info = await service.list_tools(
        db,
        user_id=principal.user_id,
        params=page,
        codec=resources.cursors,
        project_id=project_id,
    )
    return Page(data=data, pagination=info)


@router.post("", status_code=201, response_model=ToolRead, summary="Create a tool")
async def create_tool(
    body: ToolCreate, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> ToolRead:
    """A custom tool in `project_id` (default: the personal project; editor or owner).
    `input_schema` must be a valid JSON Schema of an object; type `code` is not available
    yet (422)."""
    return await service.create_tool(db, resources, user_id=principal.user_id, body=body)


@router.get("/{tool_id}", response_model=ToolRead, summary="Get a tool")
async def get_tool(tool_id: str, principal: CurrentPrincipal, db: DbSession) -> ToolRead:
    """A built-in by name (`calculator`), or a custom tool by id."""
    return await service.get_tool(db, user_id=principal.user_id, tool_id=tool_id)


@router.put("/{tool_id}", response_model=ToolRead, summary="Update a tool")
async def update_tool(
    tool_id: str,
    body: ToolUpdate,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> ToolRead:
    """Change a custom tool (editor or owner); fields not sent keep their value. Built-in
    tools are read-only (403)."""
    return await service.update_tool(
        db, resources, user_id=principal.user_id, tool_id=tool_id, body=body
    )


@router.delete("/{tool_id}", status_code=204, summary="Delete a tool")
async def delete_tool(tool_id: str, principal: CurrentPrincipal, db: DbSession) -> Response:
    """Delete a custom tool (editor or owner); agents of the project stop offering it.
    Built-in tools are read-only (403)."""
    await service.delete_tool(db, user_id=principal.user_id, tool_id=tool_id)
    return Response(status_code=204)


@router.post("/{tool_id}/invoke", response_model=ToolOutput, summary="Invoke a tool")
async def invoke_tool(
    tool_id: str, body: ToolInvoke, principal: CurrentPrincipal, resources: ResourcesDep
) -> ToolOutput:
    """Run one tool now with `input` (validated against its input_schema: 422) and answer
    `{output, error, run_id, duration_ms}`: `error` says why the tool failed (`output` is then
    null). The call is recorded as a finished one-step run of kind `tool` (`GET /runs/{id}`)
    in the tool's project (built-ins: `project_id`, default the personal one); starting it
    needs the editor role there. `ask_user` runs only inside an agent's run (400)."""
    return await invoke.invoke_tool(resources, principal, tool_id=tool_id, body=body)
