"""The GitHub proxy: whose token, which API, and GitHub's lists paged by our one paginator.

GitHub pages by number and gives no total, so a listing reads GitHub's pages (100 items each)
up to `MAX_ITEMS` and pages through them with `paginate_items`: a stable order, a real
`total`, the same cursor contract as every other list.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import NotFound, ServiceUnavailable
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate_items
from orbiter.github.schemas import GitHubOrg, GitHubRepo, GitHubUser
from orbiter.infrastructure.credentials import credential_for
from orbiter.infrastructure.providers.github import api_base, call_github, client
from orbiter.runtime.resources import Resources

PER_PAGE = 100
MAX_ITEMS = 1000
HOW_TO_ADD_ONE = (
    "No GitHub token: save yours with POST /api/v1/infrastructure/credentials "
    '{"provider": "github", "api_token": "..."} (or the operator sets ORBITER_GITHUB_TOKEN)'
)
REFUSED = {
    "credential": "GitHub refused the token of your github credential; save a new one with "
    "POST /api/v1/infrastructure/credentials",
    "server": "GitHub refused the server's token (ORBITER_GITHUB_TOKEN); tell the operator, or "
    "save your own with POST /api/v1/infrastructure/credentials",
}


@dataclass(frozen=True)
class Access:
    token: str
    base_url: str
    source: str  # credential | server


async def github_access(db: AsyncSession, resources: Resources, user_id: uuid.UUID) -> Access:
    settings = resources.settings
    found = await credential_for(db, user_id, "github", secrets=resources.secrets)
    if found is not None:
        return Access(found.token, api_base(found.metadata, settings), "credential")
    if settings.github_token:
        return Access(settings.github_token, settings.github_api_url.rstrip("/"), "server")
    raise ServiceUnavailable(HOW_TO_ADD_ONE)


class Session:
    """One request's calls to GitHub with one token."""

    def __init__(self, resources: Resources, access: Access) -> None:
        self.access = access
        self.gh = client(access.token, access.base_url, resources.settings)

    async def call(self, request: Callable[[], Awaitable[Any]]) -> Any:
        response = await call_github(
            request, base_url=self.access.base_url, refused=REFUSED[self.access.source]
        )
        return response.json()

    async def pages(self, method: Callable[..., Awaitable[Any]], **args: Any) -> list[Any]:
        items: list[Any] = []
        for page in range(1, MAX_ITEMS // PER_PAGE + 1):
            batch = await self.call(functools.partial(method, **args, per_page=PER_PAGE, page=page))
            items += batch if isinstance(batch, list) else []
            if not isinstance(batch, list) or len(batch) < PER_PAGE:
                break
        return items


async def _session(db: AsyncSession, resources: Resources, user_id: uuid.UUID) -> Session:
    return Session(resources, await github_access(db, resources, user_id))


async def get_user(db: AsyncSession, resources: Resources, *, user_id: uuid.UUID) -> GitHubUser:
    session = await _session(db, resources, user_id)
    async with session.gh as gh:
        user = await session.call(gh.rest.users.async_get_authenticated)
    return GitHubUser(
        login=user["login"],
        name=user.get("name"),
        avatar_url=user.get("avatar_url"),
        token_source=session.access.source,
    )


async def _repos(session: Session, owner: str | None) -> list[Any]:
    repos = session.gh.rest.repos
    if owner is None:
        return await session.pages(repos.async_list_for_authenticated_user)
    try:
        found = await session.call(lambda: session.gh.rest.users.async_get_by_username(owner))
    except NotFound as exc:
        raise NotFound(f"GitHub has no user or organization {owner!r}") from exc
    if found.get("type") == "Organization":
        return await session.pages(repos.async_list_for_org, org=owner)
    me = await session.call(session.gh.rest.users.async_get_authenticated)
    if str(me.get("login", "")).lower() == owner.lower():  # your own, private ones too
        return await session.pages(repos.async_list_for_authenticated_user, affiliation="owner")
    return await session.pages(repos.async_list_for_user, username=owner)


def _repo(item: dict[str, Any]) -> GitHubRepo:
    return GitHubRepo(
        id=item["id"],
        name=item["name"],
        full_name=item["full_name"],
        owner=(item.get("owner") or {}).get("login", ""),
        private=bool(item.get("private")),
        description=item.get("description"),
        default_branch=item.get("default_branch"),
        html_url=item.get("html_url"),
        clone_url=item.get("clone_url"),
        language=item.get("language"),
        fork=bool(item.get("fork")),
        archived=bool(item.get("archived")),
        updated_at=item.get("updated_at"),
        pushed_at=item.get("pushed_at"),
    )


async def list_repos(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    owner: str | None,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[GitHubRepo], PageInfo]:
    """The token's repositories (or `owner`'s), most recently updated first."""
    session = await _session(db, resources, user_id)
    async with session.gh:
        items = await _repos(session, owner)
    repos = [_repo(item) for item in items]
    return paginate_items(
        repos, key=lambda r: (r.updated_at or "", r.full_name), params=params, codec=codec
    )


async def list_orgs(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[GitHubOrg], PageInfo]:
    """The organizations the token's user belongs to, in GitHub's order."""
    session = await _session(db, resources, user_id)
    async with session.gh as gh:
        items = await session.pages(gh.rest.orgs.async_list_for_authenticated_user)
    orgs = [
        (
            index,
            GitHubOrg(
                id=o["id"],
                login=o["login"],
                avatar_url=o.get("avatar_url"),
                description=o.get("description"),
            ),
        )
        for index, o in enumerate(items)
    ]
    page, info = paginate_items(orgs, key=lambda o: (-o[0],), params=params, codec=codec)
    return [org for _, org in page], info
