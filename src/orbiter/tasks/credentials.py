"""Which token a task pushes with: the user's `github` infrastructure credential, for the
host it is for (github.com, or the GitHub Enterprise host in its metadata)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.crypto import SecretBox
from orbiter.infrastructure.credentials import credential_for
from orbiter.infrastructure.providers.github import web_host

PROVIDER = "github"


async def push_token(
    db: AsyncSession, secrets: SecretBox, *, user_id: uuid.UUID, url: str
) -> tuple[str | None, str | None]:
    """(token, host) when the user stored a credential for the host of `url`, else
    (None, None). The host matches with or without the URL's port."""
    found = await credential_for(db, user_id, PROVIDER, secrets=secrets)
    if found is None:
        return None, None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    names = {host, f"{host}:{parts.port}"} if parts.port else {host}
    wanted = web_host(found.metadata)
    return (found.token, wanted) if wanted in names else (None, None)
