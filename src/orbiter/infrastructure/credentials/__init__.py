"""Infrastructure credentials: one per provider per user, validated, encrypted, never returned.

For other domains (deploys, coding tasks pushing to GitHub):

    token = await credential_token(db, user_id, "github", secrets=resources.secrets)
    found = await credential_for(db, user_id, "github", secrets=resources.secrets)
    found.token, found.metadata  # metadata["host"]: GitHub Enterprise's host, when set

`orbiter.infrastructure.providers.github.web_host(metadata)` is the git host a `github`
credential is for (github.com by default), `api_base(metadata, settings)` its API URL.
"""

from orbiter.infrastructure.credentials.service import (
    StoredCredential,
    credential_for,
    credential_token,
)

__all__ = ["StoredCredential", "credential_for", "credential_token"]
