"""The engine runs a run to its end and records what happened: output, trace, tokens, cost,
events; failures carry the envelope's codes; open spans never stay open."""

from __future__ import annotations

from typing import Any

import pytest

from orbiter.runtime.resources import Resources
from tests.helpers import SignedIn
from tests.runs.util import API, get_run, spans_by_name, start_run, wait_for
from tests.sse import parse_sse

pytestmark = pytest.mark.usefixtures("worker")


async def test_a_run_succeeds_with_its_output_and_a_trace_tree(
    resources: Resources, owner: SignedIn
) -> None:
    run_id = await start_run(
        resources,
        owner,
        {
            "do": "step",
            "name": "plan",
            "input": {"goal": "count"},
            "output": {"plan": "call the model, then grep"},
            "then": [
                {
                    "do": "llm",
                    "name": "ask",
                    "model": "gpt-4o",
                    "provider": "openai",
                    "tokens": [1000, 500],
                    "input": [{"role": "user", "content": "hi"}],
                },
                {"do": "tool", "name": "grep", "input": {"pattern": "x"}, "output": ["a.py"]},
            ],
        },
        input={"output": {"answer": 42}},
    )
    run = await wait_for(owner.api, run_id)
    assert run["status"] == "succeeded", run
    assert run["output"] == {"answer": 42}
    assert run["error"] is None and run["attempts"] == 1 and run["cancel_requested"] is False
    assert run["kind"] == "task" and run["user_id"] == owner.user["id"]
    assert run["started_at"] and run["finished_at"] >= run["started_at"]
    assert (run["tokens_in"], run["tokens_out"]) == (1000, 500)
    assert run["cost"] == pytest.approx((1000 * 2.5 + 500 * 10.0) / 1_000_000)

    [plan] = run["trace"]
    assert plan["type"] == "step" and plan["status"] == "ok"
    assert plan["input"] == {"goal": "count"} and plan["output"] == {
        "plan": "call the model, then grep"
    }
    assert [child["name"] for child in plan["children"]] == ["ask", "grep"]
    ask, grep = plan["children"]
    assert ask["type"] == "llm" and ask["model"] == "gpt-4o" and ask["provider"] == "openai"
    assert (ask["tokens_in"], ask["tokens_out"]) == (1000, 500)
    assert ask["cost"] == pytest.approx(0.0075)
    assert ask["parent_id"] == plan["id"] and ask["input"] == [{"role": "user", "content": "hi"}]
    assert grep["type"] == "tool" and grep["output"] == ["a.py"] and grep["cost"] is None
    for span in (plan, ask, grep):
        assert span["duration_ms"] is not None and span["duration_ms"] >= 0
        assert span["error"] is None and span["started_at"]


async def test_the_events_of_a_run_replay_in_order_and_resume_after_last_event_id(
    resources: Resources, owner: SignedIn
) -> None:
    run_id = await start_run(
        resources,
        owner,
        {
            "do": "step",
            "name": "one",
            "then": [{"do": "emit", "type": "delta", "data": {"text": "Hel"}}],
        },
        {"do": "tool", "name": "grep", "input": {"q": 1}, "output": "found"},
    )
    await wait_for(owner.api, run_id)
    response = await owner.cli.get(f"{API}/runs/{run_id}/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert [e.event for e in events] == [
        "step_started",
        "delta",
        "step_finished",
        "tool_call",
        "tool_result",
        "done",
    ]
    assert events[1].data == {"text": "Hel"}
    assert events[-1].data == {"status": "succeeded", "output": {"ok": True}}
    ids = [e.id for e in events]
    assert all(i and i.startswith(f"{run_id}:") for i in ids)
    assert [int(i.split(":")[1]) for i in ids if i] == sorted(
        int(i.split(":")[1]) for i in ids if i
    )

    later = await owner.cli.get(
        f"{API}/runs/{run_id}/events", headers={"Last-Event-ID": str(events[2].id)}
    )
    assert [e.event for e in parse_sse(later.text)] == ["tool_call", "tool_result", "done"]
    # After the last event there is nothing more to say.
    done = await owner.cli.get(
        f"{API}/runs/{run_id}/events", headers={"Last-Event-ID": str(events[-1].id)}
    )
    assert done.status_code == 200 and parse_sse(done.text) == []


