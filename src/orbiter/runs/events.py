"""A run's events: published on its channel and kept in its replayable log, on any replica.

Wire form (the pub/sub payload): `{"event", "id", "run_id", "data"}`. Ids are
`<run id>:<seq>`; seq grows through the whole run: each execution (a claim by a worker,
counted by `runs.attempts`) numbers its events from `attempts * EPOCH + 1`, and an ending
written by someone else (a cancel before any worker had it, the reaper, or a follower that
found the log expired) gets `(attempts + 1) * EPOCH`, after anything the run published.

| event | data |
|---|---|
| `step_started`, `step_finished`, `delta`, `tool_call`, `tool_result` | what the executor sends |
| `question` / `approval` | what the executor asked (`AwaitInput` / `AwaitApproval`); the run waits |
| `done` | `{status: "succeeded", output}` |
| `error` | `{status: "failed", error: {code, message}}` |
| `cancelled` | `{status: "cancelled"}` |

Events are also published on the run's conversation channel when it has one (the conversation
WebSocket shows them). The log lives `LOG_TTL_SECONDS` after its last event; `follow` builds the
ending from the database when the log is gone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from orbiter.core import sse
from orbiter.core.db import read_only
from orbiter.core.errors import BadRequest, ServiceUnavailable
from orbiter.core.pubsub import PubSub, SubscriptionLost
from orbiter.core.sse import format_comment, format_sse
from orbiter.models.runs import FINISHED_STATUSES, WAITING_STATUSES
from orbiter.runs import store
from orbiter.runtime.resources import Resources

logger = logging.getLogger("orbiter.runs")

EPOCH = 1_000_000
EVENT_TYPES = frozenset(
    {
        "step_started",
        "step_finished",
        "delta",
        "tool_call",
        "tool_result",
        "question",
        "approval",
        "done",
        "error",
        "cancelled",
    }
)
TERMINAL = frozenset({"done", "error", "cancelled"})
PAUSING = frozenset({"question", "approval"})
LOG_TTL_SECONDS = 3600
CANCEL_CHANNEL = "runs:cancel"
TICK_SECONDS = 1.0  # followers yield None this often while nothing happens
KEEPALIVE_TICKS = 15


def channel(run_id: uuid.UUID) -> str:
    return f"run:{run_id}"


def log_key(run_id: uuid.UUID) -> str:
    return f"run-log:{run_id}"


def conversation_channel(conversation_id: uuid.UUID) -> str:
    """The conversation's live channel (named as conversations/events.py names it)."""
    return f"conversation:{conversation_id}"


@dataclass(frozen=True)
class RunEvent:
    type: str
    run_id: uuid.UUID
    seq: int
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.run_id}:{self.seq}"

    def encode(self) -> str:
        body = {"event": self.type, "id": self.id, "run_id": str(self.run_id), "data": self.data}
        return json.dumps(body, separators=(",", ":"), default=str)

    @classmethod
    def decode(cls, text: str) -> RunEvent:
        raw = json.loads(text)
        run_id, seq = parse_event_id(raw["id"])
        return cls(type=raw["event"], run_id=run_id, seq=seq, data=raw.get("data") or {})

    @property
    def stopping(self) -> bool:
        """A follower stops after it: the run ended, or waits for an answer."""
        return self.type in TERMINAL or self.type in PAUSING


def parse_event_id(value: str) -> tuple[uuid.UUID, int]:
    """`<run id>:<seq>` as sent in `id:` fields; anything else is a 400."""
    return sse.parse_event_id(value, "run id")


def after_seq(run_id: uuid.UUID, last_event_id: str | None) -> int:
    """The seq a `Last-Event-ID` names (0 without one); 400 when it names another run."""
    if not last_event_id:
        return 0
    named, seq = parse_event_id(last_event_id)
    if named != run_id:
        raise BadRequest("Last-Event-ID names another run", details={"field": "Last-Event-ID"})
    return seq


async def publish(
    pubsub: PubSub, event: RunEvent, *, conversation_id: uuid.UUID | None = None
) -> None:
    """On the run's channel and log, and its conversation's channel; an outage is logged."""
    text = event.encode()
    try:
        await pubsub.publish(
            channel(event.run_id), text, log=log_key(event.run_id), log_ttl=LOG_TTL_SECONDS
        )
        if conversation_id is not None:
            await pubsub.publish(conversation_channel(conversation_id), text)
    except ServiceUnavailable:
        logger.warning("could not publish %s of run %s", event.type, event.run_id)


def is_next(last: int, seq: int) -> bool:
    """Whether `seq` follows `last` with nothing missed in between."""
    if seq == last + 1:
        return True
    return seq // EPOCH > last // EPOCH and seq % EPOCH in (0, 1)


async def sse_frames(events: AsyncIterator[RunEvent | None]) -> AsyncIterator[bytes]:
    """The events as Server-Sent Events, with a keep-alive comment when nothing happens."""
    quiet = 0
    async for item in events:
        if item is None:
            quiet += 1
            if quiet >= KEEPALIVE_TICKS:
                quiet = 0
                yield format_comment("keep-alive")
            continue
        quiet = 0
        yield format_sse(item.type, item.data, item.id)


