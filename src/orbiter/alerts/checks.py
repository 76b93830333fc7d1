"""A rule is checked as a whole at create and at update: the window its measure can be taken
over, the threshold's range, and the action's config (a webhook URL the outbound guard
accepts; email only with SMTP configured)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from orbiter.alerts.schemas import ACTION_CONFIGS
from orbiter.core.errors import ValidationFailed
from orbiter.core.outbound import check_url
from orbiter.core.settings import Settings

REQUEST_WINDOW_MINUTES = 15  # what core/request_stats.py keeps (KEEP_MINUTES - 1)
REQUEST_MEASURES = frozenset({"error_rate", "latency"})


def check_condition(condition_type: str, threshold: float, window_minutes: int) -> None:
    if condition_type in REQUEST_MEASURES and window_minutes > REQUEST_WINDOW_MINUTES:
        raise ValidationFailed.for_field(
            "window_minutes",
            f"At most {REQUEST_WINDOW_MINUTES} for {condition_type}: the request counters "
            f"keep the last {REQUEST_WINDOW_MINUTES} minutes",
        )
    if condition_type == "error_rate" and threshold > 100:
        raise ValidationFailed.for_field(
            "condition_threshold", "error_rate is a percentage: at most 100"
        )


async def check_action(
    action_type: str, config: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    """The config as stored (normalised by its schema); 422 on the first problem."""
    try:
        parsed = ACTION_CONFIGS[action_type].model_validate(config)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in ("action_config", *error["loc"]))
        raise ValidationFailed.for_field(where, error["msg"], error["type"]) from exc
    if action_type == "email" and not settings.smtp_host:
        raise ValidationFailed.for_field(
            "action_type", "Email alerts need SMTP: the server has no ORBITER_SMTP_HOST"
        )
    stored = parsed.model_dump(mode="json")
    if action_type == "webhook":
        await check_url(stored["url"], settings, field="action_config.url")
    return stored
