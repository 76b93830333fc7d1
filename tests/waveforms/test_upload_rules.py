"""What POST /waveforms refuses (and leaves nothing of), and whose waveforms are whose."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import pytest

from orbiter.runtime.resources import Resources
from tests.helpers import API, SignedIn, SignedInFactory, assert_error, new_project
from tests.waveforms.files import shared_fixture, upload, uploaded


@pytest.fixture
async def user(signed_in: SignedInFactory) -> SignedIn:
    return await signed_in()


async def _nothing_kept(user: SignedIn, resources: Resources, data: bytes) -> None:
    assert (await user.api.get(f"{API}/waveforms")).json()["data"] == []
    sha = hashlib.sha256(data).hexdigest()
    assert not await resources.blobs.exists(f"waveforms/{sha[:2]}/{sha[2:4]}/{sha}")


async def test_a_broken_waveform_is_422_and_bytes_in_no_format_are_415_leaving_nothing(
    user: SignedIn, resources: Resources
) -> None:
    gcd = shared_fixture("GCD.vcd")
    broken = {
        "truncated.fst": shared_fixture("basic_test.fst")[:300],
        "truncated.ghw": shared_fixture("ali.ghw")[:200],
        # A change for a signal id the header never declared.
        "unknown-id.vcd": gcd[: gcd.index(b"$dumpvars")] + b"$dumpvars\n#1\nZZZ $$$ garbage\n",
    }
    for name, data in broken.items():
        error = assert_error(await upload(user.api, name, data), 422, "VALIDATION_ERROR")
        [field] = error["details"]["fields"]
        assert (field["field"], field["type"]) == ("file", "invalid_waveform"), name
        assert field["message"].startswith("The waveform file does not parse"), name
        await _nothing_kept(user, resources, data)

    for data in (b"hello, world\n", b""):
        error = assert_error(
            await upload(user.api, "notes.vcd", data), 415, "UNSUPPORTED_MEDIA_TYPE"
        )
        assert "VCD, FST and GHW" in error["message"]
        await _nothing_kept(user, resources, data)

    as_json = await user.api.post(f"{API}/waveforms", json={"file": "GCD.vcd"})
    assert_error(as_json, 415, "UNSUPPORTED_MEDIA_TYPE")
    no_file = await user.api.post(f"{API}/waveforms", files={"other": ("x.vcd", gcd)})
    error = assert_error(no_file, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == "file"


async def test_an_upload_over_the_plans_limit_is_413_before_the_body_is_read(
    user: SignedIn, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    gcd = shared_fixture("GCD.vcd")
    monkeypatch.setattr(resources.settings, "waveform_max_bytes_free", len(gcd) - 1)
    error = assert_error(await upload(user.api, "GCD.vcd", gcd), 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"max_bytes": len(gcd) - 1, "plan": "free"}
    assert (await user.api.get(f"{API}/waveforms")).json()["data"] == []
    unique = uuid.uuid4().bytes * 100  # bytes no other test stored
    assert_error(await upload(user.api, "big.vcd", unique), 413, "PAYLOAD_TOO_LARGE")
    await _nothing_kept(user, resources, unique)

    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        """A `file` part that never ends."""
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.vcd"\r\n\r\n'
        for _ in range(1000):
            sent.append(1)
            yield b"x" * 65536

    declared = {
        "Content-Type": "multipart/form-data; boundary=b",
        "Content-Length": str(1000 * 65536),
    }
    refused = await user.api.post(f"{API}/waveforms", content=endless(), headers=declared)
    assert_error(refused, 413, "PAYLOAD_TOO_LARGE")
    assert len(sent) <= 1  # refused from Content-Length: (next to) nothing was read

    undeclared = await user.api.post(
        f"{API}/waveforms",
        content=endless(),
        headers={"Content-Type": "multipart/form-data; boundary=b", "Transfer-Encoding": "chunked"},
    )
    assert_error(undeclared, 413, "PAYLOAD_TOO_LARGE")
    assert len(sent) < 10  # counted as it arrived: stopped once past the limit

    monkeypatch.setattr(resources.settings, "waveform_max_bytes_free", len(gcd))
    assert (await upload(user.api, "GCD.vcd", gcd)).status_code == 201  # exactly the limit


async def test_a_waveform_can_name_a_project_of_the_callers_only(
    user: SignedIn, signed_in: SignedInFactory
) -> None:
    gcd = shared_fixture("GCD.vcd")
    project = await new_project(user.api, "Chip")
    filed = await upload(user.api, "GCD.vcd", gcd, project_id=project)
    assert filed.status_code == 201 and filed.json()["project_id"] == project
    stranger = await signed_in()
    theirs = await new_project(stranger.api, "Not yours")
    assert_error(
        await upload(user.api, "GCD.vcd", gcd, project_id=theirs), 404, "RESOURCE_NOT_FOUND"
    )
    bad = await upload(user.api, "GCD.vcd", gcd, project_id="not-a-uuid")
    assert_error(bad, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_another_users_waveform_is_404_on_every_route(
    user: SignedIn, signed_in: SignedInFactory, method: str
) -> None:
    data = shared_fixture("GCD.vcd")
    mine = await uploaded(user.api, "GCD.vcd", data)
    intruder = (await signed_in()).clients()[method]
    url = f"{API}/waveforms/{mine['id']}"
    for verb, path in (
        ("GET", url),
        ("GET", f"{url}/signals/GCD.x"),
        ("GET", f"{url}/download"),
        ("DELETE", url),
    ):
        hidden = assert_error(await intruder.request(verb, path), 404, "RESOURCE_NOT_FOUND")
        missing = await intruder.request(verb, path.replace(str(mine["id"]), str(uuid.uuid4())))
        assert hidden == assert_error(missing, 404, "RESOURCE_NOT_FOUND")
    assert (await intruder.get(f"{API}/waveforms")).json()["data"] == []
    # The owner still has it, bytes and all.
    assert (await user.api.get(f"{url}/download")).content == data
