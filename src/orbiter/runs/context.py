"""What an executor gets: `RunContext` (the run, its state, spans, events, caps, cancel).

Spans nest by themselves: a span opened inside another's block is its child unless `parent`
says otherwise. Each span is written when it opens (status `open`) and when it closes (`ok`,
or `error` with the exception's message when its block raises, which then propagates).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from orbiter.core.errors import AppError
from orbiter.core.time import utcnow
from orbiter.models import SPAN_TYPES, User
from orbiter.models.runs import NO_TARGET
from orbiter.providers.rate_limit import count_llm_call
from orbiter.runs import events, prices, store
from orbiter.runs.fields import bounded
from orbiter.runtime.resources import Resources

logger = logging.getLogger("orbiter.runs")
_current_span: contextvars.ContextVar[SpanHandle | None] = contextvars.ContextVar(
    "orbiter_run_span", default=None
)
MAX_RATE_WAIT_SECONDS = 60.0


def current_span() -> SpanHandle | None:
    """The span whose block the caller runs in (its `context` is the run), if any: a tool
    that records spans of its own (knowledge_search) finds its run through it."""
    return _current_span.get()


class RunCancelled(Exception):
    """A cancel was requested (`ctx.check_cancelled()`); the run ends `cancelled`."""


class RunFailure(Exception):
    """The run fails with this `code` and the message: a run's error, never an HTTP answer."""

    code = "RUN_FAILED"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RunLimitExceeded(RunFailure):
    """A cap of ORBITER_RUN_MAX_STEPS / _TOKENS / _SECONDS was reached."""

    code = "RUN_LIMIT_EXCEEDED"


class _Pause(Exception):
    status = ""
    event = ""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        super().__init__(self.event)
        self.data = dict(data or {})


class AwaitInput(_Pause):
    """Stop here and ask the user (`question` event); `resume_run` brings the answer."""

    status = "awaiting_input"
    event = "question"


class AwaitApproval(_Pause):
    """Stop here until approved (`approval` event); `resume_run` brings the decision."""

    status = "awaiting_approval"
    event = "approval"


@dataclass
class SpanHandle:
    id: uuid.UUID
    type: str
    name: str
    context: RunContext
    model: str | None = None
    provider: str | None = None
    output: Any = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None
    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=utcnow)

    def usage(
        self,
        tokens_in: int,
        tokens_out: int,
        *,
        model: str | None = None,
        provider: str | None = None,
        prices: Mapping[str, Any] | None = None,
    ) -> None:
        """Count an LLM call's tokens: the span's cost from the price table (`provider` is the
        provider type, e.g. "openai"; `prices` the provider row's overrides), and the run's
        totals. An unpriced model leaves the span's cost null, and so the run's."""
        self.model = model or self.model
        self.provider = provider or self.provider
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        spent = _price(self.provider, self.model, tokens_in, tokens_out, prices)
        self.cost = None if spent is None else (self.cost or 0.0) + spent
        self.context.add_usage(tokens_in, tokens_out, spent)


def _price(
    provider: str | None,
    model: str | None,
    tokens_in: int,
    tokens_out: int,
    overrides: Mapping[str, Any] | None,
) -> float | None:
    return prices.cost(provider, model, tokens_in, tokens_out, overrides)


