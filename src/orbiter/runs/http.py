"""HTTP pieces other domains' routers share for runs: the `Idempotency-Key` header, an SSE
response of a run's events (`runs.events.follow`), and `?wait=true` on run-starting routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Header, Query, Response
from fastapi.responses import StreamingResponse

from orbiter.core.sse import SSE_HEADERS, SSE_MEDIA_TYPE
from orbiter.models import Run
from orbiter.models.runs import FINISHED_STATUSES
from orbiter.runs import events
from orbiter.runs.schemas import RunRead
from orbiter.runs.waiting import wait_for_run
from orbiter.runtime.resources import Resources

RUN_EVENTS_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Server-Sent Events: `step_started`, `step_finished`, `delta`, "
        "`tool_call`, `tool_result`, then `question` / `approval` (the run waits) or "
        "`done` / `error` / `cancelled`; each with an `id` (`<run id>:<seq>`)",
        "content": {SSE_MEDIA_TYPE: {}},
    }
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="The same key from the same user within 24 hours returns the run the "
        "first request started instead of starting another",
    ),
]
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="Resume after this event (`<run id>:<seq>`, an `id` of the stream)",
    ),
]


def run_events_response(
    resources: Resources,
    run_id: uuid.UUID,
    last_event_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> StreamingResponse:
    """The run's events after `last_event_id` as SSE, until it ends or waits for an answer.
    The caller checked that the user may see the run (and `events.after_seq` the header)."""
    events.after_seq(run_id, last_event_id)  # a bad Last-Event-ID is a 400 before streaming
    stream = events.sse_frames(events.follow(resources, run_id, last_event_id))
    return StreamingResponse(
        stream, media_type=SSE_MEDIA_TYPE, headers={**SSE_HEADERS, **(headers or {})}
    )


Wait = Annotated[
    bool, Query(description="Wait for the run to end, at most ORBITER_RUN_WAIT_SECONDS")
]
WAITED_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"model": RunRead, "description": "`wait=true` and the run ended"}
}


async def waited(resources: Resources, run: Run, wait: bool, response: Response) -> Run:
    """With `wait`, the run once it ended (answered 200) or as it is after
    ORBITER_RUN_WAIT_SECONDS (still 202); without, the run as started. The run must be
    committed (`runs.waiting.start_committed`)."""
    if not wait:
        return run
    run = await wait_for_run(resources, run.id, resources.settings.run_wait_seconds)
    if run.status in FINISHED_STATUSES:
        response.status_code = 200
    return run