async def test_a_bad_last_event_id_is_a_400(resources: Resources, owner: SignedIn) -> None:
    run_id = await start_run(resources, owner)
    other = await start_run(resources, owner)
    for value in ("nonsense", f"{other}:3", f"{run_id}:-1"):
        response = await owner.api.get(
            f"{API}/runs/{run_id}/events", headers={"Last-Event-ID": value}
        )
        assert response.status_code == 400, (value, response.text)
        assert response.json()["error"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (
            {"do": "fail", "code": "UPSTREAM_ERROR", "message": "The model said no"},
            {"code": "UPSTREAM_ERROR", "message": "The model said no"},
        ),
        (
            {"do": "fail", "message": "secret internals"},
            {"code": "INTERNAL_ERROR", "message": "The run failed unexpectedly"},
        ),
    ],
)
async def test_a_failing_executor_fails_the_run_with_an_envelope_code(
    resources: Resources, owner: SignedIn, action: dict[str, Any], error: dict[str, str]
) -> None:
    run_id = await start_run(resources, owner, {"do": "step", "name": "work", "then": [action]})
    run = await wait_for(owner.api, run_id)
    assert run["status"] == "failed" and run["error"] == error and run["output"] is None
    [work] = run["trace"]
    assert work["status"] == "error" and work["error"] == action["message"]
    assert work["duration_ms"] is not None
    events = parse_sse((await owner.api.get(f"{API}/runs/{run_id}/events")).text)
    assert events[-1].event == "error"
    assert events[-1].data == {"status": "failed", "error": error}


async def test_unknown_models_cost_null_never_zero_and_make_the_run_unpriced(
    resources: Resources, owner: SignedIn
) -> None:
    run_id = await start_run(
        resources,
        owner,
        {
            "do": "llm",
            "name": "priced",
            "model": "claude-sonnet-4-20250514",
            "provider": "anthropic",
            "tokens": [2000, 1000],
        },
        {"do": "llm", "name": "local", "model": "llama3", "provider": "ollama", "tokens": [7, 3]},
        {
            "do": "llm",
            "name": "overridden",
            "model": "llama3",
            "provider": "ollama",
            "tokens": [1_000_000, 0],
            "prices": {"llama3": {"input": 0.5, "output": 1}},
        },
    )
    run = await wait_for(owner.api, run_id)
    spans = spans_by_name(run["trace"])
    assert spans["priced"]["cost"] == pytest.approx((2000 * 3 + 1000 * 15) / 1_000_000)
    assert spans["local"]["cost"] is None
    assert spans["overridden"]["cost"] == pytest.approx(0.5)
    assert run["cost"] is None
    assert (run["tokens_in"], run["tokens_out"]) == (1_002_007, 1003)


async def test_large_inputs_and_outputs_are_truncated_with_a_marker(
    resources: Resources, owner: SignedIn
) -> None:
    big = "x" * 200_000
    run_id = await start_run(
        resources,
        owner,
        {"do": "step", "name": "big", "input": {"text": big}, "output": big},
        input={"output": {"text": big}},
    )
    run = await wait_for(owner.api, run_id)
    limit = resources.settings.run_max_field_bytes
    for stored in (run["output"], run["trace"][0]["input"], run["trace"][0]["output"]):
        assert stored["truncated"] is True, stored
        assert stored["size"] > 200_000
        assert 0 < len(stored["preview"]) <= limit
        assert "x" * 1000 in stored["preview"]


async def test_a_run_asks_waits_and_resumes_with_the_answer(
    resources: Resources, owner: SignedIn
) -> None:
    from orbiter.core.db import transaction
    from orbiter.queue import send_pending
    from orbiter.runs import service

    run_id = await start_run(
        resources,
        owner,
        {"do": "state", "key": "seen", "value": "before the question"},
        {"do": "ask", "question": "Which branch?"},
    )
    run = await wait_for(owner.api, run_id, "awaiting_input")
    assert run["finished_at"] is None
    events = parse_sse((await owner.api.get(f"{API}/runs/{run_id}/events")).text)
    assert events[-1].event == "question" and events[-1].data == {"question": "Which branch?"}

    import uuid

    async with transaction(resources.sessionmaker) as db:
        resumed = await service.resume_run(
            db, resources, run_id=uuid.UUID(run_id), payload={"answers": [["main"]]}
        )
        assert resumed.status == "queued"
    await send_pending(resources.queue, db)
    run = await wait_for(owner.api, run_id)
    assert run["status"] == "succeeded", run
    assert run["output"] == {
        "resumed_with": {"answers": [["main"]]},
        "state": {"seen": "before the question"},
    }
    assert run["attempts"] == 2
    after = parse_sse(
        (
            await owner.api.get(
                f"{API}/runs/{run_id}/events", headers={"Last-Event-ID": str(events[-1].id)}
            )
        ).text
    )
    assert [e.event for e in after] == ["done"]
    assert int(str(after[0].id).split(":")[1]) > int(str(events[-1].id).split(":")[1])

    from orbiter.core.errors import Conflict

    with pytest.raises(Conflict):
        async with transaction(resources.sessionmaker) as db:
            await service.resume_run(db, resources, run_id=uuid.UUID(run_id), payload={})


async def test_an_approval_gate_waits_as_awaiting_approval(
    resources: Resources, owner: SignedIn
) -> None:
    run_id = await start_run(resources, owner, {"do": "approve", "action": "deploy"})
    run = await wait_for(owner.api, run_id, "awaiting_approval")
    assert run["status"] == "awaiting_approval"
    events = parse_sse((await owner.api.get(f"{API}/runs/{run_id}/events")).text)
    assert [(e.event, e.data) for e in events] == [("approval", {"action": "deploy"})]
    assert (await get_run(owner.api, run_id))["status"] == "awaiting_approval"
