"""Project invitations: an owner invites an email address; the account with that email accepts.

Inviting never looks an account up: the same rows, answers and events follow whether or not
someone has registered the email, so an owner cannot probe which addresses have accounts. The
invitation stays pending (the owner's list, the project's events) until the account accepts
it; it lapses after `ORBITER_INVITATION_DAYS`. An invitation is only ever shown, by id, to the
project's members and to the account whose email it names.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from orbiter.core.errors import Conflict, NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.schemas import normalise_email
from orbiter.core.time import utcnow
from orbiter.models import Project, ProjectInvitation, ProjectMember, Role, User
from orbiter.projects.schemas import InvitationRead, ReceivedInvitation
from orbiter.tenancy.access import load_project
from orbiter.tenancy.events import record_event


def invitation_read(invitation: ProjectInvitation) -> InvitationRead:
    return InvitationRead.model_validate(invitation, from_attributes=True)


async def invite(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    email: str,
    role: Role,
    days: int,
) -> InvitationRead:
    """A pending invitation for `email` (owner only). 409 when that email is already a member
    or already invited; nothing here depends on whether an account has the email."""
    project, _ = await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.OWNER)
    if project.is_personal:
        # It is where creates without a project_id land, so it stays its owner's alone.
        raise Conflict("A personal project cannot be shared; create a project to collaborate")
    email = normalise_email(email)
    if email in await _member_emails(db, project_id):
        raise Conflict("This email is already a member", details={"field": "email"})
    now = utcnow()
    await db.execute(
        delete(ProjectInvitation).where(
            ProjectInvitation.project_id == project_id,
            ProjectInvitation.email == email,
            ProjectInvitation.expires_at <= now,
        )
    )
    invitation = ProjectInvitation(
        project_id=project_id,
        email=email,
        role=role,
        invited_by=user_id,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    try:
        async with db.begin_nested():
            db.add(invitation)
    except IntegrityError as exc:
        raise Conflict("This email is already invited", details={"field": "email"}) from exc
    await record_event(
        db,
        project_id=project_id,
        actor_id=user_id,
        type="member.invited",
        data={"invitation_id": str(invitation.id), "email": email, "role": role},
    )
    return invitation_read(invitation)


async def _member_emails(db: AsyncSession, project_id: uuid.UUID) -> set[str]:
    # From the project's members to their users by primary key: the lookup is the same
    # whether or not some account outside the project has the invited email.
    stmt = (
        select(User.email)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == project_id)
    )
    return set((await db.scalars(stmt)).all())


async def project_invitations(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[InvitationRead], PageInfo]:
    """The project's pending invitations, oldest first (any member may read them)."""
    await load_project(db, user_id=user_id, project_id=project_id)
    stmt = select(ProjectInvitation).where(
        ProjectInvitation.project_id == project_id, ProjectInvitation.expires_at > utcnow()
    )
    rows, info = await paginate(
        db,
        stmt,
        order=[ProjectInvitation.created_at, ProjectInvitation.id],
        params=params,
        codec=codec,
        descending=False,
    )
    return [invitation_read(row[0]) for row in rows], info


async def revoke(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.OWNER)
    invitation = await db.get(ProjectInvitation, invitation_id)
    if invitation is None or invitation.project_id != project_id:
        raise NotFound("Invitation not found")
    await db.delete(invitation)
    await record_event(
        db,
        project_id=project_id,
        actor_id=user_id,
        type="member.invitation_revoked",
        data={"invitation_id": str(invitation_id), "email": invitation.email},
    )


async def received_invitations(
    db: AsyncSession, *, user_id: uuid.UUID, params: PageParams, codec: CursorCodec
) -> tuple[list[ReceivedInvitation], PageInfo]:
    """Pending invitations for the caller's email, newest first."""
    email = await _email_of(db, user_id)
    inviter = aliased(User)
    stmt = (
        select(ProjectInvitation, Project.name, inviter.email)
        .join(Project, Project.id == ProjectInvitation.project_id)
        .outerjoin(inviter, inviter.id == ProjectInvitation.invited_by)
        .where(ProjectInvitation.email == email, ProjectInvitation.expires_at > utcnow())
    )
    rows, info = await paginate(
        db,
        stmt,
        order=[ProjectInvitation.created_at, ProjectInvitation.id],
        params=params,
        codec=codec,
    )
    return [
        ReceivedInvitation(
            **invitation_read(row[0]).model_dump(), project_name=row[1], invited_by_email=row[2]
        )
        for row in rows
    ], info


async def accept(
    db: AsyncSession, *, user_id: uuid.UUID, invitation_id: uuid.UUID
) -> tuple[Project, Role]:
    """Join the project with the invited role. 404 unless the invitation names the caller's
    email and is still pending."""
    invitation = await db.get(ProjectInvitation, invitation_id)
    if (
        invitation is None
        or invitation.email != await _email_of(db, user_id)
        or invitation.expires_at <= utcnow()
    ):
        raise NotFound("Invitation not found")
    project = await db.get(Project, invitation.project_id)
    assert project is not None  # invitations go with their project
    member = ProjectMember(project_id=project.id, user_id=user_id, role=invitation.role)
    try:
        async with db.begin_nested():
            db.add(member)
    except IntegrityError as exc:  # already a member (or a concurrent accept won)
        raise Conflict("You are already a member of this project") from exc
    await db.delete(invitation)
    await record_event(
        db,
        project_id=project.id,
        actor_id=user_id,
        type="member.added",
        data={
            "user_id": str(user_id),
            "role": invitation.role,
            "invitation_id": str(invitation_id),
        },
    )
    return project, invitation.role


async def _email_of(db: AsyncSession, user_id: uuid.UUID) -> str:
    email = await db.scalar(select(User.email).where(User.id == user_id))
    if email is None:
        raise NotFound("User not found")
    return email
