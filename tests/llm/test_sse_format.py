"""The SSE framing every streaming endpoint uses."""

from __future__ import annotations

from orbiter.core.sse import SSE_MEDIA_TYPE, format_comment, format_sse
from tests.sse import parse_sse


def test_an_event_has_id_name_and_one_json_data_line() -> None:
    raw = format_sse("delta", {"text": "line one\nline two", "n": 1}, id="7")
    assert raw == b'id: 7\nevent: delta\ndata: {"text":"line one\\nline two","n":1}\n\n'
    [event] = parse_sse(raw.decode())
    assert (event.id, event.event, event.data) == (
        "7",
        "delta",
        {"text": "line one\nline two", "n": 1},
    )


def test_newlines_cannot_forge_fields() -> None:
    raw = format_sse("done\nevent: evil", {"ok": True}, id="1\ndata: {}")
    assert raw.count(b"\n") == 4  # three field lines and the blank line
    [event] = parse_sse(raw.decode())
    assert event.data == {"ok": True}


def test_unicode_is_sent_as_utf8_and_comments_are_ignored() -> None:
    raw = format_comment("keep-alive") + format_sse("delta", {"text": "héllo ✓"})
    assert "héllo ✓".encode() in raw
    [event] = parse_sse(raw.decode())
    assert event.id is None and event.data == {"text": "héllo ✓"}
    assert SSE_MEDIA_TYPE == "text/event-stream"