@dataclass
class RunContext:
    resources: Resources
    run_id: uuid.UUID
    user_id: uuid.UUID | None
    project_id: uuid.UUID
    kind: str
    target_id: uuid.UUID | None
    target_version: str | None
    conversation_id: uuid.UUID | None
    input: dict[str, Any]
    state: dict[str, Any]
    resume: Any
    attempts: int
    max_steps: int  # from ORBITER_RUN_MAX_STEPS; an executor may lower it
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = 0.0
    steps: int = 0
    cancel_requested: bool = False
    deadline: float = 0.0  # monotonic
    _seq: int = 0
    _open: set[uuid.UUID] = field(default_factory=set)
    _plan: str | None = None

    @property
    def settings(self) -> Any:
        return self.resources.settings

    # ------------------------------------------------------------ spans

    @asynccontextmanager
    async def span(
        self,
        type: str,
        name: str,
        *,
        input: Any = None,
        model: str | None = None,
        provider: str | None = None,
        parent: SpanHandle | uuid.UUID | None = None,
    ) -> AsyncIterator[SpanHandle]:
        if type not in SPAN_TYPES:
            raise ValueError(f"unknown span type {type!r}; one of {', '.join(SPAN_TYPES)}")
        self.check_cancelled()
        self._check_caps(step=type == "step")
        handle = SpanHandle(uuid.uuid4(), type, name[:200], self, model, provider)
        parent_id = _parent_id(parent if parent is not None else _current_span.get())
        limit = self.settings.run_max_field_bytes
        async with store.single_statements(self.resources.engine) as conn:
            await store.insert_span(
                conn,
                id=handle.id,
                run_id=self.run_id,
                project_id=self.project_id,
                parent_id=parent_id,
                type=type,
                name=handle.name,
                model=model,
                provider=provider,
                input=bounded(input, limit),
                status="open",
                started_at=handle.started_at,
            )
        self._open.add(handle.id)
        token = _current_span.set(handle)
        try:
            yield handle
        except _Pause:
            await self._close(handle, "ok", None)  # asking is this span's result
            raise
        except BaseException as exc:
            await self._close(handle, "error", _describe(exc))
            raise
        else:
            await self._close(handle, "ok", None)
        finally:
            _current_span.reset(token)

    async def _close(self, handle: SpanHandle, status: str, error: str | None) -> None:
        duration = int((time.monotonic() - handle.started) * 1000)
        values = {
            "status": status,
            "error": error,
            "output": bounded(handle.output, self.settings.run_max_field_bytes),
            "model": handle.model,
            "provider": handle.provider,
            "tokens_in": handle.tokens_in,
            "tokens_out": handle.tokens_out,
            "cost": handle.cost,
            "duration_ms": duration,
        }
        used = bool(handle.tokens_in or handle.tokens_out)
        engine = self.resources.engine
        try:
            # With usage: one transaction, so the span, the rollup and the run's totals agree.
            async with engine.begin() if used else store.single_statements(engine) as conn:
                await store.close_span(conn, handle.id, **values)
                if used:
                    await store.add_usage(conn, **self._rollup_key(handle))
                    await self.save_totals(conn)
            self._open.discard(handle.id)
        except Exception:  # the engine closes what is left open when the run ends
            logger.warning("could not close span %s of run %s", handle.id, self.run_id)

    def _rollup_key(self, handle: SpanHandle) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "hour": handle.started_at.replace(minute=0, second=0, microsecond=0),
            "kind": self.kind,
            "target_id": self.target_id or NO_TARGET,
            "provider": handle.provider or "",
            "model": handle.model or "",
            "priced": handle.cost is not None,
            "tokens_in": handle.tokens_in,
            "tokens_out": handle.tokens_out,
            "cost": handle.cost or 0.0,
        }

    def add_usage(self, tokens_in: int, tokens_out: int, cost: float | None) -> None:
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        self.cost = None if cost is None or self.cost is None else self.cost + cost

    async def save_totals(self, conn: Any) -> None:
        await store.update_owned(
            conn,
            self.run_id,
            self.attempts,
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            cost=self.cost,
        )

    # ------------------------------------------------------------ events, state, caps

    async def emit(self, type: str, data: Mapping[str, Any] | None = None) -> None:
        """Publish a run event (see events.EVENT_TYPES) to the run's followers, on any replica."""
        if type not in events.EVENT_TYPES:
            raise ValueError(f"unknown run event {type!r}")
        await events.publish(
            self.resources.pubsub, self.next_event(type, data), conversation_id=self.conversation_id
        )

    def next_event(self, type: str, data: Mapping[str, Any] | None) -> events.RunEvent:
        self._seq += 1
        seq = self.attempts * events.EPOCH + self._seq
        return events.RunEvent(type, self.run_id, seq, dict(data or {}))

    async def save_state(self) -> None:
        """Persist `ctx.state` (JSON); a later execution of the run starts from it."""
        async with store.single_statements(self.resources.engine) as conn:
            await store.update_owned(conn, self.run_id, self.attempts, state=self.state)

    def check_cancelled(self) -> None:
        if self.cancel_requested:
            raise RunCancelled("The run was cancelled")

    def _check_caps(self, *, step: bool) -> None:
        if step:
            self.steps += 1
            limit = min(self.max_steps, self.settings.run_max_steps)
            if self.steps > limit:
                raise RunLimitExceeded(f"The run reached its limit of {limit} steps")
        if self.tokens_in + self.tokens_out > self.settings.run_max_tokens:
            raise RunLimitExceeded(
                f"The run reached its limit of {self.settings.run_max_tokens} tokens"
            )

    async def count_llm_call(self) -> None:
        """The LLM rate-limit group of the run's user (API.md §1.4), as for their requests:
        when over the limit, wait for the window to pass (a cancel still stops the run)."""
        if self.user_id is None:
            return
        if self._plan is None:
            async with store.single_statements(self.resources.engine) as conn:
                plan = await conn.scalar(select(User.plan).where(User.id == self.user_id))
            self._plan = str(plan or "free")
        while (
            wait := await count_llm_call(self.resources, user_id=self.user_id, plan=self._plan)
        ) > 0:
            self.check_cancelled()
            await asyncio.sleep(min(wait, MAX_RATE_WAIT_SECONDS))
            self.check_cancelled()


def _parent_id(parent: SpanHandle | uuid.UUID | None) -> uuid.UUID | None:
    return parent.id if isinstance(parent, SpanHandle) else parent


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.CancelledError | RunCancelled):
        return "cancelled"
    if isinstance(exc, AppError):
        return exc.message
    return str(exc) or type(exc).__name__