async def pump(live: AsyncIterator[str], queue: asyncio.Queue[str | BaseException]) -> None:
    try:
        async for raw in live:
            queue.put_nowait(raw)
    except SubscriptionLost as exc:
        queue.put_nowait(exc)


async def logged(pubsub: PubSub, run_id: uuid.UUID) -> list[RunEvent]:
    return [RunEvent.decode(raw) for raw in await pubsub.read_log(log_key(run_id))]


STALL_CHECK_TICKS = 5  # a follower that heard nothing this many ticks asks the database


async def follow(
    resources: Resources, run_id: uuid.UUID, last_event_id: str | None = None
) -> AsyncGenerator[RunEvent | None]:
    """The run's events after `last_event_id` (a `<run id>:<seq>`; 400 for another run), in
    order and without duplicates, until one that ends the run or makes it wait (`done`,
    `error`, `cancelled`, `question`, `approval`). Yields None about once a second while
    nothing happens (a tick for keep-alives). Works on any replica: it subscribes to the run's
    channel first, then reads its log; when the log is gone, the ending comes from the row.
    The caller checks that the user may see the run.
    """
    last = after_seq(run_id, last_event_id)
    pubsub = resources.pubsub
    async with pubsub.subscribe(channel(run_id)) as live:
        queue: asyncio.Queue[str | BaseException] = asyncio.Queue()
        pumping = asyncio.create_task(pump(live, queue))
        try:
            history = await logged(pubsub, run_id)
            if any(e.type in TERMINAL and e.seq <= last for e in history):
                return  # the caller saw the end already
            for index, item in enumerate(history):
                if item.seq > last:
                    last = item.seq
                    yield item
                    # A question stops the replay only when nothing came after it (no answer yet).
                    if item.type in TERMINAL or (item.stopping and index == len(history) - 1):
                        return
            if (ending := await _ending(resources, run_id, last, history)) is not None:
                if ending.seq > last:
                    yield ending
                return
            async for live_item in _live(resources, run_id, queue, last):
                yield live_item
        finally:
            pumping.cancel()


async def _live(
    resources: Resources, run_id: uuid.UUID, queue: asyncio.Queue[str | BaseException], last: int
) -> AsyncGenerator[RunEvent | None]:
    quiet = 0
    while True:
        try:
            raw = await asyncio.wait_for(queue.get(), TICK_SECONDS)
        except TimeoutError:
            yield None
            quiet += 1
            if quiet >= STALL_CHECK_TICKS:
                quiet = 0
                ending = await _ending(resources, run_id, last, [])
                if ending is not None:
                    if ending.seq > last:
                        yield ending
                    return
            continue
        if isinstance(raw, BaseException):
            raise raw
        item = RunEvent.decode(raw)
        if item.seq <= last:
            continue
        quiet = 0
        if not is_next(last, item.seq):  # missed some (the subscription hiccuped): the log has them
            for missed in await logged(resources.pubsub, run_id):
                if last < missed.seq < item.seq:
                    yield missed
        last = item.seq
        yield item
        if item.stopping:
            return


async def _ending(
    resources: Resources, run_id: uuid.UUID, last: int, history: list[RunEvent]
) -> RunEvent | None:
    """The event that ends a run that ended (or waits) without one in its log, else None."""
    async with read_only(resources.engine) as connection:
        row = await store.ending_row(connection, run_id)
    if row is None:
        return RunEvent("error", run_id, last + 1, {"status": "failed", "error": GONE})
    if row.status in FINISHED_STATUSES:
        return ending_event(run_id, row.status, row.attempts, row.output, row.error)
    waiting = (row.state or {}).get(AWAITING_KEY)
    if row.status in WAITING_STATUSES and isinstance(waiting, dict):
        seq = int(waiting.get("seq") or (row.attempts + 1) * EPOCH - 1)
        if not any(e.seq == seq for e in history) and seq > last:
            return RunEvent(str(waiting.get("event")), run_id, seq, waiting.get("data") or {})
    return None


GONE = {"code": "RESOURCE_NOT_FOUND", "message": "The run was deleted"}
AWAITING_KEY = "awaiting"  # run.state key the engine keeps a waiting run's question in
RESUME_KEY = "resume"  # run.state key resume_run stores the answer in


def ending_event(
    run_id: uuid.UUID, status: str, attempts: int, output: Any, error: dict[str, Any] | None
) -> RunEvent:
    """The terminal event of a finished run, numbered after anything it published."""
    seq = (attempts + 1) * EPOCH
    if status == "succeeded":
        return RunEvent("done", run_id, seq, {"status": status, "output": output})
    if status == "cancelled":
        reason = {} if error is None else {"error": error}  # rejected at an approval gate
        return RunEvent("cancelled", run_id, seq, {"status": status, **reason})
    return RunEvent("error", run_id, seq, {"status": status, "error": error})
