"""Secrets at rest: AES-GCM with a key id in each ciphertext, so keys rotate."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from orbiter.core.crypto import SecretBox, new_key_entry
from orbiter.core.errors import ServiceUnavailable


def test_round_trip_and_fresh_nonces() -> None:
    box = SecretBox.from_setting([new_key_entry("k1")])
    first, second = box.encrypt("sk-live-123"), box.encrypt("sk-live-123")
    assert first != second and "sk-live" not in first
    assert first.startswith("v1.k1.")
    assert box.decrypt(first) == box.decrypt(second) == "sk-live-123"


def test_old_ciphertexts_still_open_after_rotation_and_new_ones_use_the_new_key() -> None:
    old_key = new_key_entry("old")
    before = SecretBox.from_setting([old_key]).encrypt("value")
    rotated = SecretBox.from_setting([new_key_entry("new"), old_key])
    assert rotated.decrypt(before) == "value"
    assert rotated.needs_rotation(before)
    after = rotated.encrypt("value")
    assert after.startswith("v1.new.") and not rotated.needs_rotation(after)


def test_a_removed_key_is_a_clear_error_not_garbage() -> None:
    sealed = SecretBox.from_setting([new_key_entry("gone")]).encrypt("value")
    with pytest.raises(ServiceUnavailable):
        SecretBox.from_setting([new_key_entry("other")]).decrypt(sealed)


def test_tampering_and_a_wrong_context_are_detected() -> None:
    box = SecretBox.from_setting([new_key_entry("k")])
    sealed = box.encrypt("value", context="provider:1")
    with pytest.raises(InvalidTag):
        box.decrypt(sealed, context="provider:2")
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(InvalidTag):
        box.decrypt(tampered, context="provider:1")


@pytest.mark.parametrize("entry", ["nokid", "k:short", ":" + new_key_entry("x").split(":")[1]])
def test_malformed_key_settings_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="key"):
        SecretBox.from_setting([entry])
