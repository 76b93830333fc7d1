"""The triggers that start runs without a person: `webhook` and `schedule`.

Every save of a canvas copies what its trigger asks for into the workflow's own columns
(`trigger_columns`): `trigger_type`, and for a schedule its cron expression, time zone and
next fire time (UTC), so that the webhook route and the scheduler find their workflows with an
index instead of reading canvases.

Webhook: `rotate_webhook_token` makes a secret token (only its SHA-256 is stored); a POST of a
JSON object to the hook URL starts a run with that object as its inputs (`receive_webhook`),
waits up to `ORBITER_WEBHOOK_WAIT_SECONDS` for it to end, and answers with the run's
`api_response` when one was reached.

Schedule: the periodic job `workflows.schedule` (`fire_due_schedules`) takes each workflow
whose next fire time has come, moves that time to the next one after now with a
compare-and-set UPDATE, and starts a run only where its UPDATE won: one run per slot however
many workers tick. Slots missed while nothing ticked are not replayed.

Both kinds of run act as the workflow's creator, who must still be an editor of its project.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import read_only, transaction
from orbiter.core.errors import (
    AppError,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from orbiter.core.ratelimit import per_minute
from orbiter.core.time import utcnow
from orbiter.models import ProjectMember, Role, Run, Workflow
from orbiter.queue import send_pending
from orbiter.runs.waiting import start_committed, wait_for_run
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project_row
from orbiter.tenancy.events import record_event
from orbiter.workflows.canvas import Problem
from orbiter.workflows.nodes import REGISTRY
from orbiter.workflows.nodes.triggers import ScheduleConfig
from orbiter.workflows.running import start_workflow_run, trigger_node

logger = logging.getLogger("orbiter.workflows")

TOKEN_PREFIX = "orbw_"  # noqa: S105 - a public prefix (the log redaction knows it), not a secret
DUE_BATCH = 100  # workflows fired per tick at most; the rest on the next tick
API_RESPONSE_KEYS = frozenset({"status_code", "body", "headers"})


# --- what a save stores -------------------------------------------------------------------


def trigger_columns(canvas: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The workflow's trigger columns for a (validated) canvas; 422 naming the node's field
    when a schedule's cron expression or time zone is not valid."""
    index, node = _trigger_with_index(canvas)
    data = dict(node.get("data") or {})
    kind = str(data.get("nodeType"))
    values: dict[str, Any] = {
        "trigger_type": kind,
        "schedule_cron": None,
        "schedule_timezone": None,
        "schedule_next_at": None,
    }
    if kind == "schedule":
        config = _schedule_config(data, f"canvas.nodes.{index}.data", str(node.get("id")))
        values |= {
            "schedule_cron": config.cron,
            "schedule_timezone": config.timezone,
            "schedule_next_at": next_fire(config.cron, config.timezone, now or utcnow()),
        }
    return values


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    """The first time after `after` that the five-field `cron` names on the clocks of
    `timezone` (daylight saving time handled as Debian's cron does), in UTC."""
    local = after.astimezone(ZoneInfo(timezone))
    return next(CronSim(cron, local)).astimezone(UTC)


