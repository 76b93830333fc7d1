"""Documents: every supported type is extracted, indexed and found by a word it contains;
uploads are stored once by hash; bad files fail cleanly with a reason; deletes cascade."""

from __future__ import annotations

import hashlib
import json
import zipfile
from io import BytesIO

import pytest
from httpx import AsyncClient

from orbiter.knowledge.originals import original_key
from orbiter.runtime.resources import Resources
from tests.helpers import API, assert_error
from tests.knowledge.util import (
    fixture,
    indexed,
    make_kb,
    pdf_of,
    query,
    upload,
    wait_done,
)

pytestmark = pytest.mark.usefixtures("run_worker")

# (fixture file, content type, a word only that file has)
FIXTURES = [
    ("pypdf-README.md", "text/markdown", "StackOverflow"),
    ("mdn-letter.html", "text/html", "Eileen"),
    ("iowa-electricity.csv", "text/csv", "Renewables"),
    ("vicksburg-crazyones-merged.pdf", "application/pdf", "troublemakers"),
]


async def test_each_type_is_extracted_indexed_and_found(browser: AsyncClient) -> None:
    kb = await make_kb(browser, chunk_size=128, chunk_overlap=16)
    made = {
        "notes.txt": (b"The quokka lives on Rottnest Island.\n\nIt smiles.", "text/plain"),
        "config.json": (json.dumps({"service": {"region": "ap-southeast-2"}}).encode(), ""),
    }
    for name, data, content_type in [(n, d, c) for n, (d, c) in made.items()] + [
        (name, fixture(name), content_type) for name, content_type, _ in FIXTURES
    ]:
        document = await indexed(browser, kb["id"], name, data, content_type)
        assert document["chunks_total"] == document["chunks_done"] > 0, document
        assert document["size"] == len(data)
        assert document["content_hash"] == hashlib.sha256(data).hexdigest()
    words = [("quokka", "notes.txt"), ("southeast", "config.json")]
    for name, _, word in FIXTURES:
        words.append((word, name))
    for word, name in words:
        found = await query(browser, kb["id"], word)
        assert found["method"] == "text"
        best = found["results"][0]
        assert best["document_name"] == name, (word, found)
        assert word.lower() in best["text"].lower()
        assert best["score"] > 0 and best["position"] >= 0
    listed = await browser.get(f"{API}/knowledge-bases/{kb['id']}")
    assert listed.json()["status"] == "ready"
    assert listed.json()["documents"]["ready"] == len(words)


async def test_a_sentence_from_page_two_of_a_pdf_is_found(browser: AsyncClient) -> None:
    kb = await make_kb(browser)
    data = pdf_of("The first page is about ships.", "The heliotrope garden blooms in June.")
    document = await indexed(browser, kb["id"], "garden.pdf", data, "application/pdf")
    detail = (await browser.get(f"{API}/documents/{document['id']}")).json()
    assert "heliotrope garden blooms" in detail["text"]
    found = await query(browser, kb["id"], "when does the heliotrope garden bloom?")
    assert "heliotrope garden blooms in June" in found["results"][0]["text"]
    download = await browser.get(f"{API}/documents/{document['id']}/download")
    assert download.status_code == 200 and download.content == data
    assert download.headers["content-type"] == "application/pdf"
    assert "garden.pdf" in download.headers["content-disposition"]


async def test_the_same_bytes_are_stored_once(browser: AsyncClient, resources: Resources) -> None:
    kb, other = await make_kb(browser), await make_kb(browser, name="Other")
    data = b"Albatrosses glide for hours without flapping."
    first = await upload(browser, kb["id"], "birds.txt", data)
    again = await upload(browser, kb["id"], "birds-copy.txt", data)
    assert first.status_code == 202 and again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    elsewhere = await upload(browser, other["id"], "birds.txt", data)
    assert elsewhere.status_code == 202 and elsewhere.json()["id"] != first.json()["id"]
    digest = hashlib.sha256(data).hexdigest()
    assert await resources.blobs.exists(original_key(digest))
    listed = await browser.get(f"{API}/knowledge-bases/{kb['id']}/documents")
    assert listed.json()["pagination"]["total"] == 1
    # The original goes once the last document naming it does.
    await wait_done(browser, first.json()["id"])
    await wait_done(browser, elsewhere.json()["id"])
    gone = await browser.delete(f"{API}/knowledge-bases/{kb['id']}/documents/{first.json()['id']}")
    assert gone.status_code == 204
    assert await resources.blobs.exists(original_key(digest))
    gone = await browser.delete(f"{API}/knowledge-bases/{other['id']}")
    assert gone.status_code == 204
    assert not await resources.blobs.exists(original_key(digest))


