"""POST /api/v1/chat/morph-chat: the model proposes an edit, the server applies it."""

from __future__ import annotations

from typing import Any

import pytest

from orbiter.runtime.resources import Resources
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import SignedInFactory, assert_error

CODE = """import React from "react"

export default function App() {
  const title = "Hello"
  return <h1>{title}</h1>
}
"""

FRAGMENT: dict[str, Any] = {
    "commentary": "A greeting page",
    "template": "nextjs-developer",
    "title": "Greeting",
    "description": "Says hello",
    "additional_dependencies": [],
    "has_additional_dependencies": False,
    "install_dependencies_command": "",
    "port": 3000,
    "file_path": "pages/index.tsx",
    "code": CODE,
}


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


async def morph(client: Any, fragment: dict[str, Any] | None = None, **extra: Any) -> Any:
    body = {
        "messages": [{"role": "user", "content": "Say goodbye instead"}],
        "current_fragment": fragment or FRAGMENT,
        **extra,
    }
    return await client.post("/api/v1/chat/morph-chat", json=body)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_applies_a_search_replace_edit(
    signed_in: SignedInFactory, fake_llm: FakeLLM, kind: str
) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm, kind)
    fake_llm.queue_reply(
        "Changing the title.\n" + block('  const title = "Hello"\n', '  const title = "Goodbye"\n')
    )
    response = await morph(user.api)
    assert response.status_code == 200, response.text
    assert response.json() == {**FRAGMENT, "code": CODE.replace('"Hello"', '"Goodbye"')}
    assert response.headers["RateLimit-Limit"] == "10"
    [sent] = fake_llm.completions()
    system = sent.json["system"] if kind == "anthropic" else sent.json["messages"][0]["content"]
    assert "<<<<<<< SEARCH" in system and CODE in system and "pages/index.tsx" in system
    assert sent.messages[-1]["content"] == "Say goodbye instead"


async def test_accepts_camel_case_current_fragment_and_several_fenced_blocks(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm)
    reply = (
        "```tsx\n"
        + block('import React from "react"\n', 'import React, { useState } from "react"\n')
        + "```\n\n```tsx\n"
        + block("  return <h1>{title}</h1>\n", "  return <h2>{title}</h2>\n")
        + "```\n"
    )
    fake_llm.queue_reply(reply)
    body = {"messages": [{"role": "user", "content": "edit"}], "currentFragment": FRAGMENT}
    response = await user.browser.post("/api/v1/chat/morph-chat", json=body)
    assert response.status_code == 200, response.text
    code = response.json()["code"]
    assert code.startswith('import React, { useState } from "react"\n')
    assert "<h2>{title}</h2>" in code and "<h1>" not in code


async def test_tolerates_trailing_whitespace_and_other_indentation(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm)
    # the model dropped the two-space indent and added trailing spaces
    fake_llm.queue_reply(
        block(
            'const title = "Hello"   \nreturn <h1>{title}</h1>\n',
            'const title = "Bye"\nreturn <p>{title}</p>\n',
        )
    )
    response = await morph(user.browser)
    assert response.status_code == 200, response.text
    assert '  const title = "Bye"\n  return <p>{title}</p>\n' in response.json()["code"]


async def test_a_whole_file_in_one_code_block_replaces_the_code(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm)
    fake_llm.queue_reply("Here is the new file:\n```tsx\nexport default () => null\n```\n")
    response = await morph(user.browser)
    assert response.status_code == 200, response.text
    assert response.json()["code"] == "export default () => null\n"


async def test_an_empty_search_fills_an_empty_file(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm)
    fake_llm.queue_reply(block("", "print('hi')\n"))
    response = await morph(user.browser, {**FRAGMENT, "code": ""})
    assert response.json()["code"] == "print('hi')\n"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (block("  const missing = 1\n", "x\n"), "not found"),
        ("I cannot help with that.", "no edit"),
        ("<<<<<<< SEARCH\nconst title\n=======\n", "incomplete"),
        ("```\na\n```\n```\nb\n```\n", "several code blocks"),
        (block("", "x\n"), "empty SEARCH"),
    ],
)
async def test_an_edit_that_cannot_be_applied_is_502_saying_why(
    signed_in: SignedInFactory, fake_llm: FakeLLM, reply: str, reason: str
) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm)
    fake_llm.queue_reply(reply)
    error = assert_error(await morph(user.browser), 502, "UPSTREAM_ERROR")
    assert reason in error["message"]
    assert error["details"]["reply_excerpt"] == reply[:2000]


async def test_an_ambiguous_search_is_refused_and_nothing_guessed(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm)
    fake_llm.queue_reply(block("x = 1\n", "x = 2\n"))
    error = assert_error(
        await morph(user.browser, {**FRAGMENT, "code": "x = 1\ny = 0\nx = 1\n"}),
        502,
        "UPSTREAM_ERROR",
    )
    assert "matches 2 places" in error["message"]


async def test_a_failing_provider_is_502(signed_in: SignedInFactory, fake_llm: FakeLLM) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm, api_key="bad-key-0000000000")
    error = assert_error(await morph(user.browser), 502, "UPSTREAM_ERROR")
    assert "401" in error["message"]


async def test_a_cut_off_reply_is_502(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "llm_max_response_chars", 20)
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm)
    fake_llm.queue_reply(block('  const title = "Hello"\n', '  const title = "Goodbye"\n'))
    error = assert_error(await morph(user.browser), 502, "UPSTREAM_ERROR")
    assert "cut off" in error["message"]


async def test_no_provider_is_503(signed_in: SignedInFactory, fake_llm: FakeLLM) -> None:
    user = await signed_in()
    error = assert_error(await morph(user.browser), 503, "SERVICE_UNAVAILABLE")
    assert "POST /api/v1/providers" in error["message"]


BAD_BODIES: list[dict[str, Any]] = [
    {"messages": [{"role": "user", "content": "x"}]},
    {"messages": [{"role": "user", "content": "x"}], "current_fragment": {"title": "no code"}},
    {"messages": [], "current_fragment": FRAGMENT},
    {"messages": [{"role": "user", "content": "x"}], "current_fragment": {**FRAGMENT, "port": 0}},
]


@pytest.mark.parametrize("body", BAD_BODIES)
async def test_bad_bodies_are_422(
    signed_in: SignedInFactory, fake_llm: FakeLLM, body: dict[str, Any]
) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm)
    assert_error(
        await user.browser.post("/api/v1/chat/morph-chat", json=body), 422, "VALIDATION_ERROR"
    )
    assert fake_llm.completions() == []


async def test_morph_chat_counts_against_the_llm_limit(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "rate_limit_llm_free", 1)
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm)
    fake_llm.queue_reply(block('  const title = "Hello"\n', '  const title = "Bye"\n'))
    assert (await morph(user.browser)).status_code == 200
    limited = await morph(user.browser)
    assert_error(limited, 429, "RATE_LIMITED")
    assert "Retry-After" in limited.headers
    chat = await user.browser.post(
        "/api/v1/chat", json={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert_error(chat, 429, "RATE_LIMITED")
