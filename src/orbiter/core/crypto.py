"""AES-GCM for secrets at rest. Each ciphertext names its key so keys can rotate.

`ORBITER_ENCRYPTION_KEYS` is `kid:base64key,kid2:base64key2` (32-byte keys), newest first:
the first key encrypts, every listed key decrypts. Format: `v1.<kid>.<base64(nonce|ct)>`.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orbiter.core.errors import ServiceUnavailable
from orbiter.core.settings import read_or_create

VERSION = "v1"


class SecretBox:
    def __init__(self, keys: dict[str, bytes], primary: str) -> None:
        if primary not in keys:
            raise ValueError("the primary key must be one of the keys")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._primary = primary

    @classmethod
    def from_setting(cls, entries: list[str]) -> SecretBox:
        keys: dict[str, bytes] = {}
        for entry in entries:
            kid, sep, encoded = entry.partition(":")
            if not sep or not kid or "." in kid:
                raise ValueError("each encryption key must look like 'kid:base64key'")
            try:
                key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except ValueError as exc:
                raise ValueError(f"encryption key {kid!r} is not valid base64") from exc
            if len(key) != 32:
                raise ValueError(f"encryption key {kid!r} must decode to 32 bytes")
            keys[kid] = key
        if not keys:
            raise ValueError("no encryption keys configured")
        return cls(keys, primary=entries[0].partition(":")[0])

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        nonce = os.urandom(12)
        sealed = self._keys[self._primary].encrypt(nonce, plaintext.encode(), context.encode())
        payload = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}.{self._primary}.{payload}"

    def decrypt(self, token: str, *, context: str = "") -> str:
        version, kid, payload = ([*token.split(".", 2), "", ""])[:3]
        if version != VERSION or kid not in self._keys:
            raise ServiceUnavailable(
                "A stored secret uses an encryption key that is not configured"
            )
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        return self._keys[kid].decrypt(raw[:12], raw[12:], context.encode()).decode()

    def needs_rotation(self, token: str) -> bool:
        return token.split(".", 2)[1:2] != [self._primary]


def new_key_entry(kid: str | None = None) -> str:
    key = base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode().rstrip("=")
    return f"{kid or secrets.token_hex(4)}:{key}"


def development_keys(data_dir: Path) -> tuple[list[str], bool]:
    """Outside production, a key generated once and kept beside the SQLite file; and whether
    it was generated just now."""
    text, generated = read_or_create(data_dir / "encryption_keys", lambda: new_key_entry("dev1"))
    return [e.strip() for e in text.split(",") if e.strip()], generated


def reseal(box: SecretBox, token: str, *, context: str) -> str | None:
    """`token` encrypted again under the newest key, or None when it already is (rotation)."""
    if not box.needs_rotation(token):
        return None
    return box.encrypt(box.decrypt(token, context=context), context=context)
