"""The webhook trigger: a secret URL per workflow that starts a run with the POSTed JSON as its
inputs, acting as the workflow's creator, and answers with the run's api_response."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from httpx import AsyncClient, Response

from orbiter.runtime.resources import Resources
from tests.helpers import API, SignedIn, SignedInFactory, add_member, assert_error, new_project
from tests.runs.util import get_run, wait_for
from tests.workflows.util import canvas, edge, make_workflow, node

pytestmark = pytest.mark.usefixtures("run_worker")


def hook_canvas(*after: dict[str, Any]) -> dict[str, Any]:
    """A webhook trigger, then `after` in a chain."""
    nodes = [node("hook", "webhook"), *after]
    return canvas(*nodes, edges=[edge(a["id"], b["id"]) for a, b in pairwise(nodes)])


async def hooked(client: AsyncClient, graph: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A webhook workflow and its hook's path (from the URL shown once)."""
    workflow = await make_workflow(client, name="Hooked", canvas=graph)
    created = await client.post(f"{API}/workflows/{workflow['id']}/webhook-token")
    assert created.status_code == 201, created.text
    shown = created.json()
    assert set(shown) == {"url", "token"} and shown["token"].startswith("orbw_")
    assert shown["url"] == f"http://testserver{API}/hooks/workflows/{shown['token']}"
    return workflow, str(shown["url"]).removeprefix("http://testserver")


async def test_a_posted_json_object_becomes_the_inputs_of_a_run_by_the_creator(
    signed_in: SignedInFactory, client: AsyncClient
) -> None:
    alice = await signed_in()
    workflow, hook = await hooked(alice.browser, hook_canvas())
    body = {"event": "push", "commits": [{"id": "abc"}], "n": 3}

    answer = await client.post(hook, json=body)  # no credentials: the token is the credential

    assert answer.status_code == 202, answer.text
    assert set(answer.json()) == {"run_id", "status"}
    run = await wait_for(alice.browser, answer.json()["run_id"])
    assert answer.json()["status"] == run["status"] == "succeeded"  # waited for the end
    assert run["input"] == {"inputs": body, "trigger": "webhook"}
    assert run["output"] == {"hook": body}  # what the trigger node passed on
    assert run["user_id"] == alice.user["id"] and run["target_id"] == workflow["id"]
    token = hook.rsplit("/", 1)[1]
    assert token not in (await alice.browser.get(f"{API}/workflows/{workflow['id']}")).text


async def answer_of(
    client: AsyncClient, user: SignedIn, inputs: dict[str, Any], **reply: Any
) -> Response:
    """What the hook of a workflow `webhook -> api_response(**reply)` answers to `inputs`."""
    _, hook = await hooked(user.browser, hook_canvas(node("reply", "api_response", **reply)))
    return await client.post(hook, json=inputs)


async def test_an_api_response_reached_is_the_http_answer(
    signed_in: SignedInFactory, client: AsyncClient
) -> None:
    answer = await answer_of(
        client,
        await signed_in(),
        {"name": "Ada", "tags": ["a", "b"]},
        status_code=201,
        body={"hello": "{{ inputs.name }}", "count": "{{ inputs.tags | length }}"},
        headers={"X-Workflow": "greeter"},
    )

    assert answer.status_code == 201, answer.text
    assert answer.json() == {"hello": "Ada", "count": 2}
    assert answer.headers["x-workflow"] == "greeter"
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")


async def test_a_text_body_with_its_content_type_is_sent_as_it_is(
    signed_in: SignedInFactory, client: AsyncClient
) -> None:
    text = "text/plain; charset=utf-8"
    answer = await answer_of(
        client,
        await signed_in(),
        {"name": "Ada"},
        body="Thanks, {{ inputs.name }}",
        headers={"Content-Type": text},
    )

    assert answer.status_code == 200, answer.text
    assert answer.text == "Thanks, Ada"
    assert answer.headers["content-type"] == text


async def test_rotating_the_token_retires_the_old_one(
    signed_in: SignedInFactory, client: AsyncClient
) -> None:
    alice = await signed_in()
    workflow, old = await hooked(alice.browser, hook_canvas())
    rotated = await alice.api.post(f"{API}/workflows/{workflow['id']}/webhook-token")
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["url"].removeprefix("http://testserver")
    assert new != old

    assert_error(await client.post(old, json={}), 404, "RESOURCE_NOT_FOUND")
    assert (await client.post(new, json={})).status_code == 202
    for wrong in (
        f"{new[:-1]}x",
        f"{API}/hooks/workflows/orbw_nothing",
        f"{API}/hooks/workflows/x",
    ):
        assert_error(await client.post(wrong, json={}), 404, "RESOURCE_NOT_FOUND")


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"not json", "not JSON"), (b"[1, 2]", "an array"), (b'"text"', "a str"), (b"\xff", "JSON")],
)
async def test_a_body_that_is_not_a_json_object_is_422(
    signed_in: SignedInFactory, client: AsyncClient, content: bytes, why: str
) -> None:
    alice = await signed_in()
    workflow, hook = await hooked(alice.browser, hook_canvas())

    answer = await client.post(hook, content=content, headers={"Content-Type": "application/json"})

    error = assert_error(answer, 422, "VALIDATION_ERROR")
    assert why in error["message"] and error["details"]["fields"][0]["field"] == "body"
    runs = await alice.browser.get(f"{API}/runs", params={"workflow_id": workflow["id"]})
    assert runs.json()["data"] == []


