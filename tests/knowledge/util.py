"""Helpers for knowledge tests: knowledge bases, uploads, waiting for indexing, files."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient, Response
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from tests.helpers import API

# ../shared/fixtures beside the checkout; ORBITER_TEST_FIXTURES names another place (a worktree).
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
FIXTURES = Path(os.environ.get("ORBITER_TEST_FIXTURES") or SHARED) / "documents"
DONE = {"ready", "failed"}


def fixture(name: str) -> bytes:
    """A real document from ../shared/fixtures (see SOURCES.md there); skip when absent."""
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    return path.read_bytes()


async def make_kb(client: AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/knowledge-bases", json={"name": "Docs", **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def upload(
    client: AsyncClient, kb_id: str, name: str, data: bytes, content_type: str = "text/plain"
) -> Response:
    files = {"file": (name, data, content_type)}
    return await client.post(f"{API}/knowledge-bases/{kb_id}/documents", files=files)


async def wait_done(client: AsyncClient, document_id: str, timeout: float = 15) -> dict[str, Any]:
    """The document once it is `ready` or `failed` (polled every few milliseconds)."""
    async with asyncio.timeout(timeout):
        while True:
            response = await client.get(f"{API}/documents/{document_id}")
            assert response.status_code == 200, response.text
            document: dict[str, Any] = response.json()
            if document["status"] in DONE:
                return document
            await asyncio.sleep(0.02)


async def indexed(
    client: AsyncClient, kb_id: str, name: str, data: bytes, content_type: str = "text/plain"
) -> dict[str, Any]:
    """Upload and wait until indexed; it must end `ready`."""
    response = await upload(client, kb_id, name, data, content_type)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    document = await wait_done(client, response.json()["id"])
    assert document["status"] == "ready", document
    return document


async def query(client: AsyncClient, kb_id: str, text: str, top_k: int = 5) -> dict[str, Any]:
    response = await client.post(
        f"{API}/knowledge-bases/{kb_id}/query", json={"query": text, "top_k": top_k}
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def pdf_of(*pages: str, password: str | None = None) -> bytes:
    """A PDF made by pypdf's writer, one text line per page (Helvetica), optionally
    encrypted with a user password."""
    writer = PdfWriter()
    for text in pages:
        page = writer.add_blank_page(width=612, height=792)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
        )
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if password is not None:
        writer.encrypt(password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
