"""Splitting a document's text into chunks of at most `chunk_size` tokens, each repeating up
to `chunk_overlap` tokens of the one before, by `semantic-text-splitter`: it cuts at the
largest boundary that fits (paragraphs, then sentences, then words; Markdown documents at
headings, blocks and list items first). Tokens are OpenAI's o200k_base (GPT-4o), counted by
the tokenizer the package embeds: nothing is downloaded. Blocking: run it in a thread."""

from __future__ import annotations

from functools import lru_cache

from semantic_text_splitter import MarkdownSplitter, TextSplitter

TOKENIZER_MODEL = "gpt-4o"  # o200k_base


@lru_cache(maxsize=16)
def _splitter(markdown: bool, size: int, overlap: int) -> TextSplitter | MarkdownSplitter:
    kind = MarkdownSplitter if markdown else TextSplitter
    return kind.from_tiktoken_model(TOKENIZER_MODEL, size, overlap)


def split(text: str, *, file_type: str, chunk_size: int, chunk_overlap: int) -> list[str]:
    """The chunks in order, whitespace around each trimmed; none for blank text."""
    splitter = _splitter(file_type == "md", chunk_size, chunk_overlap)
    return [chunk for chunk in splitter.chunks(text) if chunk.strip()]
