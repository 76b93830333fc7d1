"""Deployment keys: `odk_<secret>`, shown once, kept as a SHA-256 and a display prefix.

A key is good for its own deployment only: the invoke route compares the hash of the key sent
with the hash of the deployment it names, so another deployment's key (or a revoked one, whose
hash is gone) is refused the same way as a made-up one.
"""

from __future__ import annotations

from orbiter.auth.principal import DEPLOYMENT_KEY_PREFIX
from orbiter.core.security import hash_secret, new_secret, same
from orbiter.models import Deployment

DISPLAY_PREFIX_LENGTH = 12


def issue_key(row: Deployment) -> str:
    """A new key for the deployment (replacing any earlier one); the raw key, to show once."""
    raw = DEPLOYMENT_KEY_PREFIX + new_secret(32)
    row.key_hash = hash_secret(raw)
    row.key_prefix = raw[:DISPLAY_PREFIX_LENGTH]
    row.key_revoked_at = None
    return raw


def key_matches(row: Deployment, raw: str) -> bool:
    return row.key_hash is not None and same(row.key_hash, hash_secret(raw))
