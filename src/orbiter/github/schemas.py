from __future__ import annotations

from pydantic import BaseModel, Field


class GitHubUser(BaseModel):
    login: str
    name: str | None
    avatar_url: str | None
    token_source: str = Field(
        description="`credential` (your github credential) or `server` (ORBITER_GITHUB_TOKEN)"
    )


class GitHubRepo(BaseModel):
    id: int
    name: str
    full_name: str
    owner: str
    private: bool
    description: str | None
    default_branch: str | None
    html_url: str | None
    clone_url: str | None
    language: str | None
    fork: bool
    archived: bool
    updated_at: str | None
    pushed_at: str | None


class GitHubOrg(BaseModel):
    id: int
    login: str
    avatar_url: str | None
    description: str | None