def _trigger_with_index(canvas: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    for index, node in enumerate(canvas.get("nodes", [])):
        node_type = REGISTRY.get(str(node.get("data", {}).get("nodeType")))
        if node_type is not None and node_type.is_trigger:
            return index, dict(node)
    raise NotFound("The workflow has no trigger")  # canvas validation makes this unreachable


def _schedule_config(data: dict[str, Any], where: str, node_id: str) -> ScheduleConfig:
    try:
        config = ScheduleConfig.model_validate(data)
    except ValidationError as exc:
        _refuse(
            [
                Problem(
                    ".".join([where, *(str(p) for p in error["loc"])]),
                    f'Node "{node_id}": {error["msg"]}',
                    error["type"],
                )
                for error in exc.errors()
            ]
        )
    problems = []
    if (why := _cron_problem(config.cron)) is not None:
        problems.append(Problem(f"{where}.cron", f'Node "{node_id}": {why}', "cron"))
    if (why := _zone_problem(config.timezone)) is not None:
        problems.append(Problem(f"{where}.timezone", f'Node "{node_id}": {why}', "timezone"))
    _refuse(problems)
    return config


def _cron_problem(cron: str) -> str | None:
    fields = cron.split()
    if len(fields) != 5:
        return (
            f'cron "{cron}" must have five fields (minute hour day-of-month month '
            f"day-of-week); it has {len(fields)}"
        )
    try:
        CronSim(cron, utcnow())
    except CronSimError as exc:
        return f'cron "{cron}" is not valid: {exc}'
    return None


def _zone_problem(timezone: str) -> str | None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f'"{timezone}" is not an IANA time zone (such as "Europe/Paris" or "UTC")'
    return None


def _refuse(problems: list[Problem]) -> None:
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationFailed(
            f"Invalid canvas: {problems[0].message}{more}",
            details={"fields": [p.as_detail() for p in problems]},
        )


# --- who the runs act as ------------------------------------------------------------------


async def acting_user(db: AsyncSession, workflow: Workflow) -> uuid.UUID:
    """The workflow's creator, as long as they are still an editor of its project; 403 else."""
    if workflow.created_by is not None:
        role = await db.scalar(
            select(ProjectMember.role).where(
                ProjectMember.project_id == workflow.project_id,
                ProjectMember.user_id == workflow.created_by,
            )
        )
        if role is not None and Role(role).at_least(Role.EDITOR):
            return workflow.created_by
    raise Forbidden(
        "The workflow's webhook and schedule runs act as its creator, who is no longer an "
        "editor of its project: an editor should save it as a new workflow"
    )


# --- webhook ------------------------------------------------------------------------------


class WebhookTokenRead(BaseModel):
    url: str
    token: str


class WebhookAccepted(BaseModel):
    run_id: uuid.UUID
    status: str


@dataclass(frozen=True)
class WebhookReply:
    """The run's `api_response`: what the hook answers."""

    status_code: int
    body: Any
    headers: dict[str, str]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def rotate_webhook_token(
    db: AsyncSession, *, user_id: uuid.UUID, workflow_id: uuid.UUID
) -> str:
    """A new secret token for the workflow's hook (editors); the previous one stops working.
    Only its hash is stored: the caller shows it once."""
    row = await load_project_row(
        db, Workflow, workflow_id, user_id=user_id, min_role=Role.EDITOR, label="Workflow"
    )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await db.execute(
        update(Workflow)
        .where(Workflow.id == row.id)
        .values(webhook_token_hash=token_hash(token), updated_at=Workflow.updated_at)
        .execution_options(synchronize_session=False)
    )
    await record_event(
        db,
        project_id=row.project_id,
        actor_id=user_id,
        type="workflow.webhook_token_rotated",
        data={"workflow_id": str(row.id), "name": row.name},
    )
    return token


async def receive_webhook(
    resources: Resources, *, token: str, body: bytes, idempotency_key: str | None = None
) -> WebhookReply | WebhookAccepted:
    """Start a run of the workflow the token belongs to with the body (a JSON object) as its
    inputs, as the workflow's creator; then wait a bounded time for its `api_response`."""

    async def start(db: AsyncSession) -> Run:
        workflow = await _hooked_workflow(db, token)
        inputs = parse_hook_body(body, resources.settings.webhook_max_bytes)
        user_id = await acting_user(db, workflow)
        await resources.limiter.enforce(
            per_minute(resources.settings.rate_limit_webhook_per_minute),
            "webhook",
            str(workflow.id),
            message="Too many calls of this workflow's webhook",
        )
        return await start_workflow_run(
            db,
            resources,
            user_id=user_id,
            workflow=workflow,
            inputs=inputs,
            trigger="webhook",
            idempotency_key=idempotency_key,
        )

    run = await start_committed(resources, start)
    ended = await wait_for_run(resources, run.id, resources.settings.webhook_wait_seconds)
    reply = api_response_of(ended)
    return reply or WebhookAccepted(run_id=ended.id, status=ended.status)


async def _hooked_workflow(db: AsyncSession, token: str) -> Workflow:
    """Found by the token's hash (an indexed lookup of a digest, so its timing tells nothing
    about the token); 404 for any token that is not current, 409 when the workflow's trigger
    is no longer a webhook."""
    workflow = None
    if token.startswith(TOKEN_PREFIX) and len(token) <= 100:
        workflow = await db.scalar(
            select(Workflow).where(Workflow.webhook_token_hash == token_hash(token))
        )
    if workflow is None:
        raise NotFound("No workflow has this webhook token")
    if workflow.trigger_type != "webhook":
        raise Conflict(
            f"The workflow's trigger is {workflow.trigger_type}, not webhook",
            details={"trigger_type": workflow.trigger_type},
        )
    return workflow


def parse_hook_body(body: bytes, limit: int) -> dict[str, Any]:
    """The run's inputs: the body's JSON object (`{}` for an empty body); 413 over `limit`
    bytes, 422 for anything that is not a JSON object."""
    if len(body) > limit:
        raise PayloadTooLarge(f"The webhook body is over {limit} bytes")
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _body_refused(f"The body is not JSON: {exc}", "json_invalid") from exc
    if not isinstance(value, dict):
        raise _body_refused(
            f"The body must be a JSON object (it becomes the run's inputs), not {_kind(value)}",
            "object_type",
        )
    return value


def _body_refused(message: str, kind: str) -> ValidationFailed:
    return ValidationFailed(
        message, details={"fields": [Problem("body", message, kind).as_detail()]}
    )


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    return "null" if value is None else f"a {type(value).__name__}"


def api_response_of(run: Run) -> WebhookReply | None:
    """The run's output when it is an `api_response`'s `{status_code, body, headers}`."""
    output = run.output
    if run.status != "succeeded" or not isinstance(output, dict):
        return None
    if set(output) != API_RESPONSE_KEYS or not isinstance(output["status_code"], int):
        return None
    headers = output["headers"] if isinstance(output["headers"], dict) else {}
    return WebhookReply(
        output["status_code"], output["body"], {str(k): str(v) for k, v in headers.items()}
    )


# --- schedule -----------------------------------------------------------------------------


async def fire_due_schedules(resources: Resources) -> int:
    """The periodic job `workflows.schedule`: start a run for every workflow whose next fire
    time has come (at most `DUE_BATCH` a tick); how many it started. One workflow's failure is
    logged and does not stop the others."""
    now = utcnow()
    async with read_only(resources.engine) as connection:
        due = (
            await connection.execute(
                select(
                    Workflow.id,
                    Workflow.schedule_next_at,
                    Workflow.schedule_cron,
                    Workflow.schedule_timezone,
                )
                .where(Workflow.trigger_type == "schedule", Workflow.schedule_next_at <= now)
                .order_by(Workflow.schedule_next_at)
                .limit(DUE_BATCH)
            )
        ).all()
    started = 0
    for workflow_id, slot, cron, timezone in due:
        try:
            next_at = next_fire(str(cron), str(timezone or "UTC"), now)
            started += await _fire(resources, workflow_id, slot, next_at)
        except Exception:
            logger.exception("the schedule of workflow %s failed", workflow_id)
    return started


async def _fire(
    resources: Resources, workflow_id: uuid.UUID, slot: datetime | None, next_at: datetime
) -> bool:
    """Claim the slot (move the workflow's next fire time from `slot` to `next_at`, only if
    no one else did), then start the run in the same transaction; False when another worker
    had it."""
    async with transaction(resources.sessionmaker) as db:
        claimed = await db.execute(
            update(Workflow)
            .where(Workflow.id == workflow_id, Workflow.schedule_next_at == slot)
            .values(schedule_next_at=next_at, updated_at=Workflow.updated_at)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        workflow = await db.get(Workflow, workflow_id)
        started = workflow is not None and await _start_scheduled(db, resources, workflow)
    await send_pending(resources.queue, db)
    return started


async def _start_scheduled(db: AsyncSession, resources: Resources, workflow: Workflow) -> bool:
    """The slot's run, with the schedule node's `inputs`; a refusal (the creator is no longer
    an editor...) is logged and the slot counts as taken."""
    inputs = trigger_node(workflow.canvas).get("data", {}).get("inputs") or {}
    try:
        async with db.begin_nested():
            await start_workflow_run(
                db,
                resources,
                user_id=await acting_user(db, workflow),
                workflow=workflow,
                inputs=dict(inputs),
                trigger="schedule",
            )
    except AppError as exc:
        logger.warning("scheduled run of workflow %s not started: %s", workflow.id, exc.message)
        return False
    return True
