"""/api/v1/github: the caller's GitHub account, repositories and organizations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.github import service
from orbiter.github.rate_limit import enforce_github_rate_limit
from orbiter.github.schemas import GitHubOrg, GitHubRepo, GitHubUser
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/github", tags=["github"])


async def _limit(resources: ResourcesDep, principal: CurrentPrincipal, response: Response) -> None:
    decision = await enforce_github_rate_limit(resources, principal)
    if decision is not None:
        response.headers.update(decision.headers())


@router.get("/user", response_model=GitHubUser, summary="Get the GitHub account")
async def get_user(
    principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep, response: Response
) -> GitHubUser:
    """The account of the token in use: your `github` credential's, else the server's. 503 when
    there is neither; 502 when GitHub refuses the token or fails."""
    await _limit(resources, principal, response)
    return await service.get_user(db, resources, user_id=principal.user_id)


@router.get("/repos", response_model=Page[GitHubRepo], summary="List GitHub repositories")
async def list_repos(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    response: Response,
    page: PageParamsDep,
    owner: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$",
            description="A user or organization (default: the token's own repositories)",
        ),
    ] = None,
) -> Page[GitHubRepo]:
    """Repositories the token sees, most recently updated first (at most 1,000)."""
    await _limit(resources, principal, response)
    data, info = await service.list_repos(
        db,
        resources,
        user_id=principal.user_id,
        owner=owner,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=data, pagination=info)


@router.get("/orgs", response_model=Page[GitHubOrg], summary="List GitHub organizations")
async def list_orgs(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    response: Response,
    page: PageParamsDep,
) -> Page[GitHubOrg]:
    """Organizations the token's account belongs to."""
    await _limit(resources, principal, response)
    data, info = await service.list_orgs(
        db, resources, user_id=principal.user_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)