async def test_unknown_types_are_415_and_large_files_413(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = await make_kb(browser)
    refused = await upload(browser, kb["id"], "tool.exe", b"MZ\x90\x00", "application/octet-stream")
    assert_error(refused, 415, "UNSUPPORTED_MEDIA_TYPE")
    monkeypatch.setattr(resources.settings, "max_document_bytes", 1000)
    too_big = await upload(browser, kb["id"], "big.txt", b"word " * 400)
    error = assert_error(too_big, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"]["max_bytes"] == 1000
    # A body far over the limit is refused from its Content-Length, before it is read.
    huge = await upload(browser, kb["id"], "huge.txt", b"x" * 200_000)
    assert_error(huge, 413, "PAYLOAD_TOO_LARGE")
    listed = await browser.get(f"{API}/knowledge-bases/{kb['id']}/documents")
    assert listed.json()["data"] == []


async def test_a_multipart_body_that_does_not_parse_is_400_and_stores_nothing(
    browser: AsyncClient,
) -> None:
    kb = await make_kb(browser)
    garbled = await browser.post(
        f"{API}/knowledge-bases/{kb['id']}/documents",
        content=b"--edge\r\nContent-Disposition: form-data; name=file; filename=a.txt\r\n",
        headers={"Content-Type": "multipart/form-data"},  # no boundary
    )
    assert_error(garbled, 400, "BAD_REQUEST")
    listed = await browser.get(f"{API}/knowledge-bases/{kb['id']}/documents")
    assert listed.json()["data"] == []


def _zip() -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "not a pdf at all")
    return out.getvalue()


async def test_files_that_are_not_what_they_claim_fail_with_a_reason(
    browser: AsyncClient,
) -> None:
    kb = await make_kb(browser)
    good = pdf_of("A page.", "Another page.")
    cases = {
        "truncated.pdf": (good[: len(good) // 3], "Not a readable PDF"),
        "archive.pdf": (_zip(), "Not a readable PDF"),
        "locked.pdf": (pdf_of("Secret plans.", password="hunter2"), "encrypted"),
        "binary.txt": (b"\x00\x01\x02 text", "binary"),
        "latin1.md": ("Café".encode("latin-1"), "not UTF-8"),
        "broken.json": (b'{"a": ', "not valid JSON"),
        "blank.txt": (b"   \n\n  ", "no text"),
    }
    for name, (data, reason) in cases.items():
        response = await upload(browser, kb["id"], name, data, "")
        assert response.status_code == 202, response.text
        document = await wait_done(browser, response.json()["id"])
        assert document["status"] == "failed", (name, document)
        assert reason in document["error"], (name, document["error"])
        assert document["chunks_done"] == 0
    encrypted = await upload(browser, kb["id"], "crazy.pdf", fixture("crazyones-encrypted-256.pdf"))
    document = await wait_done(browser, encrypted.json()["id"])
    assert document["status"] == "failed" and "encrypted" in document["error"]
    counts = (await browser.get(f"{API}/knowledge-bases/{kb['id']}")).json()["documents"]
    assert counts["failed"] == len(cases) + 1 and counts["ready"] == 0


async def test_deleting_a_document_removes_its_chunks(browser: AsyncClient) -> None:
    kb = await make_kb(browser)
    kept = await indexed(browser, kb["id"], "kept.txt", b"Kestrels hover over fields.")
    dropped = await indexed(browser, kb["id"], "dropped.txt", b"Kestrels nest on cliffs.")
    before = (await browser.get(f"{API}/knowledge-bases/{kb['id']}")).json()
    assert before["chunk_count"] == 2
    path = f"{API}/knowledge-bases/{kb['id']}/documents/{dropped['id']}"
    assert (await browser.delete(path)).status_code == 204
    assert_error(await browser.delete(path), 404, "RESOURCE_NOT_FOUND")
    assert_error(await browser.get(f"{API}/documents/{dropped['id']}"), 404, "RESOURCE_NOT_FOUND")
    found = await query(browser, kb["id"], "kestrels")
    assert [hit["document_id"] for hit in found["results"]] == [kept["id"]]
    after = (await browser.get(f"{API}/knowledge-bases/{kb['id']}")).json()
    assert after["chunk_count"] == 1 and after["documents"]["total"] == 1
    assert (await browser.delete(f"{API}/knowledge-bases/{kb['id']}")).status_code == 204
    assert_error(await browser.get(f"{API}/documents/{kept['id']}"), 404, "RESOURCE_NOT_FOUND")
    assert (await browser.get(f"{API}/documents")).json()["data"] == []
