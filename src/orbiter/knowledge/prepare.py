"""A document's text and chunks from its bytes: what the indexing job runs in its helper
process (offload.py). It imports only the extraction and splitting libraries, so the helper
starts quickly."""

from __future__ import annotations

from orbiter.knowledge.chunking import split
from orbiter.knowledge.extract import extract_text


def text_and_chunks(
    file_type: str, data: bytes, chunk_size: int, chunk_overlap: int
) -> tuple[str, list[str]]:
    text = extract_text(file_type, data)
    return text, split(
        text, file_type=file_type, chunk_size=chunk_size, chunk_overlap=chunk_overlap
    )
