"""A document's text from its bytes, by file type. Blocking: the indexing job runs it in a
thread. Anything that is not what its type claims raises `ExtractionFailed` with a reason the
user reads on the document (`status: failed`), never an unexpected error.

* txt, md: UTF-8 (a BOM is dropped); bytes that are not UTF-8, or NUL bytes, are refused;
* html: the rendered text, by `inscriptis` (layout-aware: block elements, lists and tables
  become lines; scripts and styles are dropped);
* json: parsed, then written out indented (keys and values are the searchable words);
* csv: one line per row, `column: value` pairs named by the header row;
* pdf: `pypdf`'s text of every page, pages separated by a blank line, NFKC-normalised (so
  ligatures such as "ﬁ" become "fi"); an encrypted PDF that an empty password does not open
  is refused, as is one without any text (a scan needs OCR, which this does not do).
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable

import pypdf
from inscriptis import get_text
from pypdf.errors import PyPdfError

MAX_REASON_CHARS = 300


class ExtractionFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:MAX_REASON_CHARS]


def decode_text(data: bytes) -> str:
    if b"\x00" in data:
        raise ExtractionFailed("The file is binary (it has NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractionFailed(f"The file is not UTF-8 text (byte {exc.start})") from exc


def html_text(data: bytes) -> str:
    return str(get_text(decode_text(data)))


def json_text(data: bytes) -> str:
    try:
        value = json.loads(decode_text(data))
    except ValueError as exc:
        raise ExtractionFailed(f"The file is not valid JSON: {exc}") from exc
    return json.dumps(value, indent=2, ensure_ascii=False)


def csv_text(data: bytes) -> str:
    text = decode_text(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise ExtractionFailed(f"The file is not valid CSV: {exc}") from exc
    if not rows:
        return ""
    header, lines = rows[0], [", ".join(rows[0])]
    for row in rows[1:]:
        pairs = zip(header, row, strict=False)
        lines.append(", ".join(f"{name}: {value}" for name, value in pairs if value))
    return "\n".join(lines)


def pdf_text(data: bytes) -> str:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionFailed("The PDF is encrypted with a password; upload it decrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ExtractionFailed:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise ExtractionFailed(f"Not a readable PDF: {exc or type(exc).__name__}") from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise ExtractionFailed("The PDF has no text (a scanned PDF needs OCR first)")
    return unicodedata.normalize("NFKC", text).replace("\x00", "")


EXTRACTORS: dict[str, Callable[[bytes], str]] = {
    "txt": decode_text,
    "md": decode_text,
    "html": html_text,
    "json": json_text,
    "csv": csv_text,
    "pdf": pdf_text,
}


def extract_text(file_type: str, data: bytes) -> str:
    """The document's text, stripped; `ExtractionFailed` when there is none."""
    text = EXTRACTORS[file_type](data).strip()
    if not text:
        raise ExtractionFailed("The document has no text")
    return text
