"""The README's example workflow, as printed there, does what the README says: a long page is
summarised by the model, a short one comes back as it is."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.agents.util import priced_provider
from tests.fakes.llm_servers import FakeLLM, LoopbackServer
from tests.helpers import API
from tests.runs.util import wait_for

pytestmark = pytest.mark.usefixtures("run_worker")

README = Path(__file__).resolve().parents[2] / "README.md"
LONG = "A rocket page. " * 200


def readme_example() -> dict[str, Any]:
    text = README.read_text()
    start = text.index("An example (tested in `tests/workflows/test_readme_example.py`)")
    block = re.search(r"```json\n(.*?)\n```", text[start:], re.DOTALL)
    assert block is not None
    example: dict[str, Any] = json.loads(block.group(1))
    return example


async def page(request: Request) -> PlainTextResponse:
    return PlainTextResponse(LONG if request.url.path == "/long" else "Short page.")


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = LoopbackServer(Starlette(routes=[Route("/long", page), Route("/short", page)]))
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


async def test_the_readme_example_summarises_long_pages_only(
    browser: AsyncClient, fake_llm: FakeLLM, site: str
) -> None:
    await priced_provider(browser, fake_llm)
    created = await browser.post(f"{API}/workflows", json=readme_example())
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]

    async def run(url: str) -> dict[str, Any]:
        started = await browser.post(
            f"{API}/workflows/{workflow_id}/run", json={"inputs": {"url": url}}
        )
        assert started.status_code == 202, started.text
        done = await wait_for(browser, started.json()["id"])
        assert done["status"] == "succeeded", done["error"]
        return done

    short = await run(f"{site}/short")
    assert short["output"]["body"] == {"url": f"{site}/short", "text": "Short page."}
    assert fake_llm.completions() == []

    long = await run(f"{site}/long")
    [sent] = fake_llm.completions()
    assert sent.messages[0] == {"role": "system", "content": "Summarise in three sentences."}
    assert long["output"]["status_code"] == 200
    assert long["output"]["body"]["text"] == f"Echo: {LONG}"