async def test_an_empty_body_is_empty_inputs_and_a_large_one_413(
    signed_in: SignedInFactory, client: AsyncClient, resources: Resources
) -> None:
    alice = await signed_in()
    _, hook = await hooked(alice.browser, hook_canvas())
    empty = await client.post(hook)
    assert empty.status_code == 202, empty.text
    assert (await get_run(alice.browser, empty.json()["run_id"]))["input"]["inputs"] == {}

    big = {"blob": "x" * resources.settings.webhook_max_bytes}
    assert_error(await client.post(hook, json=big), 413, "PAYLOAD_TOO_LARGE")


async def test_the_hook_answers_only_while_the_trigger_is_a_webhook(
    signed_in: SignedInFactory, client: AsyncClient
) -> None:
    alice = await signed_in()
    workflow, hook = await hooked(alice.browser, hook_canvas())
    manual = canvas(node("start", "manual"))
    saved = await alice.browser.put(f"{API}/workflows/{workflow['id']}", json={"canvas": manual})
    assert saved.status_code == 200, saved.text

    error = assert_error(await client.post(hook, json={}), 409, "CONFLICT")
    assert error["details"] == {"trigger_type": "manual"}

    back = await alice.browser.put(
        f"{API}/workflows/{workflow['id']}", json={"canvas": hook_canvas()}
    )
    assert back.status_code == 200, back.text
    assert (await client.post(hook, json={})).status_code == 202  # the token was kept


async def test_a_creator_who_is_no_longer_an_editor_stops_the_hook(
    signed_in: SignedInFactory, client: AsyncClient
) -> None:
    owner, editor = await signed_in(), await signed_in()
    project = await new_project(owner.browser, "Shared")
    await add_member(owner.browser, project, editor.browser, editor.email, "editor")
    workflow = await make_workflow(editor.browser, project_id=project, canvas=hook_canvas())
    shown = (await owner.browser.post(f"{API}/workflows/{workflow['id']}/webhook-token")).json()
    hook = shown["url"].removeprefix("http://testserver")
    assert (await client.post(hook, json={})).status_code == 202

    demoted = await owner.browser.patch(
        f"{API}/projects/{project}/members/{editor.user['id']}", json={"role": "viewer"}
    )
    assert demoted.status_code == 200, demoted.text

    error = assert_error(await client.post(hook, json={}), 403, "FORBIDDEN")
    assert "creator" in error["message"]


async def test_viewers_cannot_make_a_token(signed_in: SignedInFactory) -> None:
    owner, viewer = await signed_in(), await signed_in()
    project = await new_project(owner.browser, "Shared")
    await add_member(owner.browser, project, viewer.browser, viewer.email, "viewer")
    workflow = await make_workflow(owner.browser, project_id=project, canvas=hook_canvas())
    refused = await viewer.browser.post(f"{API}/workflows/{workflow['id']}/webhook-token")
    assert_error(refused, 403, "FORBIDDEN")


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_a_second_user_cannot_make_or_rotate_a_token(
    signed_in: SignedInFactory, client: AsyncClient, method: str
) -> None:
    alice, bob = await signed_in(), await signed_in()
    workflow, hook = await hooked(alice.browser, hook_canvas())
    intruder: SignedIn = bob
    refused = await intruder.clients()[method].post(
        f"{API}/workflows/{workflow['id']}/webhook-token"
    )
    assert_error(refused, 404, "RESOURCE_NOT_FOUND")
    assert (await client.post(hook, json={})).status_code == 202  # Alice's token still works


async def test_each_workflow_hook_is_rate_limited(
    signed_in: SignedInFactory,
    client: AsyncClient,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "rate_limit_webhook_per_minute", 2)
    monkeypatch.setattr(resources.settings, "webhook_wait_seconds", 0)
    alice = await signed_in()
    _, hook = await hooked(alice.browser, hook_canvas())
    answers = [await client.post(hook, json={}) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [202, 202]
    assert_error(answers[2], 429, "RATE_LIMITED")
    assert int(answers[2].headers["Retry-After"]) >= 1
