"""/api/v1/projects: projects, status, events, members and invitations; /api/v1/invitations."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.projects import invitations, service
from orbiter.projects.schemas import (
    EventRead,
    InvitationRead,
    MemberAdd,
    MemberRead,
    MemberUpdate,
    ProjectCreate,
    ProjectDetail,
    ProjectRead,
    ProjectStatus,
    ProjectUpdate,
    ReceivedInvitation,
)
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/projects", tags=["projects"])
invitations_router = APIRouter(prefix="/invitations", tags=["projects"])


@router.get("", response_model=Page[ProjectRead], summary="List projects")
async def list_projects(
    principal: CurrentPrincipal, resources: ResourcesDep, page: PageParamsDep
) -> Page[ProjectRead]:
    """The caller's projects, most recently updated first."""
    data, info = await service.list_projects(
        resources.engine, user_id=principal.user_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.post("", status_code=201, response_model=ProjectRead, summary="Create a project")
async def create_project(
    body: ProjectCreate, principal: CurrentPrincipal, db: DbSession
) -> ProjectRead:
    return await service.create_project(
        db, user_id=principal.user_id, name=body.name, description=body.description
    )


@router.get("/{project_id}", response_model=ProjectDetail, summary="Get a project")
async def get_project(
    project_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> ProjectDetail:
    return await service.project_detail(db, user_id=principal.user_id, project_id=project_id)


@router.put("/{project_id}", response_model=ProjectRead, summary="Update a project")
async def update_project(
    project_id: uuid.UUID, body: ProjectUpdate, principal: CurrentPrincipal, db: DbSession
) -> ProjectRead:
    """Rename or describe the project (editor or owner)."""
    return await service.update_project(
        db, user_id=principal.user_id, project_id=project_id, changes=body
    )


@router.delete("/{project_id}", status_code=204, summary="Delete a project")
async def delete_project(
    project_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> Response:
    """Delete the project and everything that belongs to it (owner only)."""
    await service.delete_project(db, user_id=principal.user_id, project_id=project_id)
    return Response(status_code=204)


@router.get("/{project_id}/status", response_model=ProjectStatus, summary="Get a project's status")
async def project_status(
    project_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> ProjectStatus:
    return await service.project_status(db, user_id=principal.user_id, project_id=project_id)


@router.get(
    "/{project_id}/events", response_model=Page[EventRead], summary="List a project's activity"
)
async def project_events(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[EventRead]:
    """Activity, newest first."""
    data, info = await service.list_events(
        db, user_id=principal.user_id, project_id=project_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.get("/{project_id}/members", response_model=Page[MemberRead], summary="List members")
async def list_members(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[MemberRead]:
    data, info = await service.list_members(
        db, user_id=principal.user_id, project_id=project_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.post(
    "/{project_id}/members",
    status_code=201,
    response_model=InvitationRead,
    summary="Invite a member",
)
async def invite_member(
    project_id: uuid.UUID,
    body: MemberAdd,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> InvitationRead:
    """Invite an email address (owner only). The same answer whether or not an account has the
    email: it becomes a member when that account accepts (`POST /invitations/{id}/accept`).
    409 when the email is already a member or already invited."""
    return await invitations.invite(
        db,
        user_id=principal.user_id,
        project_id=project_id,
        email=body.email,
        role=body.role,
        days=resources.settings.invitation_days,
    )


@router.get(
    "/{project_id}/invitations",
    response_model=Page[InvitationRead],
    summary="List pending invitations",
)
async def list_invitations(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[InvitationRead]:
    """Pending invitations, oldest first; an accepted one becomes a member instead."""
    data, info = await invitations.project_invitations(
        db, user_id=principal.user_id, project_id=project_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.delete(
    "/{project_id}/invitations/{invitation_id}", status_code=204, summary="Withdraw an invitation"
)
async def revoke_invitation(
    project_id: uuid.UUID, invitation_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> Response:
    """Withdraw a pending invitation (owner only)."""
    await invitations.revoke(
        db, user_id=principal.user_id, project_id=project_id, invitation_id=invitation_id
    )
    return Response(status_code=204)


@router.patch(
    "/{project_id}/members/{user_id}", response_model=MemberRead, summary="Change a member's role"
)
async def change_member_role(
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    body: MemberUpdate,
    principal: CurrentPrincipal,
    db: DbSession,
) -> MemberRead:
    """Change a member's role (owner only; the last owner stays owner)."""
    return await service.change_role(
        db, user_id=principal.user_id, project_id=project_id, member_id=user_id, role=body.role
    )


@router.delete("/{project_id}/members/{user_id}", status_code=204, summary="Remove a member")
async def remove_member(
    project_id: uuid.UUID, user_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> Response:
    """Remove a member, or leave (any member may remove themselves; not the last owner)."""
    await service.remove_member(
        db, user_id=principal.user_id, project_id=project_id, member_id=user_id
    )
    return Response(status_code=204)


@invitations_router.get(
    "", response_model=Page[ReceivedInvitation], summary="List invitations to me"
)
async def received_invitations(
    principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep, page: PageParamsDep
) -> Page[ReceivedInvitation]:
    """Pending invitations to the caller's email, newest first."""
    data, info = await invitations.received_invitations(
        db, user_id=principal.user_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@invitations_router.post(
    "/{invitation_id}/accept", response_model=ProjectRead, summary="Accept an invitation"
)
async def accept_invitation(
    invitation_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> ProjectRead:
    """Join the project with the invited role; 404 unless it invites the caller's email."""
    project, role = await invitations.accept(
        db, user_id=principal.user_id, invitation_id=invitation_id
    )
    return service.project_read(project, role)
